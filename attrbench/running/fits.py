"""Fitted states of learned methods (e.g. scramblers): one fit per (task, model, fit options).

A fit is keyed by :class:`FitKey`: the task (name, version, training split), the
model (zoo name, checkpoint hash), the method and its fit options
(:meth:`attrbench.core.plugin.Method.fit_options`: options that matter only when
explaining are left out). When a run needs a fit it looks, in order:

1. **shipped**: ``<checkpoints>/fits/<model>/<method>-<digest>.pt`` beside the
   checkpoints the run loads (the package's own, or ``--checkpoints DIR``),
   written by ``attrbench train --fits``;
2. **cache**: ``<fits dir>/<task>/<model>/<method>-<digest>.pt`` in the user's
   cache (:func:`fits_dir`: ``$ATTRBENCH_FITS``, else ``$ATTRBENCH_CACHE/fits``,
   else ``platformdirs.user_cache_dir("attrbench")/fits``), shared by every
   results folder, ``run``, ``bench`` and ``explain``;
3. **fit now** and save it in the cache.

A new checkpoint or new fit options give another key, so another fit. The file
also holds the seconds its fit took (measured when it was fitted, for a shipped
fit by ``attrbench train``), so a reused fit still reports its cost.

A fit file is data: tensors and plain containers (dicts, lists, numbers, texts)
read with ``torch.load(..., weights_only=True)``, so a planted file cannot run
code. It names its key in ``meta``; a file that does not load, is not a fit or was
fitted for another key is never used: a shipped one is named in a warning and
passed over, a cached one is named, deleted and fitted again. Two runs that need
one fit take its lock (:mod:`attrbench.running.locks`): the second waits and reuses the file.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import IO, Any, NamedTuple

import torch
from torch import nn
from tqdm.auto import tqdm

from attrbench.core.data import Background, Dataset, content_hash
from attrbench.core.files import NotData, load_data
from attrbench.core.plugin import Method, Task
from attrbench.running.atomic import atomic_write, inside
from attrbench.running.locks import FileLock
from attrbench.running.plan import seed_of
from attrbench.running.timing import measure

__all__ = [
    "FITS_ENV",
    "SHIPPED_FOLDER",
    "FitKey",
    "Fit",
    "BadFit",
    "fit_key",
    "fits_dir",
    "shipped_file",
    "cache_file",
    "fit_state",
    "save_fit",
    "ensure_fit",
    "read_fit",
    "load_fit",
    "training_background",
    "learned_methods",
    "ship_fit",
]

log = logging.getLogger("attrbench")

#: Environment variable naming the folder of cached fits (overrides the user's cache).
FITS_ENV = "ATTRBENCH_FITS"
#: Folder beside a task's checkpoints holding its shipped fits.
SHIPPED_FOLDER = "fits"


class BadFit(ValueError):
    """A fit file that does not hold the fit asked for (the message names the file and why)."""


@dataclasses.dataclass(frozen=True)
class FitKey:
    """What a fit depends on; its :attr:`digest` names the fit's file.

    ``options`` is the text of the sorted fit options (``repr`` of their items).
    """

    task: str
    task_version: str
    train_hash: str
    model: str
    checkpoint_hash: str
    method: str
    options: str

    @property
    def digest(self) -> str:
        """Content hash of the key (16 hex digits)."""
        return content_hash(
            self.task,
            self.task_version,
            self.train_hash,
            self.checkpoint_hash,
            self.method,
            self.options,
        )

    @property
    def name(self) -> Path:
        """The fit's file relative to a fits folder: ``<model>/<method>-<digest>.pt``."""
        return Path(self.model) / f"{self.method}-{self.digest}.pt"

    def fields(self) -> dict[str, str]:
        """The key as a dict of texts (saved as the file's ``meta`` and compared on load)."""
        return {k: str(v) for k, v in dataclasses.asdict(self).items()}


class Fit(NamedTuple):
    """A fit found or made: its file, the seconds its fit took, and where it came from
    (``"shipped"`` or ``"cache"``)."""

    path: Path
    seconds: float
    source: str


def fit_key(
    task: Task, train: Dataset, model: nn.Module, method: Method, options: dict[str, Any]
) -> FitKey:
    """The :class:`FitKey` of ``method`` (run with ``options``) on zoo model ``model``."""
    return FitKey(
        task.name,
        str(task.version),
        train.hash,
        str(model.zoo_name),
        str(model.checkpoint_hash),
        method.name,
        repr(sorted(method.fit_options(options).items())),
    )


