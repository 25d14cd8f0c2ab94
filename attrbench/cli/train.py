"""``attrbench train``: (re)train a model of a task's zoo."""

from __future__ import annotations

from pathlib import Path

from attrbench.cli import common

HELP = "(re)train a model of a task's zoo"


def add_parser(sub) -> None:
    """Register ``train`` and its arguments."""
    p = sub.add_parser(
        "train", help=HELP,
        description="Train a zoo model on the task's training split (seeded, early stopping on the "
        "validation split) and write its checkpoint with config, data hash and test metrics.")
    p.add_argument("--task", required=True)
    p.add_argument("--model", type=common.csv_list, default=["default"],
                   help="zoo model(s), 'default' or 'all'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--epochs", type=int, default=None, help="override the model's epoch budget")
    common.threads_arg(p)
    p.add_argument("--out", type=Path, default=None,
                   help="checkpoint directory (default: the task's shipped checkpoint folder)")
    common.data_args(p, checkpoints=False)
    common.plugin_arg(p)


def run(args) -> int:
    """Train each named model and print its test scores."""
    import torch

    from attrbench.plugin import TASKS
    from attrbench.timing import resolve_device
    from attrbench.training import train_model

    task = TASKS.get(args.task)
    if args.model == ["default"]:
        names = [task.default_model]
    else:
        names = list(task.models) if args.model == ["all"] else args.model
    overrides = {"epochs": args.epochs} if args.epochs else {}
    for name in names:
        task.model(name)
        path = train_model(task, name, seed=args.seed, device=resolve_device(args.device),
                           out_dir=args.out, data_options=common.data_options(args), **overrides)
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        scores = ", ".join(f"{k} {v:.4f}" for k, v in ckpt["test_metrics"].items())
        print(f"{task.name}/{name}: {scores} ({ckpt['train_seconds']:.0f} s) -> {path}")
    return 0
