"""Training and shipped checkpoints of a task's model zoo.

A checkpoint is a plain ``torch.save`` dict (loadable with ``weights_only=True``):
the state dict, the model's config, the hash of the training split it was
trained on, the task version, the seed, training history and test metrics.
Loading refuses a checkpoint whose config or data hash does not match.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from attrbench.core.data import Dataset, content_hash
from attrbench.core.files import NotData, load_data
from attrbench.core.ops import batched_logits
from attrbench.core.plugin import ModelSpec, Task
from attrbench.reporting.stats import classification_scores
from attrbench.running.atomic import atomic_write

__all__ = [
    "TrainConfig",
    "CheckpointError",
    "train_model",
    "save_checkpoint",
    "load_model",
    "predict",
    "predict_dataset",
    "checkpoint_path",
    "file_hash",
    "batch_order",
    "fixed_subset",
    "subset_check",
    "SUBSET_N",
    "SUBSET_SEED",
]

#: Size and seed of the fixed test subset whose accuracy every checkpoint records.
SUBSET_N, SUBSET_SEED = 200, 0


class CheckpointError(RuntimeError):
    """A checkpoint is missing or does not match its model or data."""


@dataclass(frozen=True)
class TrainConfig:
    """Seeded training with early stopping on the validation split.

    ``class_weights`` weights the loss by inverse class frequency of the training
    split, on the training *and* the validation split, so early stopping and the
    choice of the kept weights follow the objective being trained (an unweighted
    validation loss rewards predicting the majority class and stops too early).
    ``lr_decay`` multiplies the learning rate after each epoch that does not
    improve the validation loss. ``length_buckets`` draws each batch from
    sequences of similar length (sorted by length with random tie-breaks, batch
    order shuffled), which saves the padding cost of models that truncate a
    batch to its longest sequence.
    """

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    class_weights: bool = False
    lr_decay: float = 1.0
    length_buckets: bool = False
    clip_norm: float | None = None
    select: str = "loss"
    seed: int = 0


def predict(model: nn.Module, X: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Logits of ``model`` on ``X`` (N, A, L) in batches, on the model's device.

    Returns
    -------
    logits : torch.Tensor, shape=(N, T), on cpu
    """
    return batched_logits(model, X.cpu(), batch_size).float()


def predict_dataset(model: nn.Module, ds: Dataset, batch_size: int = 256) -> torch.Tensor:
    """Logits (N, T) of ``model`` on every sequence of ``ds``, one-hot built per batch; on cpu."""
    parts = [predict(model, X, batch_size) for _, X in ds.batches(batch_size)]
    return torch.cat(parts) if parts else torch.zeros(0, 0)


def _evaluate(
    model: nn.Module, ds: Dataset, n_classes: int, weight: torch.Tensor | None = None
) -> tuple[float, dict[str, Any]]:
    """The (class-weighted) cross-entropy and classification scores of ``model`` on ``ds``."""
    logits = predict_dataset(model, ds)
    w = None if weight is None else weight.cpu()
    loss = float(nn.functional.cross_entropy(logits, ds.y, weight=w))
    return loss, classification_scores(ds.y, logits.argmax(1), n_classes)


def _class_weights(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Inverse class frequencies (T,), scaled so a balanced set has weight 1 everywhere."""
    counts = torch.bincount(y, minlength=n_classes).float().clamp(min=1)
    return counts.sum() / (n_classes * counts)


def batch_order(
    lengths: torch.Tensor, batch_size: int, generator: torch.Generator, buckets: bool
) -> list[torch.Tensor]:
    """The index batches of one epoch.

    Without ``buckets`` a random permutation cut into batches; with ``buckets``
    the sequences sorted by length (ties broken at random) cut into batches, in
    random batch order, so each batch holds sequences of similar length.

    Parameters
    ----------
    lengths : torch.Tensor, shape=(N,)
    """
    n = len(lengths)
    if not buckets:
        order = torch.randperm(n, generator=generator)
        return list(order.split(batch_size))
    jitter = torch.rand(n, generator=generator, dtype=torch.float64)
    order = torch.argsort(lengths.double() + jitter)
    batches = list(order.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def fit(
    model: nn.Module,
    train: Dataset,
    valid: Dataset,
    n_classes: int,
    config: TrainConfig,
    device: torch.device,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train ``model`` in place with Adam; keep the weights of the best validation epoch.

    "Best" is the lowest validation loss or the highest validation accuracy
    (``config.select``).
    The validation loss is class-weighted like the training loss when
    ``config.class_weights`` is set.

    Returns
    -------
    history : list of dict
        One entry per epoch: train loss, validation loss and scores.
    """
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)  # dropout inside modules draws from the global RNG
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    weight = _class_weights(train.y, n_classes).to(device) if config.class_weights else None
    lengths = train.mask.sum(1)
    best, best_score, waited, history = None, float("-inf"), 0, []
    bar = tqdm(range(config.epochs), desc="epochs", disable=not progress)
    for epoch in bar:
        model.train()
        total = 0.0
        for idx in batch_order(lengths, config.batch_size, gen, config.length_buckets):
            logits = model(train.onehot(idx).to(device))
            loss = nn.functional.cross_entropy(logits, train.y[idx].to(device), weight=weight)
            opt.zero_grad()
            loss.backward()
            if config.clip_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        val_loss, scores = _evaluate(model, valid, n_classes, weight)
        history.append(
            {
                "epoch": epoch,
                "train_loss": total / len(train),
                "valid_loss": val_loss,
                "lr": opt.param_groups[0]["lr"],
                **scores,
            }
        )
        bar.set_postfix(
            valid_loss=f"{val_loss:.4f}",
            acc=f"{scores['accuracy']:.3f}",
            f1_macro=f"{scores['f1_macro']:.3f}",
        )
        score = scores["accuracy"] if config.select == "accuracy" else -val_loss
        if score > best_score + 1e-4:
            best, best_score, waited = copy.deepcopy(model.state_dict()), score, 0
        else:
            waited += 1
            if waited >= config.patience:
                break
            for group in opt.param_groups:
                group["lr"] *= config.lr_decay
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return history


