"""Running a model for attributions: target logits and gradients, batched; alphabet centring.

:func:`target_gradient` (gradient of the target logit with respect to the input,
in chunks of rows) and :func:`target_logits` are the one place where the
gradient methods run a model: ``saliency``, ``grad_x_input``, ``ig``,
``shift_smoothed`` (through its base method), ``ism`` and ``deeplift`` reuse
them. :func:`center_alphabet` is the per-position mean-centring shared by the
Majdandzic & Koo correction and by ``ism``.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.core import ops

__all__ = ["target_logits", "target_gradient", "center_alphabet"]


def _chunks(n: int, batch_size: int | None) -> list[slice]:
    step = n if not batch_size or batch_size <= 0 else batch_size
    return [slice(i, min(i + step, n)) for i in range(0, n, max(step, 1))]


def target_logits(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, batch_size: int | None = None
) -> torch.Tensor:
    """The logit of class ``target[i]`` for every row ``X[i]``, without gradients.

    Parameters
    ----------
    model : nn.Module
        X (N, A, L) -> logits (N, T).
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    batch_size : int, optional
        Rows per forward pass (None: all at once).

    Returns
    -------
    logits : torch.Tensor, shape=(N,)
    """
    logits = ops.batched_logits(model, X, batch_size).to(X.dtype)
    return logits.gather(1, target.to(X.device)[:, None])[:, 0]


def target_gradient(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, batch_size: int | None = None
) -> torch.Tensor:
    """Gradient of the logit of class ``target[i]`` with respect to ``X[i]``, batched.

    Rows are independent (the model is in eval mode), so the gradient of the sum
    of the selected logits of a chunk is every row's own gradient.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
        Any real-valued input (one-hot or not); not modified.
    target : torch.Tensor, shape=(N,), int64
    batch_size : int, optional
        Rows per forward/backward pass (None: all at once), within
        :data:`attrbench.core.ops.MAX_POSITIONS` positions.

    Returns
    -------
    grad : torch.Tensor, shape=(N, A, L), dtype of ``X``
    """
    target = target.to(X.device)
    grad = torch.empty_like(X)
    with torch.enable_grad():
        for s in _chunks(X.shape[0], ops.rows_per_pass(X, batch_size)):
            x = X[s].detach().requires_grad_(True)
            selected = model(x).gather(1, target[s, None])
            (grad[s],) = torch.autograd.grad(selected.sum(), x)
    return grad


def center_alphabet(G: torch.Tensor) -> torch.Tensor:
    """Subtract the per-position mean over the alphabet: ``G - G.mean(1)``.

    On one-hot inputs this removes the gradient component orthogonal to the
    simplex, which carries no information about the sequence (Majdandzic & Koo,
    2023).

    Parameters
    ----------
    G : torch.Tensor, shape=(N, A, L)

    Returns
    -------
    centred : torch.Tensor, shape=(N, A, L)

    References
    ----------
    Majdandzic, A., Rajesh, C. & Koo, P. K. (2023). Correcting gradient-based
    interpretations of deep neural networks for genomics. Genome Biology 24, 109.
    """
    return G - G.mean(1, keepdim=True)
