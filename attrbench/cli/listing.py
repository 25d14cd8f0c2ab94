"""``attrbench list``: registered tasks, methods, metrics or a task's models.

Answers from :mod:`attrbench.cli.catalog` (no plugin imported when it is cached);
``--plugin`` files are imported, so with them the table is built live.
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from pathlib import Path
from typing import Any

from attrbench.cli import common

HELP = "list registered tasks, methods, metrics or a task's models"

HEADERS = {
    "tasks": ["task", "version", "default model", "classes", "description"],
    "methods": [
        "method",
        "complete",
        "deterministic",
        "attention",
        "embedding",
        "fitted",
        "description",
    ],
    "metrics": ["metric", "better", "ground truth", "resources", "columns", "description"],
    "models": ["task", "model", "", "checkpoint", "description"],
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``list`` and its arguments."""
    p = sub.add_parser(
        "list",
        help=HELP,
        description="List what is registered (built-ins, entry points and --plugin files).",
    )
    p.add_argument("what", choices=list(HEADERS))
    p.add_argument("--task", default=None, help="with 'models': only this task")
    p.add_argument(
        "--width",
        type=int,
        default=None,
        help="wrap the table to this many columns (default: the terminal's width)",
    )
    common.plugin_arg(p)


def rows(
    what: str, task: str | None = None, use_cache: bool = True
) -> tuple[list[list[Any]], list[str]]:
    """The table of ``what``: rows and headers."""
    from attrbench.cli.catalog import catalog
    from attrbench.core.registry import did_you_mean

    cat = catalog(use_cache)
    body = [list(r) for r in cat[what]]
    if what == "models":
        if task is not None:
            did_you_mean(task, {t[0]: t for t in cat["tasks"]}, "task")
            body = [r for r in body if r[0] == task]
        for r in body:
            r[3] = "built" if not r[3] else "yes" if Path(r[3]).is_file() else "no (train it)"
    return body, HEADERS[what]


def wrap(body: list[list[Any]], headers: list[str], width: int) -> list[list[Any]]:
    """``body`` with its last column wrapped at word boundaries to fit ``width`` columns."""
    others = sum(
        max(len(str(v)) for v in [h, *(r[i] for r in body)]) + 2 for i, h in enumerate(headers[:-1])
    )
    room = max(30, width - others)
    return [
        [*r[:-1], textwrap.fill(str(r[-1]), room, break_long_words=False, break_on_hyphens=False)]
        for r in body
    ]


def run(args: argparse.Namespace) -> int:
    """Print the table."""
    from tabulate import tabulate

    body, headers = rows(args.what, args.task, use_cache=not args.plugin)
    width = args.width or shutil.get_terminal_size((120, 24)).columns
    print(tabulate(wrap(body, headers, width), headers, disable_numparse=True))
    return 0
