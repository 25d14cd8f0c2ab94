"""Gradient attributions (``saliency``, ``grad_x_input``) and the shared batched helpers.

:func:`target_gradient` (gradient of the target logit with respect to the input,
in chunks of rows) and :func:`target_logits` are the one place where the methods
of this package run a model: ``ig``, ``shift_smoothed`` (through its base method)
and ``ism`` reuse them. :func:`center_alphabet` is the per-position mean-centring
shared by the Majdandzic & Koo correction and by ``ism``.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench import ops
from attrbench.plugin import register_method

__all__ = [
    "target_logits",
    "target_gradient",
    "center_alphabet",
    "saliency",
    "grad_x_input",
]


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
        :data:`attrbench.ops.MAX_POSITIONS` positions.

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


@register_method("saliency", complete=False, deterministic=True, defaults={"correct": False},
                 floor=lambda options, length, letters: (1, 1))
def saliency(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
    correct: bool = False, batch_size: int | None = None,
) -> torch.Tensor:
    """Gradient of the target logit with respect to the one-hot input.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    correct : bool
        Apply the Majdandzic & Koo (2023) correction (:func:`center_alphabet`).
    batch_size : int, optional
        Sequences per forward/backward pass.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)
        Zero on padding columns.

    References
    ----------
    Simonyan, K., Vedaldi, A. & Zisserman, A. (2014). Deep inside convolutional
    networks: visualising image classification models and saliency maps. ICLR.
    """
    G = target_gradient(model, X, target, batch_size)
    if correct:
        G = center_alphabet(G)
    return G * mask[:, None, :].to(G.dtype)


@register_method("grad_x_input", complete=False, deterministic=True, defaults={"correct": False},
                 floor=lambda options, length, letters: (1, 1))
def grad_x_input(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
    correct: bool = False, batch_size: int | None = None, hypothetical: bool = False,
) -> torch.Tensor:
    """Gradient of the target logit times the input.

    On one-hot inputs only the observed letter of each position is non-zero, so
    the position score is the gradient entry of that letter (corrected: minus
    the position's mean gradient).

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    correct : bool
        Centre the gradient over the alphabet before multiplying (Majdandzic & Koo, 2023).
    batch_size : int, optional
        Sequences per forward/backward pass.
    hypothetical : bool
        Return the per-letter map (the reference is zero, so the gradient itself,
        :func:`attrbench.shuffle.hypothetical`) instead of its projection on ``X``.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)
        Zero on padding columns (the input is zero there).

    References
    ----------
    Shrikumar, A., Greenside, P., Shcherbina, A. & Kundaje, A. (2016). Not just a
    black box: learning important features through propagating activation
    differences. arXiv:1605.01713.
    """
    G = target_gradient(model, X, target, batch_size)
    if correct:
        G = center_alphabet(G)
    if hypothetical:
        return G * mask[:, None, :].to(G.dtype)
    return G * X * mask[:, None, :].to(G.dtype)
