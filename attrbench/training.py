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

import torch
from torch import nn
from tqdm.auto import tqdm

from attrbench.data import Dataset
from attrbench.plugin import ModelSpec, Task
from attrbench.stats import classification_scores

__all__ = [
    "TrainConfig", "CheckpointError", "train_model", "save_checkpoint", "load_model",
    "predict", "checkpoint_path", "file_hash",
]


class CheckpointError(RuntimeError):
    """A checkpoint is missing or does not match its model or data."""


@dataclass(frozen=True)
class TrainConfig:
    """Seeded training with early stopping on the validation split.

    ``class_weights`` weights the loss by inverse class frequency (training split).
    """

    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 3
    class_weights: bool = False
    seed: int = 0


def predict(model: nn.Module, X: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Logits of ``model`` on ``X`` (N, A, L) in batches, on the model's device.

    Returns
    -------
    logits : torch.Tensor, shape=(N, T), on cpu
    """
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(X), batch_size):
            out.append(model(X[i : i + batch_size].to(device)).float().cpu())
    return torch.cat(out)


def _evaluate(model: nn.Module, ds: Dataset, n_classes: int) -> tuple[float, dict]:
    logits = predict(model, ds.X)
    loss = float(nn.functional.cross_entropy(logits, ds.y))
    return loss, classification_scores(ds.y, logits.argmax(1), n_classes)


def _class_weights(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    counts = torch.bincount(y, minlength=n_classes).float().clamp(min=1)
    return counts.sum() / (n_classes * counts)


def fit(
    model: nn.Module, train: Dataset, valid: Dataset, n_classes: int, config: TrainConfig,
    device: torch.device, progress: bool = True,
) -> list[dict]:
    """Train ``model`` in place with Adam; keep the weights of the best validation loss.

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
    best, best_loss, waited, history = None, float("inf"), 0, []
    bar = tqdm(range(config.epochs), desc="epochs", disable=not progress)
    for epoch in bar:
        model.train()
        order = torch.randperm(len(train), generator=gen)
        total = 0.0
        for i in range(0, len(order), config.batch_size):
            idx = order[i : i + config.batch_size]
            logits = model(train.X[idx].to(device))
            loss = nn.functional.cross_entropy(logits, train.y[idx].to(device), weight=weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        val_loss, scores = _evaluate(model, valid, n_classes)
        history.append({"epoch": epoch, "train_loss": total / len(train), "valid_loss": val_loss, **scores})
        bar.set_postfix(valid_loss=f"{val_loss:.4f}", acc=f"{scores['accuracy']:.3f}")
        if val_loss < best_loss - 1e-4:
            best, best_loss, waited = copy.deepcopy(model.state_dict()), val_loss, 0
        else:
            waited += 1
            if waited >= config.patience:
                break
    if best is not None:
        model.load_state_dict(best)
    model.eval()
    return history


def checkpoint_path(task: Task, model_name: str, directory: Path | None = None) -> Path:
    """Where the checkpoint of ``model_name`` lives (``task.checkpoint_dir`` by default)."""
    return Path(directory or task.checkpoint_dir) / f"{model_name}.pt"


def train_model(
    task: Task, model_name: str, seed: int = 0, device: str | torch.device = "cpu",
    out_dir: Path | None = None, progress: bool = True, data_options: dict | None = None,
    **overrides,
) -> Path:
    """Train a zoo model of ``task`` on its train split and save the checkpoint.

    ``overrides`` replace fields of the spec's training config (e.g. ``epochs``);
    ``data_options`` go to ``task.data`` (e.g. the ``path`` of a user's data file).

    Returns
    -------
    path : Path of the written checkpoint.
    """
    spec = task.model(model_name)
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
        "task": task.name, "task_version": task.version, "model": model_name,
        "config": spec.config, "train_config": asdict(config), "data_hash": train.hash,
        "test_hash": test.hash, "test_metrics": test_scores, "history": history,
        "train_seconds": seconds, "trained_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
    }
    return save_checkpoint(model, meta, checkpoint_path(task, model_name, out_dir))


def save_checkpoint(model: nn.Module, meta: dict, path: Path) -> Path:
    """Write ``{"state_dict": ..., **meta}`` atomically to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    torch.save({"state_dict": state, **meta}, tmp)
    tmp.replace(path)
    return path


def file_hash(path: Path) -> str:
    """sha256 of a file, first 16 hex digits."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def load_model(
    task: Task, model_name: str, device: str | torch.device = "cpu",
    directory: Path | None = None, train_hash: str | None = None,
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
    path = checkpoint_path(task, model_name, directory)
    if not path.is_file():
        raise CheckpointError(
            f"no checkpoint for {task.name}/{model_name} at {path}; "
            f"train one with `attrbench train --task {task.name} --model {model_name}`"
        )
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    _check(ckpt, task, spec, train_hash or task.data("train").hash, path)
    model = spec.build()
    model.load_state_dict(ckpt["state_dict"])
    model.zoo_name = model_name
    model.checkpoint_hash = file_hash(path)
    model.checkpoint = {k: v for k, v in ckpt.items() if k != "state_dict"}
    return model.to(device).eval()


def _check(ckpt: dict, task: Task, spec: ModelSpec, train_hash: str, path: Path) -> None:
    if ckpt.get("task") != task.name or ckpt.get("model") != spec.name:
        raise CheckpointError(f"{path} holds {ckpt.get('task')}/{ckpt.get('model')}, not {task.name}/{spec.name}")
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
            f"{train_hash}; retrain with `attrbench train --task {task.name} --model {spec.name}`"
        )
