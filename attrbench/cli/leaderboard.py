"""``attrbench leaderboard``: render result records as tables."""

from __future__ import annotations

import argparse
from pathlib import Path

from attrbench.cli import common

HELP = "render result records as tables"
FORMATS = ("markdown", "html", "latex", "csv")
#: Width of the terminal table unless ``--wide`` (``attrbench.leaderboard.TERMINAL_WIDTH``,
#: repeated here so ``--help`` imports nothing heavy).
TERMINAL_WIDTH = 160


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``leaderboard`` and its arguments."""
    p = sub.add_parser(
        "leaderboard",
        help=HELP,
        description="Render records as one table per task and model: methods as rows, metrics as "
        "columns (mean [95% CI]), best per column in bold, methods tied with it marked ≈, "
        "n/a / failed / missing / INVALID cells explained, and a summary of mean ranks. "
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
        "--wide",
        action="store_true",
        help=f"full intervals on the terminal, however wide (default: fit {TERMINAL_WIDTH} columns)",
    )
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    common.plugin_arg(p)


def run(args: argparse.Namespace) -> int:
    """Render the records of ``--results`` (of ``--task``)."""
    from attrbench.leaderboard import render
    from attrbench.results import ResultStore, default_results_dir

    common.check_out(args.out)
    store = ResultStore(args.results or default_results_dir())
    records = store.records(args.task)
    if not records:
        raise FileNotFoundError(f"no records in {store.root}; run `attrbench run --task ...` first")
    width = None if args.out is not None or args.wide else TERMINAL_WIDTH
    common.write_or_print(render(records, args.format, detail=args.detail, width=width), args.out)
    return 0
