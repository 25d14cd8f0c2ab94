"""Weights over the real positions of sequences: uniform, permuted and random.

One definition of each, shared by the attention controls (methods) and the
attention interventions of task reports. Every function takes the padding
``mask`` (N, L) and returns weights (N, L) that are zero on padding (a
permutation keeps the padding's own values) and, except ``permute_weights`` of
weights that do not, sum to 1 over each row's real positions.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000), section 3.3 and Table 3.
Jain, S. & Wallace, B. C. (2019). Attention is not explanation. NAACL.
"""

from __future__ import annotations

import torch

__all__ = ["DISTRIBUTIONS", "uniform_weights", "random_weights", "permute_weights"]

#: Distributions of :func:`random_weights`.
DISTRIBUTIONS = ("softmax", "dirichlet")


def uniform_weights(mask: torch.Tensor) -> torch.Tensor:
    """1 / length on the real positions of each row, 0 on padding.

    Parameters
    ----------
    mask : torch.Tensor, shape=(N, L), bool

    Returns
    -------
    weights : torch.Tensor, shape=(N, L), float32
    """
    m = mask.float()
    return m / m.sum(1, keepdim=True).clamp(min=1)


def random_weights(
    mask: torch.Tensor, generator: torch.Generator, distribution: str = "softmax"
) -> torch.Tensor:
    """Random weights over each row's real positions, summing to 1.

    ``"softmax"`` (the default) is what the authors of seed 000 draw: the
    softmax of Uniform(0, 1) scores over the real positions. Those weights lie
    within a factor e of each other, so few pass a mean + 2 SD threshold
    (about 0.8% of positions). ``"dirichlet"`` draws uniformly from the simplex
    (Exp(1) draws normalized to sum 1, a flat Dirichlet), whose tail is like
    real attention's: about 5% of positions pass the same threshold. Drawn on
    the generator's device, so a seed gives the same weights anywhere.

    Parameters
    ----------
    mask : torch.Tensor, shape=(N, L), bool
    generator : torch.Generator
    distribution : {"softmax", "dirichlet"}

    Returns
    -------
    weights : torch.Tensor, shape=(N, L), float32, zero on padding
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; choose one of {DISTRIBUTIONS}")
    u = torch.rand(mask.shape, generator=generator, device=generator.device).to(mask.device)
    r = torch.exp(u) if distribution == "softmax" else -torch.log1p(-u)
    r = r * mask
    return r / r.sum(1, keepdim=True).clamp(min=1e-12)


def permute_weights(
    weights: torch.Tensor, mask: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """Permute each row's weights among its real positions (a fresh permutation per row).

    Parameters
    ----------
    weights : torch.Tensor, shape=(N, L)
    mask : torch.Tensor, shape=(N, L), bool
    generator : torch.Generator

    Returns
    -------
    permuted : torch.Tensor, shape=(N, L)
        The same multiset of values on the real positions; padding keeps its values.
    """
    N, L = mask.shape
    keys = torch.rand((N, L), generator=generator, device=generator.device).to(mask.device)
    # real positions first (in random order / in place order), padding after
    shuffled = torch.argsort(torch.where(mask, keys, keys + 2), dim=1)
    pos = torch.arange(L, device=mask.device).expand(N, L)
    ordered = torch.argsort(torch.where(mask, pos, pos + L), dim=1)
    permuted = torch.zeros_like(weights).scatter(1, ordered, weights.gather(1, shuffled))
    return torch.where(mask, permuted, weights)
