"""Helpers shared by the metric modules: ranking, position scores and batched forwards."""

from __future__ import annotations

import math

import torch
from torch import nn

from attrbench.core import ops
from attrbench.core.plugin import Explanation

__all__ = [
    "top_k_mask",
    "n_top",
    "position_scores_of",
    "ranked_scores",
    "predict_logits",
    "nan_where",
]


def top_k_mask(scores: torch.Tensor, mask: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The ``k[i]`` highest-scoring real positions of each sequence.

    Ties are broken deterministically: among equal scores the lower position
    ranks first (a stable descending sort). Padding never enters the top, even
    when ``k[i]`` exceeds the number of real positions.

    Parameters
    ----------
    scores : torch.Tensor, shape=(N, L)
    mask : torch.Tensor, shape=(N, L), bool
        True on real positions.
    k : torch.Tensor, shape=(N,), int64
        How many positions to select in each sequence.

    Returns
    -------
    top : torch.Tensor, shape=(N, L), bool
    """
    N, L = scores.shape
    s = scores.masked_fill(~mask, float("-inf"))
    order = torch.sort(s, dim=1, descending=True, stable=True).indices
    positions = torch.arange(L, device=scores.device).expand(N, L)
    rank = torch.empty_like(order).scatter_(1, order, positions)
    return (rank < k.to(scores.device)[:, None]) & mask


def n_top(fraction: float, n_real: torch.Tensor) -> torch.Tensor:
    """``ceil(fraction * n_real)`` per sequence, robust to float round-off.

    ``0.1 * 30`` is ``3.0000000000000004`` in floating point; a tolerance of
    1e-9 keeps its ceiling at 3.

    Parameters
    ----------
    fraction : float
    n_real : torch.Tensor, shape=(N,), int64

    Returns
    -------
    k : torch.Tensor, shape=(N,), int64
    """
    return torch.ceil(n_real.double() * fraction - 1e-9).clamp_min(0).long()


def position_scores_of(
    ex: Explanation, attributions: torch.Tensor, X: torch.Tensor
) -> torch.Tensor:
    """Position scores (N, L) of ``attributions`` for inputs ``X``, as :attr:`Explanation.scores`.

    Parameters
    ----------
    attributions, X : torch.Tensor, shape=(N, A, L)

    Returns
    -------
    scores : torch.Tensor, shape=(N, L)
    """
    return ex.method.position_scores(attributions, X)


def ranked_scores(ex: Explanation, absolute: bool) -> torch.Tensor:
    """The position scores (N, L) used for ranking: signed, or their absolute value."""
    scores = ex.scores.to(ex.device)
    return scores.abs() if absolute else scores


def predict_logits(model: nn.Module, X: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Logits (N, T) of ``model`` on ``X`` (N, A, L) in batches, as float64 (see :func:`attrbench.core.ops.batched_logits`)."""
    return ops.batched_logits(model, X, batch_size).double()


def nan_where(values: torch.Tensor, invalid: torch.Tensor) -> torch.Tensor:
    """``values`` with NaN where ``invalid`` is True."""
    return values.masked_fill(invalid, math.nan)
