"""The ``attrbench`` command line: list, run, train, leaderboard."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from attrbench.contract import ContractError, SequenceError
from attrbench.plugin import METHODS, METRICS, TASKS
from attrbench.registry import PluginError, RegistryError, UnknownNameError, load_plugin_file

__all__ = ["main", "build_parser"]

EPILOG = """examples:
  attrbench run --task utr5 --method all             score every method on the 5' UTR task
  attrbench run --task utr5 --method ig,deeplift --n 500 --seed 1
  attrbench list methods                              what is registered, with capabilities
  attrbench leaderboard --format latex --out table.tex
  attrbench run --plugin my_method.py --task utr5 --method my_method
"""


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _n(value: str) -> int:
    if value == "all":
        return -1
    n = int(value)
    if n <= 0:
        raise argparse.ArgumentTypeError("--n must be a positive number or 'all'")
    return n


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin", action="append", default=[], metavar="FILE",
                   help="a Python file that registers methods, metrics or tasks (repeatable)")


def _add_run(sub) -> None:
    p = sub.add_parser(
        "run", help="explain a task's test sequences and score every method",
        description="Explain held-out sequences of a task with attribution methods, score them "
        "with every applicable metric, write one record per cell and print the leaderboard. "
        "Re-running the same command skips finished cells (resume after an interruption).",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    p.add_argument("--task", required=True, help="task name (see `attrbench list tasks`)")
    p.add_argument("--method", type=_csv, default=["all"], help="comma-separated methods or 'all' (default)")
    p.add_argument("--model", type=_csv, default=["default"],
                   help="comma-separated zoo models, 'default' (the task's default) or 'all'")
    p.add_argument("--metric", type=_csv, default=["all"], help="comma-separated metrics or 'all' (default)")
    p.add_argument("--n", type=_n, default=None,
                   help="test sequences to explain, or 'all' (default: the task's default_n)")
    p.add_argument("--seed", type=int, default=0, help="selects the sequences and seeds every random step (default 0)")
    p.add_argument("--device", default="auto", help="cpu, cuda or auto (default: cuda if available)")
    p.add_argument("--batch-size", type=int, default=64, help="sequences per method call (default 64)")
    p.add_argument("--option", action="append", default=[], metavar="NAME.KEY=VALUE",
                   help="an option of a method or metric, e.g. ig.n_steps=100 (repeatable; VALUE is JSON or text)")
    p.add_argument("--results", type=Path, default=None,
                   help="records directory (default: $ATTRBENCH_RESULTS or ./results)")
    _data_args(p)
    _kb_arg(p)
    p.add_argument("--force", action="store_true", help="recompute cells whose records exist")
    p.add_argument("--format", default="markdown", help="format of the printed table (markdown, html, latex, csv)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _threads_arg(p)
    _common(p)


def _threads_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads torch may use (default: torch's choice; 1 when running jobs side by side)")


def _set_threads(args) -> None:
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", type=Path, default=None,
                   help="a data file of your own for tasks that read one (e.g. DeepLoc FASTA for psl); "
                   "models must then be trained on it (`attrbench train --data ... --out DIR`)")
    p.add_argument("--checkpoints", type=Path, default=None,
                   help="load checkpoints from this directory instead of the shipped ones")


def _kb_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kb", type=Path, default=None, metavar="PATH",
                   help="knowledge base for hit_rate instead of the task's default: a UniProt TSV "
                   "export with a 'Subcellular location [CC]' column, or a FASTA whose headers "
                   "carry the locations (formats: `python -m pydoc attrbench.knowledge`)")


def _existing(path: Path | None, flag: str) -> Path | None:
    """``path`` of option ``flag`` if given; an error naming the option if it does not exist."""
    if path is not None and not path.exists():
        raise FileNotFoundError(f"{flag}: {path} does not exist")
    return path


def _kb_options(args) -> dict:
    kb = _existing(args.kb, "--kb")
    return {} if kb is None else {"knowledge_base": {"path": kb}}


def _data_options(args) -> dict:
    data = _existing(args.data, "--data")
    return {} if data is None else {"path": data}


def _add_report(sub) -> None:
    p = sub.add_parser("report", help="print a task's report (e.g. its model-quality table)",
                       description="Print one of the reports a task declares; without a name, list them.")
    p.add_argument("--task", required=True)
    p.add_argument("name", nargs="?", default=None, help="report name (omit to list)")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the report, e.g. n=100 (repeatable; VALUE is JSON or text; "
                   "the report's docstring lists them: `attrbench report --task T NAME --help-report`)")
    p.add_argument("--help-report", action="store_true", help="print the report's documentation")
    _kb_arg(p)
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    _common(p)


def _add_train(sub) -> None:
    p = sub.add_parser(
        "train", help="(re)train a model of a task's zoo",
        description="Train a zoo model on the task's training split (seeded, early stopping on the "
        "validation split) and write its checkpoint with config, data hash and test metrics.")
    p.add_argument("--task", required=True)
    p.add_argument("--model", type=_csv, default=["default"], help="zoo model(s), 'default' or 'all'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=None, help="override the model's epoch budget")
    _threads_arg(p)
    p.add_argument("--out", type=Path, default=None,
                   help="checkpoint directory (default: the task's shipped checkpoint folder)")
    p.add_argument("--data", type=Path, default=None,
                   help="a data file of your own for tasks that read one (e.g. DeepLoc FASTA for psl)")
    _common(p)


def _add_leaderboard(sub) -> None:
    from attrbench.leaderboard import FORMATS

    p = sub.add_parser(
        "leaderboard", help="render result records as tables",
        description="Render records as one table per task and model: methods as rows, metrics as "
        "columns (mean [95% CI]), best per column marked, n/a / failed / INVALID cells explained.")
    p.add_argument("--results", type=Path, default=None, help="records directory (default: ./results)")
    p.add_argument("--task", default=None, help="only this task")
    p.add_argument("--format", choices=FORMATS, default="markdown")
    p.add_argument("--detail", action="store_true", help="every column of multi-column metrics")
    p.add_argument("--out", type=Path, default=None, help="write to this file instead of stdout")
    _common(p)


def _add_list(sub) -> None:
    p = sub.add_parser("list", help="list registered tasks, methods, metrics or a task's models",
                       description="List what is registered (built-ins, entry points and --plugin files).")
    p.add_argument("what", choices=["tasks", "methods", "metrics", "models"])
    p.add_argument("--task", default=None, help="with 'models': only this task")
    _common(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``attrbench``."""
    parser = argparse.ArgumentParser(
        prog="attrbench", description="Benchmark attribution methods on biological sequence models.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
    from attrbench import __version__

    parser.add_argument("--version", action="version", version=f"attrbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_run, _add_train, _add_leaderboard, _add_list, _add_report):
        add(sub)
    return parser


def _options(items: list[str]) -> tuple[dict, dict]:
    """Parse ``NAME.KEY=VALUE`` into method and metric option dicts."""
    methods: dict[str, dict] = {}
    metrics: dict[str, dict] = {}
    for item in items:
        name_key, sep, raw = item.partition("=")
        name, dot, key = name_key.partition(".")
        if not sep or not dot or not key:
            raise ValueError(f"--option {item!r}: expected NAME.KEY=VALUE, e.g. ig.n_steps=100")
        value = _value(raw)
        target = methods if name in METHODS else metrics if name in METRICS else None
        if target is None:
            METHODS.get(name)  # raises with close names
        target.setdefault(name, {})[key] = value
    return methods, metrics


def _report_options(items: list[str]) -> dict:
    """``KEY=VALUE`` items as keyword arguments (VALUE parsed as JSON when it is JSON)."""
    options = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--option {item!r}: expected KEY=VALUE, e.g. n=100")
        options[key] = _value(raw)
    return options


def _value(raw: str):
    """An option's value: JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def cmd_run(args) -> int:
    from attrbench.leaderboard import render
    from attrbench.results import ResultStore, default_results_dir
    from attrbench.runner import RunConfig, run

    mopts, qopts = _options(args.option)
    config = RunConfig(
        task=args.task, models=args.model, methods=args.method, metrics=args.metric, n=args.n,
        seed=args.seed, device=args.device, batch_size=args.batch_size, force=args.force,
        method_options=mopts, metric_options=qopts, data_options=_data_options(args),
        checkpoint_dir=args.checkpoints, resource_options=_kb_options(args), progress=not args.quiet)
    store = ResultStore(args.results or default_results_dir())
    records = run(config, store)
    print(render(records, args.format))
    print(f"{len(records)} records in {store.root}/{args.task}", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    from attrbench.timing import resolve_device
    from attrbench.training import train_model

    task = TASKS.get(args.task)
    names = [task.default_model] if args.model == ["default"] else list(task.models) if args.model == ["all"] else args.model
    overrides = {"epochs": args.epochs} if args.epochs else {}
    for name in names:
        task.model(name)
        path = train_model(task, name, seed=args.seed, device=resolve_device(args.device),
                           out_dir=args.out, data_options=_data_options(args), **overrides)
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        scores = ", ".join(f"{k} {v:.4f}" for k, v in ckpt["test_metrics"].items())
        print(f"{task.name}/{name}: {scores} ({ckpt['train_seconds']:.0f} s) -> {path}")
    return 0


def cmd_leaderboard(args) -> int:
    from attrbench.leaderboard import render
    from attrbench.results import ResultStore, default_results_dir

    store = ResultStore(args.results or default_results_dir())
    records = store.records(args.task)
    if not records:
        raise FileNotFoundError(f"no records in {store.root}; run `attrbench run --task ...` first")
    text = render(records, args.format, detail=args.detail)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def cmd_list(args) -> int:
    from tabulate import tabulate

    if args.what == "tasks":
        rows = [[t.name, t.version, t.default_model, len(t.classes), t.description] for t in TASKS]
        print(tabulate(rows, ["task", "version", "default model", "classes", "description"]))
    elif args.what == "methods":
        rows = [[m.name, _yes(m.complete), _yes(m.deterministic), _yes(m.needs_attention),
                 _yes(m.needs_embedding), ",".join(sorted(m.model_kinds or [])) or "any",
                 _yes(m.fit is not None), m.description[:70]] for m in METHODS]
        print(tabulate(rows, ["method", "complete", "deterministic", "attention", "embedding",
                              "models", "fitted", "description"]))
    elif args.what == "metrics":
        rows = [[q.name, "higher" if q.higher_is_better else "lower", _yes(q.needs_ground_truth),
                 ",".join(q.needs_resources) or "-", ",".join(q.columns) or "-", q.description[:70]]
                for q in METRICS]
        print(tabulate(rows, ["metric", "better", "ground truth", "resources", "columns", "description"]))
    else:
        tasks = [TASKS.get(args.task)] if args.task else list(TASKS)
        rows = [[t.name, m, "default" if m == t.default_model else "",
                 "yes" if (t.checkpoint_dir / f"{m}.pt").is_file() else "no (train it)", spec.description[:60]]
                for t in tasks for m, spec in t.models.items()]
        print(tabulate(rows, ["task", "model", "", "checkpoint", "description"]))
    return 0


def cmd_report(args) -> int:
    task = TASKS.get(args.task)
    if args.name is None:
        print("\n".join(task.reports) or f"task {task.name!r} declares no reports")
        return 0
    if args.name not in task.reports:
        import difflib

        close = difflib.get_close_matches(args.name, task.reports, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownNameError(f"unknown report {args.name!r} of task {task.name!r}{hint} "
                               f"(reports: {', '.join(task.reports) or 'none'})")
    report = task.reports[args.name]
    if args.help_report:
        import inspect

        print(inspect.getdoc(report) or f"report {args.name!r} has no documentation")
        return 0
    options = _report_options(args.option)
    if args.kb is not None:
        options["kb"] = _existing(args.kb, "--kb")
    text = report(**options)
    if args.out:
        args.out.write_text(text)
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


def _yes(flag: bool) -> str:
    return "yes" if flag else "-"


COMMANDS = {"run": cmd_run, "train": cmd_train, "leaderboard": cmd_leaderboard, "list": cmd_list,
            "report": cmd_report}
ERRORS = (UnknownNameError, PluginError, RegistryError, SequenceError, ContractError,
          FileNotFoundError, ValueError, RuntimeError)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``attrbench`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        for path in args.plugin:
            added = load_plugin_file(path)
            print(f"plugin {path}: registered {', '.join(added)}", file=sys.stderr)
        _set_threads(args)
        return COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are saved; run the same command again to resume",
              file=sys.stderr)
        return 130
    except ERRORS as exc:
        print(f"attrbench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
