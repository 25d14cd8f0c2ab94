"""``attrbench train``: (re)train a model of a task's zoo."""

from __future__ import annotations

import argparse
from pathlib import Path

from attrbench.cli import common

HELP = "(re)train a model of a task's zoo"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``train`` and its arguments."""
    p = sub.add_parser(
        "train",
        help=HELP,
        description="Train a zoo model on the task's training split (seeded, early stopping on the "
        "validation split) and write its checkpoint with config, data hash and test metrics.",
    )
    p.add_argument("--task", required=True)
    p.add_argument(
        "--model",
        type=common.csv_list,
        default=["default"],
        help="zoo model(s), 'default' or 'all'",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=None, help="override the model's epoch budget")
    common.threads_arg(p)
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="checkpoint directory to write (required unless --overwrite-shipped); "
        "run with `--checkpoints DIR` to use it",
    )
    p.add_argument(
        "--overwrite-shipped",
        action="store_true",
        help="write over the checkpoints shipped in the installed package (never with "
        "data of your own)",
    )
    common.data_args(p, checkpoints=False)
    common.plugin_arg(p)


def out_dir(args: argparse.Namespace, shipped: Path) -> Path | None:
    """Where ``train`` writes: ``--out``, or the shipped folder only with ``--overwrite-shipped``
    (and never for a user's ``--data``); None means the shipped folder."""
    from attrbench.cli.validate import UsageError, writable_dir

    into_shipped = args.out is None or Path(args.out).resolve() == Path(shipped).resolve()
    if into_shipped and args.data is not None:
        raise UsageError(
            f"--data {args.data}: give --out DIR for the checkpoints trained on it "
            "(the shipped checkpoints belong to the task's own data)"
        )
    if into_shipped and not args.overwrite_shipped:
        raise UsageError(
            f"--out: required (the default would write over the shipped checkpoints "
            f"in {shipped}; pass --overwrite-shipped to do that)"
        )
    return writable_dir(args.out or shipped, "--out")


def run(args: argparse.Namespace) -> int:
    """Train each named model and print its test scores."""
    from attrbench.cli import validate

    validate.seed(args.seed)
    validate.device(args.device)
    validate.names(args.model, "--model")
    if args.epochs is not None and args.epochs <= 0:
        raise validate.UsageError(f"--epochs {args.epochs}: must be an integer > 0")
    data_options = common.data_options(args)

    import torch

    from attrbench.plugin import TASKS
    from attrbench.timing import resolve_device
    from attrbench.training import train_model

    task = TASKS.get(args.task)
    out = out_dir(args, task.checkpoint_dir)
    if args.model == ["default"]:
        names = [task.default_model]
    else:
        names = list(task.models) if args.model == ["all"] else args.model
    for name in names:
        task.model(name)
    overrides = {"epochs": args.epochs} if args.epochs else {}
    for name in names:
        path = train_model(
            task,
            name,
            seed=args.seed,
            device=resolve_device(args.device),
            out_dir=out,
            data_options=data_options,
            **overrides,
        )
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        scores = ", ".join(f"{k} {v:.4f}" for k, v in ckpt["test_metrics"].items())
        print(f"{task.name}/{name}: {scores} ({ckpt['train_seconds']:.0f} s) -> {path}")
    return 0
