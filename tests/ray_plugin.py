"""Plugins for ``tests/test_ray.py``, loaded as a ``--plugin`` file (so Ray workers load it too).

``utr5_kb``: utr5 with a resource ``counter`` whose factory appends a line to
``path`` each time it builds; ``counted``: a metric that reads it; ``scaled``:
saliency times a fitted scale, its ``fit`` appending a line to ``log``; ``flaky``:
raises on a chunk's first attempt (marker files in ``marks``), then gives saliency;
``broken``: always raises.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import types
from pathlib import Path

import torch

from attrbench.core.plugin import METHODS, TASKS, register_method, register_metric, register_task


def counter(path: str) -> types.SimpleNamespace:
    """A resource that records each build (one line per build, the builder's pid)."""
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    return types.SimpleNamespace(hash="counter-1", scale=1.0)


register_task(
    dataclasses.replace(TASKS.get("utr5"), name="utr5_kb", resources={"counter": counter})
)


@register_metric("counted", needs_resources=("counter",), higher_is_better=True)
def counted(ex) -> torch.Tensor:
    """Position-score sum per sequence, times the counter's scale."""
    return (ex.attributions * ex.X).sum((1, 2)) * ex.resources["counter"].scale


def _fit(model, train, background, generator, log: str = "", **_) -> dict:
    with open(log, "a") as f:
        f.write(f"{os.getpid()}\n")
    return {"scale": torch.tensor(2.0)}


@register_method("scaled", fit=_fit, defaults={"log": ""})
def scaled(model, X, target, mask, state=None, log: str = "") -> torch.Tensor:
    """Saliency times the fitted scale."""
    return METHODS.get("saliency")(model, X, target, mask) * state["scale"].to(X.device)


@register_method("flaky", defaults={"marks": ""})
def flaky(model, X, target, mask, marks: str = "") -> torch.Tensor:
    """Raises the first time it sees a batch (per ``marks`` folder), then gives saliency."""
    mark = Path(marks) / hashlib.sha256(X.cpu().numpy().tobytes()).hexdigest()
    if not mark.exists():
        mark.touch()
        raise RuntimeError("flaky first attempt")
    return METHODS.get("saliency")(model, X, target, mask)


@register_method("broken")
def broken(model, X, target, mask) -> torch.Tensor:
    """Always raises."""
    raise RuntimeError("boom")