def fixed_subset(test: Dataset, n: int = SUBSET_N, seed: int = SUBSET_SEED) -> Dataset:
    """``n`` sequences of ``test`` drawn by ``seed``, in their original order."""
    perm = torch.randperm(len(test), generator=torch.Generator().manual_seed(seed))
    return test.subset(perm[:n].sort().values)


def subset_check(model: nn.Module, test: Dataset) -> dict[str, Any]:
    """The accuracy of ``model`` on :func:`fixed_subset` of ``test``, with what identifies the subset.

    Stored in every checkpoint (key ``subset_check``); loading the shipped
    checkpoint must reproduce it exactly, so a retrained or swapped checkpoint
    without a new record is caught.

    Returns
    -------
    check : dict
        ``n``, ``seed``, ``ids_hash`` (hash of the subset's ids) and ``accuracy``.
    """
    from attrbench.core.data import content_hash

    sub = fixed_subset(test)
    accuracy = float((predict(model, sub.X).argmax(1) == sub.y).float().mean())
    return {
        "n": len(sub),
        "seed": SUBSET_SEED,
        "ids_hash": content_hash("\n".join(sub.ids)),
        "accuracy": accuracy,
    }


def checkpoint_path(task: Task, model_name: str, directory: Path | None = None) -> Path:
    """Where the checkpoint of ``model_name`` lives (``task.checkpoint_dir`` by default)."""
    return Path(directory or task.checkpoint_dir) / f"{model_name}.pt"


def train_model(
    task: Task,
    model_name: str,
    seed: int = 0,
    device: str | torch.device = "cpu",
    out_dir: Path | None = None,
    progress: bool = True,
    data_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> Path:
    """Train a zoo model of ``task`` on its train split and save the checkpoint.

    ``overrides`` replace fields of the spec's training config (e.g. ``epochs``);
    ``data_options`` go to ``task.data`` (e.g. the ``path`` of a user's data file).

    Returns
    -------
    path : Path of the written checkpoint.
    """
    spec = task.model(model_name)
    if not spec.trained:
        raise ValueError(f"{task.name}/{model_name} is built from its parameters, not trained")
    config = TrainConfig(**{**spec.config.get("train", {}), **overrides, "seed": seed})
    train, valid, test = (task.data(s, **(data_options or {})) for s in ("train", "valid", "test"))
    torch.manual_seed(seed)
    model = spec.build()
    start = time.perf_counter()
    history = fit(model, train, valid, len(task.classes), config, torch.device(device), progress)
    seconds = time.perf_counter() - start
    model.cpu()
    _, test_scores = _evaluate(model, test, len(task.classes))
    meta = {
        "task": task.name,
        "task_version": task.version,
        "model": model_name,
        "config": spec.config,
        "train_config": asdict(config),
        "data_hash": train.hash,
        "test_hash": test.hash,
        "test_metrics": test_scores,
        "history": history,
        "subset_check": subset_check(model, test),
        "train_seconds": seconds,
        "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
    }
    return save_checkpoint(model, meta, checkpoint_path(task, model_name, out_dir))


def save_checkpoint(model: nn.Module, meta: dict[str, Any], path: Path) -> Path:
    """Write ``{"state_dict": ..., **meta}`` atomically to ``path``."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return atomic_write(path, lambda f: torch.save({"state_dict": state, **meta}, f), binary=True)


def file_hash(path: Path) -> str:
    """sha256 of a file, first 16 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def load_model(
    task: Task,
    model_name: str,
    device: str | torch.device = "cpu",
    directory: Path | None = None,
    train_hash: str | None = None,
) -> nn.Module:
    """Build zoo model ``model_name`` and load its checkpoint, in eval mode.

    Refuses (:class:`CheckpointError`) a checkpoint whose config, task or
    training-data hash differs from the current ones. ``train_hash`` avoids
    recomputing the training split when the caller has it.

    Returns
    -------
    model : nn.Module with attributes ``zoo_name``, ``checkpoint_hash``, ``checkpoint``
    """
    spec: ModelSpec = task.model(model_name)
    if not spec.trained:
        return _built_model(spec, device)
    path = checkpoint_path(task, model_name, directory)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint for {task.name}/{model_name} at {path}; "
            f"train one with `attrbench train --task {task.name} --model {model_name}`"
        )
    ckpt = read_checkpoint(path, task, model_name)
    _check(ckpt, task, spec, train_hash or task.data("train").hash, path)
    model = spec.build()
    model.load_state_dict(ckpt["state_dict"])
    checkpoint = {k: v for k, v in ckpt.items() if k != "state_dict"}
    _tag(model, model_name, file_hash(path), checkpoint)
    return model.to(device).eval()


