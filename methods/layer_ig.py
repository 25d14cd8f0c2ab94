"""``layer_ig``: integrated gradients on the token embeddings of a token model (seed 002).

The model's ``embedding`` layer maps X to token embeddings (N, T, d). IG runs on
that layer's output, from the embedding of the reference input (zeros by
default, whose k-mer embedding is zero) to the embedding of X; a token's score
is the sum of its attributions over the ``d`` dimensions, and a nucleotide gets
the mean of the scores of the ``k`` tokens covering it (the seed's mapping,
:func:`tokens_to_nucleotides`), returned as ``X * score`` so position scores are
the nucleotide scores. Token scores add up to ``f(x) - f(reference)``
(:func:`layer_ig_tokens`); the nucleotide mapping averages them, so the method
does not claim completeness.

References
----------
Sundararajan, M., Taly, A. & Yan, Q. (2017). Axiomatic attribution for deep
networks. ICML. Captum's ``LayerIntegratedGradients``.
Ji, Y. et al. (2021). DNABERT. Bioinformatics 37, 2112-2120 (seed 002).
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.attribution.paths import ig_baseline, quadrature
from attrbench.attribution.tokens import tokens_to_nucleotides
from attrbench.core.data import Background
from attrbench.core.plugin import POSITIVE_INT, Option, register_method

__all__ = ["layer_ig", "layer_ig_tokens", "tokens_to_nucleotides"]


def _with_embedding(model: nn.Module, value: torch.Tensor) -> torch.Tensor:
    """Logits of ``model`` with its embedding layer's output replaced by ``value``."""
    handle = model.embedding.register_forward_hook(lambda mod, args, out: value)
    try:
        n = value.shape[0]
        dummy = torch.zeros(n, *model._layer_ig_shape, device=value.device)
        return model(dummy)
    finally:
        handle.remove()


def layer_ig_tokens(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    x0: torch.Tensor,
    n_steps: int = 50,
    internal_batch_size: int = 256,
) -> torch.Tensor:
    """Layer IG token scores (N, T): sums over the embedding dimensions.

    ``scores.sum(1) = f_t(X) - f_t(x0)`` up to the quadrature error.
    """
    with torch.no_grad():
        e, e0 = model.embedding(X), model.embedding(x0)
    alphas, weights = quadrature(n_steps)
    model._layer_ig_shape = tuple(X.shape[1:])
    total = torch.zeros_like(e)
    per_pass = max(1, internal_batch_size // len(X))
    for s in range(0, n_steps, per_pass):
        a = torch.as_tensor(alphas[s : s + per_pass], dtype=e.dtype, device=e.device)
        w = torch.as_tensor(weights[s : s + per_pass], dtype=e.dtype, device=e.device)
        path = (e0[None] + a[:, None, None, None] * (e - e0)[None]).reshape(-1, *e.shape[1:])
        path.requires_grad_(True)
        out = _with_embedding(model, path).gather(1, target.repeat(len(a))[:, None]).sum()
        (grad,) = torch.autograd.grad(out, path)
        total += (grad.view(len(a), *e.shape) * w[:, None, None, None]).sum(0)
    del model._layer_ig_shape
    return (total * (e - e0)).sum(2)


@register_method(
    "layer_ig",
    needs_embedding=True,
    deterministic=True,
    defaults={"n_steps": 50, "baseline": "zeros"},
    option_schema={
        "n_steps": POSITIVE_INT,
        "baseline": Option((str, torch.Tensor), choices=("zeros", "background")),
    },
)
def layer_ig(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    n_steps: int = 50,
    baseline: str | torch.Tensor = "zeros",
    background: Background | None = None,
) -> torch.Tensor:
    """Integrated gradients on the token embeddings, mapped to nucleotides (module notes).

    Parameters
    ----------
    model : nn.Module
        With ``embedding`` (X -> (N, T, d)) and ``k`` (tokens are k-mers, ``T = L - k + 1``).
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    n_steps : int
    baseline : {"zeros", "background"} or torch.Tensor
        The reference input (see ``ig_baseline``).

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)
        ``X * nucleotide score``.
    """
    x0 = ig_baseline(X, baseline, background)
    tokens = layer_ig_tokens(model, X, target, x0, n_steps)
    scores = tokens_to_nucleotides(tokens, getattr(model, "k", 1))
    return X * (scores * mask.to(scores.dtype))[:, None, :]
