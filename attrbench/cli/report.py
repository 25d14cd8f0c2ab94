"""``attrbench report``: print one of a task's reports."""

from __future__ import annotations

from pathlib import Path

from attrbench.cli import common

HELP = "print a task's report (e.g. its model-quality table)"


def add_parser(sub) -> None:
    """Register ``report`` and its arguments."""
    p = sub.add_parser("report", help=HELP,
                       description="Print one of the reports a task declares; without a name, list them.")
    p.add_argument("--task", default=None, help="the task (or give it as the first word)")
    p.add_argument("words", nargs="*", metavar="[TASK] NAME",
                   help="the task unless --task is given, then the report name (omit to list)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the report, e.g. n=100 (repeatable; VALUE is JSON or text; "
                   "the report's docstring lists them: `attrbench report --task T NAME --help-report`)")
    p.add_argument("--help-report", action="store_true", help="print the report's documentation")
    common.kb_arg(p)
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    common.threads_arg(p)
    common.plugin_arg(p)


def run(args) -> int:
    """List the task's reports, print one's documentation, or run it."""
    import inspect

    from attrbench.cli.validate import UsageError
    from attrbench.plugin import TASKS
    from attrbench.registry import did_you_mean

    words = list(args.words)
    if args.task is None:
        if not words:
            raise UsageError("report: give the task, e.g. `attrbench report psl models`")
        args.task = words.pop(0)
    if len(words) > 1:
        raise UsageError(f"report: one report name expected, got {' '.join(words)}")
    args.name = words[0] if words else None
    task = TASKS.get(args.task)
    if args.name is None:
        print("\n".join(task.reports) or f"task {task.name!r} declares no reports")
        return 0
    report = did_you_mean(args.name, task.reports, f"report of task {task.name!r}")
    if args.help_report:
        print(inspect.getdoc(report) or f"report {args.name!r} has no documentation")
        return 0
    from attrbench.cli.validate import report_options

    options = common.report_options(args.option)
    if args.kb is not None:
        options["kb"] = str(common.existing(args.kb, "--kb"))
    options = report_options(report, options, args.name)
    common.check_out(args.out)
    common.write_or_print(report(**options), args.out)
    return 0
