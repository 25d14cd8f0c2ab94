"""``attrbench report``: a task's report, its cells run (or reused) through the runner."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrbench.cli import common

if TYPE_CHECKING:
    from attrbench.core.plugin import Report, Task
    from attrbench.running.results import Record, ResultStore

HELP = "print a task's report (e.g. its model-quality table) or `metrics`, the check of its columns"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``report`` and its arguments."""
    p = sub.add_parser(
        "report",
        help=HELP,
        description="Print one of the reports a task declares; without a name, list them. A "
        "report that needs result cells runs them into the results store first (finished cells "
        "are reused, so a report after `attrbench run` computes only what is missing). The report "
        "`metrics` (every task has it) reads the records already in the store and states, per "
        "model and metric column: whether it applies and why, the truth reliance it rests on, "
        "its random and oracle rows, the best method's paired distance from random in standard "
        "errors, the split-half rank stability (Kendall tau) and whether the column is "
        "informative (an uninformative column never enters a summary; docs/metrics.md).",
    )
    p.add_argument("--task", default=None, help="the task (or give it as the first word)")
    p.add_argument(
        "words",
        nargs="*",
        metavar="[TASK] NAME",
        help="the task unless --task is given, then the report name (omit to list)",
    )
    p.add_argument(
        "--model",
        default=None,
        help="for the `metrics` report: one model (default: every model with records)",
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an option of the report, e.g. n=100 (repeatable; VALUE is JSON or text; "
        "the report's docstring lists them: `attrbench report --task T NAME --help-report`)",
    )
    p.add_argument("--help-report", action="store_true", help="print the report's documentation")
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="records directory (default: $ATTRBENCH_RESULTS or ./results)",
    )
    p.add_argument(
        "--device", default="auto", help="cpu, cuda or auto (default: cuda if available)"
    )
    p.add_argument("--force", action="store_true", help="recompute cells whose records exist")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    common.resource_args(p)
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    common.threads_arg(p)
    common.plugin_arg(p)


#: The report every task has: the check of its metric columns.
METRICS_REPORT = "metrics"


def metrics_report(task: Task, store: ResultStore, model: str | None = None) -> str:
    """The `metrics` report of ``task`` from the records in ``store`` (oracle rows computed on the
    sequences each column's random control scored, :class:`attrbench.reporting.validity.TaskOracle`)."""
    from attrbench.reporting import validity

    rows = validity.metrics_view(store.records(task.name), task.name, model, validity.TaskOracle())
    if not rows:
        return f"no records of task {task.name!r} in {store.root} (run `attrbench run --task {task.name}`)\n"
    return f"# {task.name}: metric columns\n\n" + validity.render_metrics_view(rows)


def records_of(
    report: Report, options: dict[str, Any], store: ResultStore, **overrides: Any
) -> list[Record]:
    """Run the cells of ``report.plan(**options)`` into ``store`` (reusing finished ones).

    Parameters
    ----------
    report : Report
    options : dict
        The report's options.
    store : ResultStore
    **overrides
        Fields of every planned :class:`~attrbench.running.runner.RunConfig` set from the
        command line (``device``, ``force``, ``progress``, ``resource_options``).

    Returns
    -------
    records : list of Record
        The records of every planned cell, in plan order.
    """
    from attrbench.running.runner import run

    if report.plan is None:
        return []
    records = []
    for config in report.plan(**options):
        records += run(dataclasses.replace(config, **overrides), store)
    return records


def run(args: argparse.Namespace) -> int:
    """List the task's reports, print one's documentation, or build it."""
    import inspect

    from attrbench.cli.validate import UsageError
    from attrbench.core.plugin import TASKS
    from attrbench.core.registry import did_you_mean
    from attrbench.running.results import ResultStore, default_results_dir

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
        print("\n".join([*task.reports, METRICS_REPORT]))
        return 0
    if args.name == METRICS_REPORT and METRICS_REPORT not in task.reports:
        store = ResultStore(args.results or default_results_dir())
        common.check_out(args.out)
        common.write_or_print(metrics_report(task, store, args.model), args.out)
        return 0
    report = did_you_mean(args.name, task.reports, f"report of task {task.name!r}")
    if args.help_report:
        doc = "\n\n".join(inspect.getdoc(f) or "" for f in (report.render, report.plan) if f)
        print(report.description + "\n\n" + doc if report.description else doc)
        return 0
    from attrbench.cli.validate import report_options

    options = common.report_options(args.option)
    options = report_options(report, options, args.name)
    common.check_out(args.out)
    resources = common.resource_options(args)
    common.load_resources(task.name, resources)
    store = ResultStore(args.results or default_results_dir())
    records = records_of(
        report,
        options,
        store,
        device=args.device,
        force=args.force,
        progress=not args.quiet,
        resource_options=resources,
    )
    common.write_or_print(report.render(records, **options), args.out)
    return 0
