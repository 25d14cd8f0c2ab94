"""``attrbench publish``: build the static leaderboard site from records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from attrbench.cli import common

HELP = "build the static leaderboard site from records"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``publish`` and its arguments."""
    p = sub.add_parser(
        "publish",
        help=HELP,
        description="Build a static site from the records: an index of tasks, one page per "
        "task and model with sortable tables (the random and oracle reference rows last; the "
        "oracle rows are computed on each task's test split), the model-quality table, a "
        "cost-versus-quality plot and example attribution logos, and one page per task and model "
        "with the `metrics` report of its columns. Open OUT/index.html from the file system.",
    )
    p.add_argument(
        "--results", type=Path, default=None, help="records directory (default: ./results)"
    )
    p.add_argument("--out", type=Path, required=True, help="site folder to write, e.g. site/")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument(
        "--no-oracle",
        action="store_true",
        help="no oracle (ceiling) rows (they are computed on each task's test split, which must "
        "be available here; without it they are left out)",
    )
    common.plugin_arg(p)


def run(args: argparse.Namespace) -> int:
    """Build the site of the records of ``--results``."""
    from attrbench.running.results import ResultStore, default_results_dir
    from attrbench.site import build_site

    store = ResultStore(args.results or default_results_dir())
    records = store.records(args.task)
    if not records:
        raise FileNotFoundError(f"no records in {store.root}; run `attrbench run --task ...` first")
    from attrbench.reporting.validity import TaskOracle

    pages = build_site(records, args.out, None if args.no_oracle else TaskOracle())
    print(f"wrote {len(pages)} pages; open {pages[0]}", file=sys.stderr)
    return 0
