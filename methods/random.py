"""``random``: Gaussian scores, the floor every attribution method must beat."""

from __future__ import annotations

import torch
from torch import nn

from attrbench.core.plugin import register_method

__all__ = ["random"]


@register_method(
    "random", complete=False, deterministic=False, floor=lambda options, length, letters: (0, 0)
)
def random(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Independent standard-normal scores drawn from ``generator``, zero on padding.

    The model is not used. The draw happens on the generator's device and is
    moved to the device of ``X``, so a seed gives the same scores on any device.

    Parameters
    ----------
    model : nn.Module
        Unused.
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
        Unused.
    mask : torch.Tensor, shape=(N, L), bool
    generator : torch.Generator
        Required: the only source of randomness.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L), float32
    """
    if generator is None:
        raise ValueError("random needs a torch.Generator (pass generator=...)")
    scores = torch.randn(X.shape, generator=generator, device=generator.device)
    return scores.to(X.device) * mask[:, None, :].to(X.device, torch.float32)
