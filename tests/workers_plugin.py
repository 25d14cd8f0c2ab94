"""A plugin file for ``tests/test_workers.py`` (worker processes load it too): ``set_spread``,
a cheap set-level metric, so that a run with workers splits cells with set-level metrics, and
``always_fails``, a metric that raises."""

from __future__ import annotations

import torch

from attrbench.core.plugin import register_metric


@register_metric("set_spread", set_level=True, higher_is_better=True)
def set_spread(ex) -> torch.Tensor:
    """Row 0: the standard deviation of the position-score sums over the whole scored set;
    the other rows NaN (the set-level convention)."""
    total = (ex.attributions * ex.X).sum((1, 2)).double()
    out = torch.full((len(total),), float("nan"), dtype=torch.float64)
    out[0] = total.std()
    return out


@register_metric("always_fails", higher_is_better=True)
def always_fails(ex) -> torch.Tensor:
    """Raises: the worker logs the failure, the driver shows the line."""
    raise RuntimeError("metric broke in a worker")
