"""``attrbench list``: registered tasks, methods, metrics or a task's models."""

from __future__ import annotations

from attrbench.cli import common

HELP = "list registered tasks, methods, metrics or a task's models"


def add_parser(sub) -> None:
    """Register ``list`` and its arguments."""
    p = sub.add_parser("list", help=HELP,
                       description="List what is registered (built-ins, entry points and --plugin files).")
    p.add_argument("what", choices=["tasks", "methods", "metrics", "models"])
    p.add_argument("--task", default=None, help="with 'models': only this task")
    common.plugin_arg(p)


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


def rows(what: str, task: str | None = None) -> tuple[list[list], list[str]]:
    """The table of ``what``: rows and headers."""
    from attrbench.plugin import METHODS, METRICS, TASKS

    if what == "tasks":
        return ([[t.name, t.version, t.default_model, len(t.classes), t.description] for t in TASKS],
                ["task", "version", "default model", "classes", "description"])
    if what == "methods":
        return ([[m.name, _yes(m.complete), _yes(m.deterministic), _yes(m.needs_attention),
                  _yes(m.needs_embedding), _yes(m.fit is not None), m.description] for m in METHODS],
                ["method", "complete", "deterministic", "attention", "embedding", "fitted",
                 "description"])
    if what == "metrics":
        return ([[q.name, "higher" if q.higher_is_better else "lower", _yes(q.needs_ground_truth),
                  ",".join(q.needs_resources) or "-", ",".join(q.columns) or "-", q.description]
                 for q in METRICS],
                ["metric", "better", "ground truth", "resources", "columns", "description"])
    tasks = [TASKS.get(task)] if task else list(TASKS)
    return ([[t.name, m, "default" if m == t.default_model else "",
              "yes" if (t.checkpoint_dir / f"{m}.pt").is_file() else "no (train it)", spec.description]
             for t in tasks for m, spec in t.models.items()],
            ["task", "model", "", "checkpoint", "description"])


def run(args) -> int:
    """Print the table."""
    from tabulate import tabulate

    body, headers = rows(args.what, args.task)
    print(tabulate(body, headers, maxcolwidths=[None] * (len(headers) - 1) + [60]))
    return 0