def read_checkpoint(path: Path, task: Task, model_name: str) -> dict[str, Any]:
    """The checkpoint dict at ``path``, read as data only (``weights_only=True``: never code).

    Raises
    ------
    CheckpointError
        One line naming the file and what to do, if it is truncated, planted or not a
        checkpoint.
    """
    try:
        ckpt = load_data(path)
    except NotData as exc:
        raise CheckpointError(
            f"checkpoint {path} cannot be read as data ({str(exc)[:160]}); replace it: retrain with "
            f"`attrbench train --task {task.name} --model {model_name}` or restore the shipped file"
        ) from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(
            f"checkpoint {path} is not an attrbench checkpoint (no state_dict); "
            f"retrain with `attrbench train --task {task.name} --model {model_name}`"
        )
    return ckpt


def _built_model(spec: ModelSpec, device: str | torch.device) -> nn.Module:
    """A zoo model whose ``build()`` sets its weights (``spec.trained`` False), in eval mode."""
    model = spec.build()
    state = model.state_dict()
    checkpoint_hash = content_hash(*(f"{k}" for k in state), *state.values())
    _tag(
        model,
        spec.name,
        checkpoint_hash,
        {"model": spec.name, "config": spec.config, "built": True},
    )
    return model.to(device).eval()


def _tag(model: nn.Module, zoo_name: str, checkpoint_hash: str, checkpoint: dict[str, Any]) -> None:
    """Set the attributes that name a zoo model in records and fits: ``zoo_name``,
    ``checkpoint_hash`` and ``checkpoint`` (its metadata).

    ``setattr`` because ``nn.Module.__setattr__`` is typed for tensors and modules only.
    """
    for name, value in (
        ("zoo_name", zoo_name),
        ("checkpoint_hash", checkpoint_hash),
        ("checkpoint", checkpoint),
    ):
        setattr(model, name, value)


def _check(ckpt: dict[str, Any], task: Task, spec: ModelSpec, train_hash: str, path: Path) -> None:
    if ckpt.get("task") != task.name or ckpt.get("model") != spec.name:
        raise CheckpointError(
            f"{path} holds {ckpt.get('task')}/{ckpt.get('model')}, not {task.name}/{spec.name}"
        )
    if ckpt.get("task_version") != task.version:
        raise CheckpointError(
            f"{path} was trained for {task.name} version {ckpt.get('task_version')}, the task is "
            f"version {task.version}; retrain with `attrbench train --task {task.name} --model {spec.name}`"
        )
    if ckpt.get("config") != spec.config:
        raise CheckpointError(
            f"{path}: its config {ckpt.get('config')} does not match the zoo's {spec.config}; retrain it"
        )
    if ckpt.get("data_hash") != train_hash:
        raise CheckpointError(
            f"{path} was trained on data {ckpt.get('data_hash')}, the task's training split is "
            f"{train_hash}; train it on that data with `attrbench train --task {task.name} --model "
            f"{spec.name} {_data_flags(task)} --out DIR` and run with `{_data_flags(task)} "
            "--checkpoints DIR`"
        )


def _data_flags(task: Task) -> str:
    """The command-line flags of the task's own-data options, e.g. ``--fasta PATH --gff PATH``."""
    import inspect

    params = inspect.signature(task.data).parameters
    flags = [
        f"--{flag} PATH"
        for opt, flag in (("path", "data"), ("fasta", "fasta"), ("gff", "gff"))
        if opt in params
    ]
    return " ".join(flags) or "--data PATH"
