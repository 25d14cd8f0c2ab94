"""``attrbench run``: explain a task's test sequences and score every method."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrbench.cli import common

if TYPE_CHECKING:
    from attrbench.running.executors import Executor
    from attrbench.running.results import Record

HELP = "explain a task's test sequences and score every method"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``run`` and its arguments."""
    p = sub.add_parser(
        "run",
        help=HELP,
        description="Explain held-out sequences of a task with attribution methods, score them "
        "with every applicable metric, write one record per cell and print the leaderboard. "
        "Re-running the same command skips finished cells (resume after an interruption).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=common.EPILOG,
    )
    p.add_argument(
        "--task",
        default=None,
        help="task name (see `attrbench list tasks`); not with --model-file/--model-class",
    )
    p.add_argument(
        "--method",
        type=common.csv_list,
        default=["all"],
        help="comma-separated methods or 'all' (default)",
    )
    p.add_argument(
        "--model",
        type=common.csv_list,
        default=["default"],
        help="comma-separated zoo models, 'default' (the task's default) or 'all'",
    )
    p.add_argument(
        "--metric",
        type=common.csv_list,
        default=["all"],
        help="comma-separated metrics or 'all' (default)",
    )
    p.add_argument(
        "--n",
        type=common.n_arg,
        default=None,
        help="test sequences to explain, or 'all' (default: the task's default_n)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="selects the sequences and seeds every random step (default 0)",
    )
    p.add_argument(
        "--device", default="auto", help="cpu, cuda or auto (default: cuda if available)"
    )
    p.add_argument(
        "--batch-size", type=int, default=64, help="sequences per method call (default 64)"
    )
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="NAME.KEY=VALUE",
        help="an option of a method or metric, e.g. ig.n_steps=100 (repeatable; "
        "VALUE is JSON or text). scrambler_inclusion.finetune_steps=100 (and the same for "
        "scrambler_occlusion) fine-tunes each explanation per sequence, off by default: "
        "about 0.1-0.15 s of CPU per utr5 sequence at one thread instead of one pass of the "
        "fitted network",
    )
    p.add_argument(
        "--results",
        type=Path,
        default=None,
        help="records directory (default: $ATTRBENCH_RESULTS or ./results)",
    )
    common.data_args(p)
    common.resource_args(p)
    user_model_args(p)
    p.add_argument("--force", action="store_true", help="recompute cells whose records exist")
    p.add_argument(
        "--format",
        default="markdown",
        help="format of the printed table (markdown, html, latex, csv)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    executor_args(p)
    common.threads_arg(p)
    common.plugin_arg(p)


def check(args: argparse.Namespace) -> dict[str, Any]:
    """Everything ``run`` was given, checked before any work: the keyword arguments of
    :class:`~attrbench.running.runner.RunConfig` that come from the command line."""
    from attrbench.cli import validate
    from attrbench.cli.leaderboard import FORMATS
    from attrbench.running.results import default_results_dir

    validate.choice(args.format, FORMATS, "--format")
    validate.seed(args.seed)
    validate.batch_size(args.batch_size)
    validate.device(args.device)
    for flag in ("chunk_size", "workers"):
        value = getattr(args, flag)
        if value is not None and value <= 0:
            raise validate.UsageError(
                f"--{flag.replace('_', '-')} {value}: must be a positive number"
            )
    for flag in ("--method", "--model", "--metric"):
        validate.names(getattr(args, flag[2:]), flag)
    args.results = validate.writable_dir(args.results or default_results_dir(), "--results")
    if args.checkpoints is not None and not args.checkpoints.is_dir():
        raise validate.UsageError(f"--checkpoints {args.checkpoints}: no such directory")
    _check_task_inputs(args)
    mopts, qopts = common.options(args.option)
    resources = common.resource_options(args)
    common.load_resources(args.task, resources)
    return dict(
        method_options=mopts,
        metric_options=qopts,
        data_options=common.data_options(args),
        resource_options=resources,
    )


def _check_task_inputs(args: argparse.Namespace) -> None:
    """``--data`` only for a task that reads it, ``--kb`` only for a task with a knowledge base."""
    import inspect

    from attrbench.cli.validate import UsageError
    from attrbench.core.plugin import TASKS

    task = TASKS.get(args.task)
    params = inspect.signature(task.data).parameters
    if (
        args.data is not None
        and "path" not in params
        and not any(p.kind is p.VAR_KEYWORD for p in params.values())
    ):
        raise UsageError(
            f"--data {args.data}: task {task.name!r} does not read a data file of yours"
        )
    if args.kb is not None and "knowledge_base" not in task.resources:
        raise UsageError(
            f"--kb {args.kb}: task {task.name!r} has no knowledge base "
            f"(resources: {', '.join(task.resources) or 'none'})"
        )


def user_model_args(p: argparse.ArgumentParser) -> None:
    """``--model-file``, ``--model-class``, ``--weights``, ``--truth``, ``--labels``, ``--alphabet``."""
    g = p.add_argument_group(
        "your own model",
        "benchmark a model of yours on the sequences of --fasta (no --task): "
        "the run is a task named user-<hash of model and sequences>, reruns skip finished cells",
    )
    g.add_argument(
        "--model-file",
        type=Path,
        default=None,
        help="a TorchScript file (torch.jit.save) mapping one-hot (N, A, L) to logits (N, C) or (N,)",
    )
    g.add_argument(
        "--model-class",
        default=None,
        metavar="PKG.MODULE:FACTORY",
        help="a class or function building the model, with --weights",
    )
    g.add_argument(
        "--weights",
        type=Path,
        default=None,
        help="its state dict (torch.save(model.state_dict(), PATH)); read with weights_only=True",
    )
    g.add_argument(
        "--truth",
        type=Path,
        default=None,
        help="ground-truth motifs: BED lines 'name start end [kind]' (0-based, end exclusive)",
    )
    g.add_argument(
        "--labels",
        type=Path,
        default=None,
        help="true classes: TSV lines 'name<TAB>class index' (default: the model's predictions)",
    )
    g.add_argument(
        "--alphabet",
        default="dna",
        choices=["dna", "rna", "protein"],
        help="letters of the FASTA (default dna)",
    )


def _run_user(args: argparse.Namespace) -> int:
    """``run --model-file|--model-class ... --fasta ...``: the user's model on the user's sequences."""
    from attrbench.cli import validate
    from attrbench.reporting.leaderboard import TERMINAL_WIDTH, render
    from attrbench.running.results import default_results_dir
    from attrbench.user import UserInputError, load_user_model, prepare, run_user

    if args.task is not None:
        raise UserInputError("--task with --model-file/--model-class: give one or the other")
    if args.fasta is None:
        raise UserInputError("--model-file/--model-class: give your sequences with --fasta FILE")
    from attrbench.cli.leaderboard import FORMATS

    validate.choice(args.format, FORMATS, "--format")
    results = validate.writable_dir(args.results or default_results_dir(), "--results")
    mopts, qopts = common.options(args.option)
    model, digest = load_user_model(args.model_file, args.model_class, args.weights)
    source = str(args.model_file or args.weights)
    data = prepare(
        model,
        common.existing(args.fasta, "--fasta"),
        args.alphabet,
        args.labels,
        args.truth,
        model_digest=digest,
        source=source,
    )
    df = run_user(
        data,
        args.method,
        args.metric,
        args.n,
        args.seed,
        args.device,
        results,
        args.batch_size,
        {**mopts, **qopts},
        not args.quiet,
        _user_executor(args),
        args.force,
    )
    records = df.attrs["records"]
    print(render(records, args.format, width=TERMINAL_WIDTH))
    print(f"{len(records)} records in {results}/{data.name}", file=sys.stderr)
    return 0


def _user_executor(args: argparse.Namespace) -> Executor:
    """This process: worker processes cannot see a model registered at run time."""
    import logging

    from attrbench.running.executors import LocalExecutor

    if args.executor in ("process", "ray") or (workers_of(args) or 1) > 1:
        logging.getLogger("attrbench").info(
            "a model of yours runs in this process (worker processes cannot see it)"
        )
    return LocalExecutor()


def run(args: argparse.Namespace) -> int:
    """Run the plan the arguments describe, write its records and print the table."""
    if args.model_file is not None or args.model_class is not None:
        return _run_user(args)
    if args.task is None:
        from attrbench.cli.validate import UsageError

        raise UsageError("give --task NAME, or --model-file FILE --fasta FILE for a model of yours")
    checked = check(args)
    from attrbench.reporting.leaderboard import TERMINAL_WIDTH, render
    from attrbench.running.results import ResultStore
    from attrbench.running.runner import RunConfig, run

    config = RunConfig(
        task=args.task,
        models=args.model,
        methods=args.method,
        metrics=args.metric,
        n=args.n,
        seed=args.seed,
        device=args.device,
        batch_size=args.batch_size,
        force=args.force,
        checkpoint_dir=args.checkpoints,
        progress=not args.quiet,
        chunk_size=args.chunk_size,
        **checked,
    )
    store = ResultStore(args.results)
    records = run(config, store, executor_of(args))
    from attrbench.reporting.validity import TaskOracle

    print(render(records, args.format, width=TERMINAL_WIDTH, oracle=TaskOracle()))
    print(f"{len(records)} records in {store.root}/{args.task}", file=sys.stderr)
    return failure_summary(records)


def failure_summary(records: list[Record]) -> int:
    """Say once how many cells failed and why; the exit code: 1 if every cell that ran failed."""
    from collections import Counter

    from attrbench.running.runner import QUALITY

    cells: dict[tuple[str, str, str], bool] = {}
    for r in records:
        if r.key.method != QUALITY and r.status != "not_applicable":
            k = (r.key.model, r.key.method, r.key.data_hash)
            cells[k] = cells.get(k, True) and r.status == "failed"
    failed = {
        (r.key.model, r.key.method, r.key.data_hash): f"{r.key.method}: {r.reason}"
        for r in records
        if r.status == "failed"
    }
    if not failed:
        return 0
    n_failed = sum(cells.values())
    why = "; ".join(
        f"{reason} ({n} cells)" if n > 1 else reason
        for reason, n in Counter(failed.values()).most_common(3)
    )
    every = n_failed == len(cells)
    print(
        f"attrbench: {'error' if every else 'warning'}: {n_failed} of {len(cells)} cells failed: "
        f"{why}",
        file=sys.stderr,
    )
    return 1 if every else 0


def executor_args(p: argparse.ArgumentParser) -> None:
    """``--executor``, ``--address``, ``--chunk-size``, ``--workers``."""
    p.add_argument(
        "--executor",
        default="auto",
        choices=["auto", "local", "process", "ray"],
        help="where chunks run: auto (default: --workers processes when more than one core "
        "is free, else this process), local (this process), process (a local process pool) "
        "or ray; a model of yours (--model-file/--model-class) always runs in this process",
    )
    p.add_argument(
        "--address",
        default=None,
        metavar="auto|HOST:PORT",
        help="with --executor ray: a running Ray cluster (default: start a local one)",
    )
    p.add_argument(
        "--chunk-size",
        type=int,
        default=None,
        metavar="K",
        help="sequences per chunk (whole batches); default: one batch per chunk with "
        "several workers, else one chunk per cell",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes, one torch thread each (1: work in this process); default: "
        "$ATTRBENCH_WORKERS, else the free cores (the cores minus the 1-minute load average, "
        "rounded: one worker on a busy machine or a GPU); records do not depend on it. With "
        "--executor process default 2; with --executor ray the CPUs of a local Ray instance",
    )


def executor_of(args: argparse.Namespace) -> Executor:
    """The executor the arguments ask for (workers of the process pool and Ray also load the
    ``--plugin`` files)."""
    from attrbench.running.executors import get_executor
    from attrbench.running.threads import current_threads

    threads = args.threads or current_threads()
    if args.executor == "auto":
        workers = workers_of(args)
        if workers is None and _on_gpu(args.device):
            workers = 1  # the GPU does the work: one process feeds it
        return get_executor("auto", workers=workers, threads=threads, plugins=args.plugin)
    if args.executor == "process":
        return get_executor(
            "process", workers=args.workers or 2, threads=threads, plugins=args.plugin
        )
    if args.executor == "ray":
        return get_executor(
            "ray",
            address=args.address,
            num_cpus=args.workers,
            cpus_per_task=float(threads),
            plugins=args.plugin,
        )
    return get_executor("local")


def _on_gpu(device: str) -> bool:
    """Whether ``--device`` runs on a GPU (``auto`` with one available)."""
    if device == "auto":
        import torch

        return torch.cuda.is_available()
    return device.startswith("cuda")


def workers_of(args: argparse.Namespace) -> int | None:
    """``--workers``, else ``$ATTRBENCH_WORKERS``, else None (the free cores decide)."""
    if args.workers is not None:
        return int(args.workers)
    import os

    from attrbench.cli.validate import UsageError

    value = os.environ.get("ATTRBENCH_WORKERS", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise UsageError(f"ATTRBENCH_WORKERS={value}: must be a positive integer")
    return int(value)
