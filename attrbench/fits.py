"""Fitted states of learned methods (e.g. scramblers): one fit per (task, model, fit options).

A fit is saved under ``<results>/fits/<task>/<model>/<method>-<digest>.pt``, the
digest covering the task (name, version, training split), the checkpoint, the
method and its fit options (:meth:`attrbench.plugin.Method.fit_options`: options
that matter only when explaining are left out). ``attrbench run`` and
``attrbench bench`` with the same results directory therefore share one fit;
a new checkpoint or new fit options fit again. The file also holds the seconds
the fit took, so a reused fit still reports its cost.

A fit file is data: it holds only tensors and plain containers (dicts, lists,
numbers, texts) and is read with ``torch.load(..., weights_only=True)``, so a
planted file cannot run code. A file that does not load (truncated, planted, not
a fit) is named in a warning, deleted and fitted again. Two runs that need one fit
take its lock (:mod:`attrbench.locks`): the second waits and reuses the file.
"""

from __future__ import annotations

import logging
import pickle
import sys
import zipfile
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn
from tqdm.auto import tqdm

from attrbench.atomic import atomic_write, inside
from attrbench.data import Background, Dataset, content_hash
from attrbench.locks import FileLock
from attrbench.plan import seed_of
from attrbench.plugin import Method, Task
from attrbench.timing import measure

__all__ = ["fit_file", "fit_state", "ensure_fit", "load_fit", "BadFit"]

log = logging.getLogger("attrbench")


class BadFit(ValueError):
    """A fit file that does not hold a fit this version saved (the message names the file)."""


def fit_file(
    root: Path,
    task: Task,
    train: Dataset,
    model: nn.Module,
    method: Method,
    options: dict[str, Any],
) -> Path:
    """Where the fit of ``method`` (with ``options``) for ``model`` is saved under ``root``.

    ``model`` is a zoo model (``zoo_name``, ``checkpoint_hash``).
    """
    fit_options = method.fit_options(options)
    digest = content_hash(
        task.name,
        task.version,
        train.hash,
        str(model.checkpoint_hash),
        method.name,
        repr(sorted(fit_options.items())),
    )
    return inside(
        root, Path(root) / "fits" / task.name / str(model.zoo_name) / f"{method.name}-{digest}.pt"
    )


def fit_state(
    model: nn.Module,
    method: Method,
    options: dict[str, Any],
    train: Dataset,
    background: Background | None,
    seed: int,
    task: str,
    device: torch.device | str = "cpu",
) -> tuple[Any, float]:
    """Fit ``method`` to ``model`` on ``train`` now: ``(state, seconds)``.

    The generator is seeded with ``seed_of(seed, task, model.zoo_name, method.name)``,
    as in ``attrbench run``.
    """
    name = getattr(model, "zoo_name", type(model).__name__)
    gen = torch.Generator().manual_seed(seed_of(seed, task, name, method.name))
    assert method.fit is not None, f"{method.name} has no fit"
    with measure(device) as timing:
        state = method.fit(
            model, train, background=background, generator=gen, **method.fit_options(options)
        )
    return state, timing.seconds


def ensure_fit(
    root: Path,
    task: Task,
    model: nn.Module,
    method: Method,
    options: dict[str, Any],
    train: Dataset,
    background: Background | None,
    seed: int,
    device: torch.device | str = "cpu",
    force: bool = False,
) -> tuple[Path, float]:
    """The saved fit of ``method`` for ``model``, fitted and saved first unless it exists.

    Returns
    -------
    path, seconds : the file (:func:`fit_file`) and the time its fit took.
    """
    path = fit_file(root, task, train, model, method, options)
    with FileLock(path.with_name(path.name + ".lock")):
        if path.is_file() and not force:
            seconds = _saved_seconds(path)
            if seconds is not None:
                return path, seconds
        state, seconds = fit_state(
            model, method, options, train, background, seed, task.name, device
        )
        atomic_write(
            path, lambda f: torch.save({"state": state, "seconds": seconds}, f), binary=True
        )
    tqdm.write(
        f"fitted {method.name} for {model.zoo_name} in {seconds:.1f} s "
        "(amortised over the explained sequences in its cost)",
        file=sys.stderr,
    )
    return path, seconds


def _saved_seconds(path: Path) -> float | None:
    """The fit seconds saved in ``path``; None (the file named and deleted) if it is no fit."""
    try:
        return float(_load(path, "cpu")["seconds"])
    except BadFit as exc:
        log.warning("%s; deleting it and fitting again", exc)
        path.unlink(missing_ok=True)
        return None


def _load(path: Path | str | IO[bytes], device: torch.device | str) -> dict[str, Any]:
    """The saved dict at ``path``, read as data only; :class:`BadFit` if it is not a fit."""
    try:
        saved = torch.load(path, map_location=device, weights_only=True)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        OSError,
        zipfile.BadZipFile,
        ValueError,
        AttributeError,
        TypeError,
    ) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadFit(f"fit file {path} cannot be read as data ({first})") from None
    if not isinstance(saved, dict) or "state" not in saved or "seconds" not in saved:
        raise BadFit(f"fit file {path} is not a fit (no state and seconds)")
    return saved


def load_fit(path: Path | str | IO[bytes], device: torch.device | str = "cpu") -> Any:
    """The state saved at ``path`` (a file or its bytes) by :func:`ensure_fit`.

    Raises
    ------
    BadFit
        If the file does not hold a fit (loaded with ``weights_only=True``: never code).
    """
    return _load(path, device)["state"]
