"""Attention as attribution: the model's own weights and the controls of seed 000 Table 3.

``attention`` takes ``model.attention_weights(X) -> (N, L)`` as position scores.
The controls keep the same support (the real residues) and sum (1):
``attention_permuted`` permutes the model's weights over the real residues of
each sequence; ``attention_random`` draws random weights, by default as the
authors' code does (the softmax of Uniform(0, 1) scores over the real residues),
or from the flat Dirichlet with ``distribution="dirichlet"``;
``attention_uniform`` gives every real residue 1 / length. The weights come from
:mod:`attrbench.core.weights`, the one definition task reports use too.

Every method returns ``X * scores[:, None, :]`` (N, A, L): on one-hot input the
position scores ``(attr * X).sum(1)`` equal the weights, and padding is zero.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000), section 3.3 and Table 3.
Jain, S. & Wallace, B. C. (2019). Attention is not explanation. NAACL.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.core.plugin import Option, register_method
from attrbench.core.weights import DISTRIBUTIONS, permute_weights, random_weights, uniform_weights

__all__ = ["attention", "attention_permuted", "attention_random", "attention_uniform"]


def _need(generator: torch.Generator | None, name: str) -> torch.Generator:
    if generator is None:
        raise ValueError(f"{name} needs a torch.Generator (pass generator=...)")
    return generator


def _as_attributions(X: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    return X * scores.to(X)[:, None, :]


def _own(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.attention_weights(X).detach()


@register_method(
    "attention",
    needs_attention=True,
    deterministic=True,
    floor=lambda options, length, letters: (1, 0),
)
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


@register_method(
    "attention_permuted",
    needs_attention=True,
    deterministic=False,
    floor=lambda options, length, letters: (1, 0),
)
def attention_permuted(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
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


@register_method(
    "attention_random",
    needs_attention=True,
    deterministic=False,
    defaults={"distribution": "softmax"},
    option_schema={"distribution": Option(str, choices=tuple(DISTRIBUTIONS))},
    floor=lambda options, length, letters: (0, 0),
)
def attention_random(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    generator: torch.Generator | None = None,
    distribution: str = "softmax",
) -> torch.Tensor:
    """Random weights over the real residues, summing to 1 (control; model unused).

    ``distribution="softmax"`` (default): the softmax of Uniform(0, 1) scores, as
    the authors of seed 000 draw them (few peaks: about 0.8% of positions above
    mean + 2 SD); ``"dirichlet"``: uniform on the simplex (about 5% above it).
    See :func:`attrbench.core.weights.random_weights`.

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
    distribution : {"softmax", "dirichlet"}

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L), float32
    """
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; choose one of {DISTRIBUTIONS}")
    weights = random_weights(mask, _need(generator, "attention_random"), distribution)
    return _as_attributions(X, weights)


@register_method(
    "attention_uniform",
    needs_attention=True,
    deterministic=True,
    floor=lambda options, length, letters: (0, 0),
)
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