def fits_dir() -> Path:
    """The folder of cached fits: ``$ATTRBENCH_FITS``, else ``$ATTRBENCH_CACHE/fits``, else
    ``platformdirs.user_cache_dir("attrbench")/fits``."""
    if os.environ.get(FITS_ENV):
        return Path(os.environ[FITS_ENV])
    root = os.environ.get("ATTRBENCH_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("attrbench")
    return Path(root) / "fits"


def shipped_file(key: FitKey, checkpoint_dir: Path) -> Path:
    """Where the fit of ``key`` is shipped beside the checkpoints in ``checkpoint_dir``."""
    folder = Path(checkpoint_dir) / SHIPPED_FOLDER
    return inside(folder, folder / key.name)


def cache_file(key: FitKey) -> Path:
    """Where the fit of ``key`` is cached: ``<fits_dir()>/<task>/<model>/<method>-<digest>.pt``."""
    root = fits_dir()
    return inside(root, root / key.task / key.name)


def training_background(task: Task, train: Dataset) -> Background:
    """The background a task's learned methods are fitted and run with (from its training split)."""
    return task.background(train) if task.background else Background.from_codes(train)


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


def save_fit(path: Path, key: FitKey, state: Any, seconds: float, seed: int) -> Path:
    """Write a fit file at ``path`` (atomically): ``state``, ``seconds`` and ``meta``.

    ``meta`` holds the key (:meth:`FitKey.fields`), the seed, the torch version and
    the threads torch used, so the file says what it is and how its time was measured.
    """
    meta = {
        **key.fields(),
        "seed": int(seed),
        "torch": str(torch.__version__),
        "threads": torch.get_num_threads(),
    }
    payload = {"state": state, "seconds": float(seconds), "meta": meta}
    atomic_write(path, lambda f: torch.save(payload, f), binary=True)
    return path


def ensure_fit(
    task: Task,
    model: nn.Module,
    method: Method,
    options: dict[str, Any],
    train: Dataset,
    background: Background | None,
    seed: int,
    device: torch.device | str = "cpu",
    checkpoint_dir: Path | None = None,
) -> Fit:
    """The fit of ``method`` for ``model``: shipped, else cached, else fitted now and cached.

    Parameters
    ----------
    checkpoint_dir : Path, optional
        The folder the model's checkpoint was loaded from (default ``task.checkpoint_dir``);
        its ``fits/`` folder holds the shipped fits.

    Returns
    -------
    fit : Fit
    """
    key = fit_key(task, train, model, method, options)
    folder = checkpoint_dir or getattr(task, "checkpoint_dir", None)
    if folder is not None:
        shipped = shipped_file(key, folder)
        if shipped.is_file():
            try:
                return Fit(shipped, read_fit(shipped, key), "shipped")
            except BadFit as exc:
                log.warning("%s; not using it", exc)
    path = cache_file(key)
    with FileLock(path.with_name(path.name + ".lock")):
        if path.is_file():
            try:
                return Fit(path, read_fit(path, key), "cache")
            except BadFit as exc:
                log.warning("%s; deleting it and fitting again", exc)
                path.unlink(missing_ok=True)
        state, seconds = fit_state(
            model, method, options, train, background, seed, task.name, device
        )
        save_fit(path, key, state, seconds, seed)
    tqdm.write(
        f"fitted {method.name} for {model.zoo_name} in {seconds:.1f} s, saved in {path} "
        "(amortised over the explained sequences in its cost)",
        file=sys.stderr,
    )
    return Fit(path, seconds, "cache")


def read_fit(path: Path, key: FitKey | None = None) -> float:
    """The seconds of the fit saved at ``path``, after checking it is the fit of ``key``.

    Raises
    ------
    BadFit
        If the file is not a fit read as data, or its ``meta`` names another key.
    """
    saved = _load(path, "cpu")
    if key is not None:
        meta = saved.get("meta")
        if not isinstance(meta, dict):
            raise BadFit(f"fit file {path} does not say what it was fitted for (no meta)")
        for field, want in key.fields().items():
            if meta.get(field) != want:
                raise BadFit(
                    f"fit file {path} was fitted for {field} {meta.get(field)!r}, "
                    f"not {want!r} (a mismatched fit)"
                )
    return float(saved["seconds"])


def _load(path: Path | str | IO[bytes], device: torch.device | str) -> dict[str, Any]:
    """The saved dict at ``path``, read as data only; :class:`BadFit` if it is not a fit."""
    try:
        saved = load_data(path, device)
    except NotData as exc:
        raise BadFit(f"fit file {path} cannot be read as data ({exc})") from None
    if not isinstance(saved, dict) or "state" not in saved or "seconds" not in saved:
        raise BadFit(f"fit file {path} is not a fit (no state and seconds)")
    return saved


def load_fit(path: Path | IO[bytes], device: torch.device | str = "cpu") -> Any:
    """The state saved at ``path`` (a file or its bytes) by :func:`save_fit`.

    Raises
    ------
    BadFit
        If the file does not hold a fit (loaded with ``weights_only=True``: never code).
    """
    return _load(path, device)["state"]


def learned_methods(names: list[str] | None = None) -> list[Method]:
    """The registered methods that fit (``Method.fit``), in registry order; ``names`` picks
    some (an unknown name raises with close names, a method that does not fit ValueError)."""
    from attrbench.core.plugin import METHODS

    if names is None:
        return [m for m in (METHODS.get(n) for n in METHODS.names()) if m.fit is not None]
    chosen = [METHODS.get(n) for n in names]
    plain = [m.name for m in chosen if m.fit is None]
    if plain:
        raise ValueError(f"{', '.join(plain)}: not a learned method (nothing to fit)")
    return chosen


def ship_fit(
    task: Task,
    model: nn.Module,
    method: Method,
    train: Dataset,
    checkpoint_dir: Path,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Fit:
    """Fit ``method`` (with the task's default options) to ``model`` now and save it beside
    the checkpoints in ``checkpoint_dir`` (:func:`shipped_file`), as ``attrbench train --fits``.

    The fit is seeded as ``attrbench run --seed seed`` fits it, so a run finds this file
    instead of fitting (same key) and gets the same state.
    """
    from attrbench.running.calling import resolve_method_options

    options = resolve_method_options(task, method)
    key = fit_key(task, train, model, method, options)
    background = training_background(task, train)
    state, seconds = fit_state(model, method, options, train, background, seed, task.name, device)
    path = save_fit(shipped_file(key, checkpoint_dir), key, state, seconds, seed)
    return Fit(path, seconds, "shipped")
