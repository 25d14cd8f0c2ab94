"""Attention as attribution: the model's own weights and the controls of seed 000 Table 3.

``attention`` takes ``model.attention_weights(X) -> (N, L)`` as position scores.
The controls keep the same support (the real residues) and sum (1):
``attention_permuted`` permutes the model's weights over the real residues of
each sequence, ``attention_random`` draws uniform values normalized to sum 1,
``attention_uniform`` gives every real residue 1 / length.

Every method returns ``X * scores[:, None, :]`` (N, A, L): on one-hot input the
position scores ``(attr * X).sum(1)`` equal the weights, and padding is zero.
:func:`permute_weights`, :func:`random_weights` and :func:`uniform_weights` are
also used for the attention interventions of task reports.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000), section 3.3 and Table 3.
Jain, S. & Wallace, B. C. (2019). Attention is not explanation. NAACL.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.plugin import register_method

__all__ = [
    "permute_weights", "random_weights", "uniform_weights", "attention", "attention_permuted",
    "attention_random", "attention_uniform",
]


def _need(generator: torch.Generator | None, name: str) -> torch.Generator:
    if generator is None:
        raise ValueError(f"{name} needs a torch.Generator (pass generator=...)")
    return generator


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


def random_weights(mask: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Weights drawn uniformly from the simplex over each row's real positions.

    Exp(1) draws normalized to sum 1 (a flat Dirichlet). Unlike normalized
    Uniform(0, 1) draws, which never exceed their mean by more than 1.73
    standard deviations, they have a tail like real attention, so thresholded
    extraction (hit rate: mean + 2 SD) finds peaks in them too. Drawn on the
    generator's device, so a seed gives the same weights anywhere.

    Parameters
    ----------
    mask : torch.Tensor, shape=(N, L), bool
    generator : torch.Generator

    Returns
    -------
    weights : torch.Tensor, shape=(N, L), float32, zero on padding
    """
    u = torch.rand(mask.shape, generator=generator, device=generator.device).to(mask.device)
    r = -torch.log1p(-u) * mask
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


def _as_attributions(X: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    return X * scores.to(X)[:, None, :]


def _own(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.attention_weights(X).detach()


@register_method("attention", needs_attention=True, deterministic=True,
                 floor=lambda options, length, letters: (1, 0))
def attention(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The model's own attention weights as position scores (one weight per residue).

    The weights do not depend on ``target``: attention explains every class alike.

    Parameters
    ----------
    model : nn.Module
        With ``attention_weights(X) -> (N, L)``.
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
        Unused.
    mask : torch.Tensor, shape=(N, L), bool
        Unused: the weights are already zero on padding.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L), float32
        ``X * weights[:, None, :]``.
    """
    return _as_attributions(X, _own(model, X))


@register_method("attention_permuted", needs_attention=True, deterministic=False,
                 floor=lambda options, length, letters: (1, 0))
def attention_permuted(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The model's attention weights permuted over the real residues of each sequence (control).

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
        Unused.
    mask : torch.Tensor, shape=(N, L), bool
    generator : torch.Generator
        Required: draws the permutations.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L), float32
    """
    weights = permute_weights(_own(model, X), mask, _need(generator, "attention_permuted"))
    return _as_attributions(X, weights)


@register_method("attention_random", needs_attention=True, deterministic=False,
                 floor=lambda options, length, letters: (0, 0))
def attention_random(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random weights over the real residues, normalized to sum 1 (control; model unused).

    Parameters
    ----------
    model : nn.Module
        Must have attention (the control is only defined next to ``attention``).
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
        Unused.
    mask : torch.Tensor, shape=(N, L), bool
    generator : torch.Generator
        Required.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L), float32
    """
    return _as_attributions(X, random_weights(mask, _need(generator, "attention_random")))


@register_method("attention_uniform", needs_attention=True, deterministic=True,
                 floor=lambda options, length, letters: (0, 0))
def attention_uniform(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """1 / length on every real residue (control; model unused).

    Parameters
    ----------
    model : nn.Module
        Must have attention (the control is only defined next to ``attention``).
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
        Unused.
    mask : torch.Tensor, shape=(N, L), bool

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L), float32
    """
    return _as_attributions(X, uniform_weights(mask))
