"""``ism``: in-silico saturation mutagenesis, batched; and the naive one-at-a-time reference."""

from __future__ import annotations

import torch
from torch import nn

from attrbench.attribution.gradients import center_alphabet, target_logits
from attrbench.core import ops
from attrbench.core.plugin import Option, register_method

__all__ = ["ism", "ism_deltas", "ism_naive"]


def ism_deltas(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Raw mutation effects ``d[i, a, l] = f_t(X[i] with letter a at l) - f_t(X[i])``.

    Every substitution at every real position is a row of forward batches of
    ``batch_size`` mutants, at most :data:`attrbench.core.ops.MAX_POSITIONS` positions
    per pass. A model that has a faster way to score the mutants of
    one sequence says so with a method ``model.mutant_logits(x, positions, letters,
    batch_size) -> logits (M, T)`` (e.g. a recurrent model that reuses the
    states of the unmutated sequence); it is used when present, with its own
    default batch unless ``batch_size`` is given. ``d`` is exactly 0 for the
    observed letter and on padding.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    batch_size : int, optional
        Mutant sequences per forward pass; None: as many as
        :data:`attrbench.core.ops.MAX_POSITIONS` positions hold (327 mutants of 50 positions,
        16 of 1000).

    Returns
    -------
    deltas : torch.Tensor, shape=(N, A, L)
    """
    N, A, L = X.shape
    target = target.to(X.device)
    base = target_logits(model, X, target, batch_size)
    todo = torch.nonzero((mask.to(X.device)[:, None, :] & (X == 0)).flatten())[:, 0]
    deltas = torch.zeros(N * A * L, dtype=X.dtype, device=X.device)
    if hasattr(model, "mutant_logits"):
        for i, flat in enumerate(torch.split(todo, _counts(todo // (A * L), N))):
            letter, pos = (flat // L) % A, flat % L
            size = {} if batch_size is None else {"batch_size": batch_size}
            logits = model.mutant_logits(X[i], pos, letter, **size)
            deltas[flat] = logits[:, target[i]].to(X.dtype) - base[i]
        return deltas.view(N, A, L)
    per_pass = ops.rows_per_pass(X, batch_size or ops.MAX_POSITIONS)
    for start in range(0, len(todo), per_pass):
        flat = todo[start : start + per_pass]
        seq, letter, pos = flat // (A * L), (flat // L) % A, flat % L
        mutants = X[seq]
        rows = torch.arange(len(flat), device=X.device)
        mutants[rows, :, pos] = 0
        mutants[rows, letter, pos] = 1
        deltas[flat] = target_logits(model, mutants, target[seq]) - base[seq]
    return deltas.view(N, A, L)


def _counts(seq: torch.Tensor, n: int) -> list[int]:
    """How many of the sorted sequence indices ``seq`` fall on each of ``n`` sequences."""
    return torch.bincount(seq, minlength=n).tolist()


@register_method(
    "ism",
    complete=False,
    deterministic=True,
    defaults={"batch_size": None},
    option_schema={"batch_size": Option(int, low=1, none=True)},
    floor=lambda options, length, letters: (1 + length * (letters - 1), 0),
)
def ism(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    batch_size: int | None = None,
) -> torch.Tensor:
    """Saturation mutagenesis, mean-centred per position.

    With the raw effects ``d[a, l] = f_t(x with letter a at l) - f_t(x)``
    (:func:`ism_deltas`), the attribution is ``attr[a, l] = d[a, l] - mean_b d[b, l]``.
    Its position score ``(attr * X).sum(1) = -mean_b d[b, l]`` is the drop of the
    target logit when position ``l`` is replaced by a uniformly random letter
    (the mean runs over all ``A`` letters, the observed one with ``d = 0``
    included, so it is ``(A - 1) / A`` times the mean drop over the ``A - 1``
    substitutions). Positive: the observed letter supports the target.
    Padding positions are not mutated and get 0.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    batch_size : int, optional
        Mutant sequences per forward pass (None: by :data:`attrbench.core.ops.MAX_POSITIONS`;
        see :func:`ism_deltas`).

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)

    References
    ----------
    Alipanahi, B., Delong, A., Weirauch, M. T. & Frey, B. J. (2015). Predicting the
    sequence specificities of DNA- and RNA-binding proteins by deep learning.
    Nature Biotechnology 33, 831-838.
    """
    d = ism_deltas(model, X, target, mask, batch_size)
    return center_alphabet(d) * mask[:, None, :].to(d.device, d.dtype)


def ism_naive(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Reference for :func:`ism`: one forward pass per single mutation (slow).

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)
        Same definition as :func:`ism`.
    """
    N, A, L = X.shape
    d = torch.zeros_like(X)
    with torch.no_grad():
        for i in range(N):
            t = int(target[i])
            base = model(X[i : i + 1])[0, t]
            for pos in torch.nonzero(mask[i])[:, 0].tolist():
                for a in range(A):
                    if X[i, a, pos] == 1:
                        continue
                    x = X[i : i + 1].clone()
                    x[0, :, pos] = 0
                    x[0, a, pos] = 1
                    d[i, a, pos] = model(x)[0, t] - base
    return center_alphabet(d) * mask[:, None, :].to(d.device, d.dtype)
