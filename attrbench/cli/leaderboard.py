"""``attrbench leaderboard``: render result records as tables."""

from __future__ import annotations

from pathlib import Path

from attrbench.cli import common

HELP = "render result records as tables"
FORMATS = ("markdown", "html", "latex", "csv")


def add_parser(sub) -> None:
    """Register ``leaderboard`` and its arguments."""
    p = sub.add_parser(
        "leaderboard", help=HELP,
        description="Render records as one table per task and model: methods as rows, metrics as "
        "columns (mean [95% CI]), best per column marked, n/a / failed / INVALID cells explained.")
    p.add_argument("--results", type=Path, default=None, help="records directory (default: ./results)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--format", choices=FORMATS, default="markdown")
    p.add_argument("--detail", action="store_true", help="every column of multi-column metrics")
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    common.plugin_arg(p)


def run(args) -> int:
    """Render the records of ``--results`` (of ``--task``)."""
    from attrbench.leaderboard import render
    from attrbench.results import ResultStore, default_results_dir

    common.check_out(args.out)
    store = ResultStore(args.results or default_results_dir())
    records = store.records(args.task)
    if not records:
        raise FileNotFoundError(f"no records in {store.root}; run `attrbench run --task ...` first")
    common.write_or_print(render(records, args.format, detail=args.detail), args.out)
    return 0
