"""``attrbench leaderboard``: render result records as tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from attrbench.cli import common

HELP = "render result records as tables"
FORMATS = ("markdown", "html", "latex", "csv")
#: Width of the terminal table unless ``--wide`` (``attrbench.reporting.leaderboard.TERMINAL_WIDTH``,
#: repeated here so ``--help`` imports nothing heavy).
TERMINAL_WIDTH = 160


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``leaderboard`` and its arguments."""
    p = sub.add_parser(
        "leaderboard",
        help=HELP,
        description="Render records as one table per task and model: methods as rows, metrics as "
        "columns (mean [95% CI]), best per column in bold, methods tied with it marked ≈, "
        "n/a / failed / missing / INVALID cells explained, a cell's n where it differs from the "
        "header, the random (floor) and oracle (ceiling) reference rows of ground-truth columns, "
        "and a summary of mean ranks and mean normalised ground-truth scores. "
        f"On a terminal the markdown tables fit {TERMINAL_WIDTH} columns (mean±half-interval); "
        "files written with --out keep the full tables.",
    )
    p.add_argument(
        "--results", type=Path, default=None, help="records directory (default: ./results)"
    )
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="markdown",
        help="html writes a complete standalone page",
    )
    p.add_argument("--detail", action="store_true", help="every column of multi-column metrics")
    p.add_argument(
        "--normalised",
        action="store_true",
        help="ground-truth columns as (value - random) / (oracle - random): 0 = random, 1 = oracle",
    )
    p.add_argument(
        "--no-oracle",
        action="store_true",
        help="no oracle (ceiling) rows: they are computed on the task's test split, which must "
        "be available here (without it, or for a task not registered, the rows are left out)",
    )
    p.add_argument(
        "--wide",
        action="store_true",
        help=f"full intervals on the terminal, however wide (default: fit {TERMINAL_WIDTH} columns)",
    )
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    common.plugin_arg(p)


def run(args: argparse.Namespace) -> int:
    """Render the records of ``--results`` (of ``--task``)."""
    from attrbench.reporting.leaderboard import render
    from attrbench.reporting.validity import TaskOracle
    from attrbench.running.results import ResultStore, default_results_dir

    common.check_out(args.out)
    store = ResultStore(args.results or default_results_dir())
    records = store.records(args.task)
    if not records:
        raise FileNotFoundError(f"no records in {store.root}; run `attrbench run --task ...` first")
    width = None if args.out is not None or args.wide else TERMINAL_WIDTH
    if args.normalised and args.no_oracle:
        from attrbench.cli.validate import UsageError

        raise UsageError("--normalised needs the oracle rows: leave out --no-oracle")
    oracle = None if args.no_oracle else TaskOracle()
    text = render(
        records,
        args.format,
        detail=args.detail,
        width=width,
        oracle=oracle,
        normalised=args.normalised,
    )
    common.write_or_print(text, args.out)
    return 0
