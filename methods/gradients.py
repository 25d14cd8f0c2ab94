"""Gradient attributions (``saliency``, ``grad_x_input``).

Both run the model through :func:`attrbench.attribution.gradients.target_gradient`
(imported here too, with :func:`target_logits` and :func:`center_alphabet`, for
callers of the former location).
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.attribution.gradients import center_alphabet, target_gradient, target_logits
from attrbench.core.plugin import Option, register_method

__all__ = [
    "target_logits",
    "target_gradient",
    "center_alphabet",
    "saliency",
    "grad_x_input",
]


@register_method(
    "saliency",
    complete=False,
    deterministic=True,
    defaults={"correct": False},
    option_schema={"correct": Option(bool), "batch_size": Option(int, low=1, none=True)},
    floor=lambda options, length, letters: (1, 1),
)
def saliency(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    correct: bool = False,
    batch_size: int | None = None,
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


@register_method(
    "grad_x_input",
    complete=False,
    deterministic=True,
    defaults={"correct": False},
    option_schema={"correct": Option(bool), "batch_size": Option(int, low=1, none=True)},
    floor=lambda options, length, letters: (1, 1),
)
def grad_x_input(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    correct: bool = False,
    batch_size: int | None = None,
    hypothetical: bool = False,
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
        :func:`attrbench.core.shuffle.hypothetical`) instead of its projection on ``X``.

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
