"""``attrbench compare``: the paired difference of two methods on every metric."""

from __future__ import annotations

import argparse
from pathlib import Path

from attrbench.cli import common

HELP = "paired difference of two methods on every metric, with its interval"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``compare`` and its arguments."""
    p = sub.add_parser(
        "compare",
        help=HELP,
        description="For each metric column both methods scored on one task and model: the mean "
        "difference A - B on the sequences both scored (paired by sequence id) with a 95% "
        "percentile-bootstrap interval, n, and which method the metric's direction favours.",
    )
    p.add_argument("--task", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("a", metavar="A", help="first method")
    p.add_argument("b", metavar="B", help="second method")
    p.add_argument(
        "--results", type=Path, default=None, help="records directory (default: ./results)"
    )
    p.add_argument("--detail", action="store_true", help="every column of multi-column metrics")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    common.plugin_arg(p)


def run(args: argparse.Namespace) -> int:
    """Print the comparison table of ``A`` and ``B``."""
    from attrbench.reporting.compare import compare, render_comparison
    from attrbench.running.results import ResultStore, default_results_dir

    store = ResultStore(args.results or default_results_dir())
    records = store.records(args.task)
    if not records:
        raise FileNotFoundError(f"no records of task {args.task!r} in {store.root}")
    rows = compare(records, args.model, args.a, args.b, detail=args.detail, seed=args.seed)
    common.write_or_print(render_comparison(rows, args.task, args.model, args.a, args.b), args.out)
    return 0
