"""Sequence operations, each defined once: batched logits and shifting the real part.

Every method, metric and task that needs one of these calls it from here.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "MAX_POSITIONS",
    "rows_per_pass",
    "batched_logits",
    "shift_index",
    "shift_real",
    "window_means",
]


#: At most this many positions (rows x L) go through a model in one pass. A psl batch of 256
#: sequences x 1000 positions holds about 400 MB of BiLSTM and attention activations without
#: gradients; integrated gradients' 512 rows with gradients peaked at 1.63 GB, 64 rows at
#: 0.70 GB and ran 15% faster (smaller passes stay in cache). 16 rows (16,384 positions) took
#: IG on 32 psl sequences from +425 MB to +215 MB above the process at the same CPU time, and the
#: KL and shift metrics from 0.60-0.67 GB to 0.48-0.50 GB peak, 5-15% faster.
MAX_POSITIONS = 16384


def rows_per_pass(X: torch.Tensor, batch_size: int | None) -> int:
    """Rows of ``X`` (N, ..., L) per model pass: ``batch_size`` (None: all N), capped so a
    pass holds at most :data:`MAX_POSITIONS` positions, and at least one row."""
    return max(min(batch_size or X.shape[0], MAX_POSITIONS // max(X.shape[-1], 1)), 1)


@torch.no_grad()
def batched_logits(model: nn.Module, X: torch.Tensor, batch_size: int | None = 256) -> torch.Tensor:
    """Logits of ``model`` on ``X`` in batches of ``batch_size`` rows, without gradients.

    Each batch is moved to the model's device (that of ``X`` for a model without
    parameters); the result is on the device of ``X``, in the model's output dtype.
    A batch holds at most :data:`MAX_POSITIONS` positions (at least one row).

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
    batch_size : int, optional
        None: all rows at once (within :data:`MAX_POSITIONS`).

    Returns
    -------
    logits : torch.Tensor, shape=(N, T)
    """
    device = next(model.parameters(), X).device
    size = rows_per_pass(X, batch_size)
    out = [model(X[i : i + size].to(device)).to(X.device) for i in range(0, X.shape[0], size)]
    return torch.cat(out) if out else torch.zeros(0, 0, device=X.device)


def shift_index(
    mask: torch.Tensor, s: int, circular: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each position, the position ``s`` real positions before it, within the real part.

    ``X.gather(2, index)`` shifts the real part of ``X`` right by ``s`` (left
    when ``s < 0``): real position of rank r takes the letter of rank ``r - s``.

    Parameters
    ----------
    mask : torch.Tensor, shape=(N, L), bool
    s : int
    circular : bool
        Ranks wrap around the real length instead of falling off.

    Returns
    -------
    index : torch.Tensor, shape=(N, L), int64
    valid : torch.Tensor, shape=(N, L), bool
        Real positions whose source rank exists (all real positions when circular).
    """
    N, L = mask.shape
    positions = torch.arange(L, device=mask.device).expand(N, L)
    rank = mask.long().cumsum(1) - 1
    n_real = mask.sum(1, keepdim=True)
    order_key = torch.where(mask, rank, L + positions)
    position_of_rank = torch.sort(order_key, dim=1, stable=True).indices
    source = rank - s
    if circular:
        source = torch.remainder(source, n_real.clamp_min(1))
    valid = mask & (source >= 0) & (source < n_real)
    index = position_of_rank.gather(1, source.clamp(0, L - 1))
    return torch.where(valid, index, positions), valid


def shift_real(
    values: torch.Tensor, mask: torch.Tensor, s: int, circular: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Move the real columns of ``values`` by ``s`` ranks (right when ``s > 0``).

    Column ``l`` of the result takes the real column whose rank is ``rank(l) - s``;
    ``valid`` marks the real columns that received one. Vacated real columns and
    padding are zero.

    Parameters
    ----------
    values : torch.Tensor, shape=(N, C, L)
    mask : torch.Tensor, shape=(N, L), bool
    s : int
    circular : bool

    Returns
    -------
    shifted : torch.Tensor, shape=(N, C, L)
    valid : torch.Tensor, shape=(N, L), bool
    """
    index, valid = shift_index(mask, s, circular)
    moved = values.gather(2, index[:, None, :].expand(-1, values.shape[1], -1))
    return moved * valid[:, None, :].to(values.dtype), valid


def window_means(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Per-position scores (N, T + k - 1) from scores of windows of ``k`` positions (N, T).

    Window ``t`` covers positions ``t .. t + k - 1``; each position gets the mean of
    the windows covering it (e.g. k-mer token scores mapped back to letters).
    """
    N, T = scores.shape
    total = torch.zeros(N, T + k - 1, dtype=scores.dtype, device=scores.device)
    count = torch.zeros(T + k - 1, dtype=scores.dtype, device=scores.device)
    for j in range(k):
        total[:, j : j + T] += scores
        count[j : j + T] += 1
    return total / count
