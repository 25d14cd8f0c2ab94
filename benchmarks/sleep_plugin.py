"""A plugin file for ``benchmarks/test_bench_ray.py``: ``sleep``, a method that waits
``seconds`` per batch (zero attributions), so a plan of its chunks is bound by waiting,
not by this machine's CPUs."""

from __future__ import annotations

import time

import torch

from attrbench.core.plugin import register_method


@register_method("sleep", defaults={"seconds": 0.25})
def sleep(model, X, target, mask, seconds: float = 0.25) -> torch.Tensor:
    """Waits ``seconds``, then attributes nothing."""
    time.sleep(seconds)
    return torch.zeros_like(X)
