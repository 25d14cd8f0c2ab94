"""``attrbench train``: (re)train a model of a task's zoo, or fit its learned methods (``--fits``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from attrbench.cli import common

HELP = "(re)train a model of a task's zoo, or fit its learned methods (--fits)"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``train`` and its arguments."""
    p = sub.add_parser(
        "train",
        help=HELP,
        description="Train a zoo model on the task's training split (seeded, early stopping on the "
        "validation split) and write its checkpoint with config, data hash and test metrics. "
        "With --fits, train nothing: fit the learned methods (the scramblers) of the existing "
        "checkpoints instead and save each fit beside them (<dir>/fits/<model>/<method>-<key>.pt, "
        "weights only), so runs on those checkpoints load it instead of fitting.",
    )
    p.add_argument("--task", required=True)
    p.add_argument(
        "--model",
        type=common.csv_list,
        default=["default"],
        help="zoo model(s), 'default' or 'all'",
    )
    p.add_argument(
        "--fits",
        action="store_true",
        help="fit every learned method that applies to the model(s) on the task's training "
        "split with its default options (seeded as `attrbench run --seed`), and save the fits "
        "beside the checkpoints (the shipped ones, or --out DIR's); no model is trained. "
        "A scrambler fit takes about 10-60 s at one thread",
    )
    p.add_argument(
        "--method",
        type=common.csv_list,
        default=None,
        help="with --fits: the learned methods to fit (default: every one that applies)",
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
    """Train each named model and print its test scores (``--fits``: fit its learned methods)."""
    from attrbench.cli import validate

    validate.seed(args.seed)
    validate.device(args.device)
    validate.names(args.model, "--model")
    if args.epochs is not None and args.epochs <= 0:
        raise validate.UsageError(f"--epochs {args.epochs}: must be an integer > 0")
    if args.method is not None and not args.fits:
        raise validate.UsageError("--method: only with --fits (training trains models)")
    data_options = common.data_options(args)

    import torch

    from attrbench.core.plugin import TASKS
    from attrbench.running.timing import resolve_device
    from attrbench.running.training import train_model

    task = TASKS.get(args.task)
    if args.model == ["default"]:
        names = [task.default_model]
    else:
        names = list(task.models) if args.model == ["all"] else args.model
    for name in names:
        task.model(name)
    if args.fits:
        return _fits(args, task, names, data_options)
    out = out_dir(args, task.checkpoint_dir)
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


def _fits(
    args: argparse.Namespace, task: Any, names: list[str], data_options: dict[str, Any]
) -> int:
    """``train --fits``: fit the learned methods of each model's checkpoint and save the fits
    beside it; print each fit's time, size and file."""
    from attrbench.cli.validate import UsageError, writable_dir
    from attrbench.core.plugin import NotApplicable
    from attrbench.running.fits import learned_methods, ship_fit
    from attrbench.running.timing import resolve_device
    from attrbench.running.training import load_model

    if args.out is None and args.data is not None:
        raise UsageError(
            f"--data {args.data}: give --out DIR (the checkpoints trained on it); "
            "the shipped fits belong to the task's own data"
        )
    folder = writable_dir(args.out or task.checkpoint_dir, "--out")
    device = resolve_device(args.device)
    try:
        methods = learned_methods(args.method)
    except ValueError as exc:
        raise UsageError(f"--method: {exc}") from None
    train = task.data("train", **data_options)
    for name in names:
        model = load_model(task, name, device, args.out, train.hash)
        for method in methods:
            try:
                reason = method.why_not(model)
                if reason:
                    raise NotApplicable(reason)
                fit = ship_fit(task, model, method, train, folder, args.seed, device)
            except NotApplicable as exc:
                print(f"{task.name}/{name} {method.name}: not applicable ({exc})")
                continue
            size = fit.path.stat().st_size / 1024
            print(
                f"{task.name}/{name} {method.name}: fitted in {fit.seconds:.1f} s "
                f"({size:.0f} KiB) -> {fit.path}"
            )
    return 0
