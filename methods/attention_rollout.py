"""``attention_rollout``: attention flow through every layer of a transformer.

Each layer's attention, averaged over heads, is mixed with the identity for the
residual stream, ``0.5 A + 0.5 I``, renormalized by rows, and the layers are
multiplied from the first to the last; the classification token's row over the
k-mer tokens is mapped to nucleotides (mean of the k-mers covering each) and
normalized to sum 1. Needs ``model.attention_maps(X)`` (a list of (N, H, S, S)
maps, index 0 the classification token) and ``model.k``.

References
----------
Abnar, S. & Zuidema, W. (2020). Quantifying attention flow in transformers. ACL.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.attribution.tokens import tokens_to_nucleotides
from attrbench.core.plugin import register_method

__all__ = ["attention_rollout", "rollout"]


def _why_not(model: nn.Module) -> str | None:
    if not hasattr(model, "attention_maps"):
        name = getattr(model, "zoo_name", type(model).__name__)
        return f"attention_rollout needs a transformer's per-layer attention maps; {name} has none"
    return None


def rollout(maps: list[torch.Tensor]) -> torch.Tensor:
    """Attention rollout (N, S, S) of per-layer maps, each (N, H, S, S)."""
    out = None
    for att in maps:
        a = att.mean(1)
        a = 0.5 * a + 0.5 * torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
        a = a / a.sum(-1, keepdim=True)
        out = a if out is None else a @ out
    return out


@register_method("attention_rollout", deterministic=True, applicable=_why_not)
def attention_rollout(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Rolled-out attention from the classification token, per nucleotide (module notes).

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)
        ``X * weight``; position scores sum to 1 per sequence.
    """
    flow = rollout(model.attention_maps(X))[:, 0, 1:]
    w = tokens_to_nucleotides(flow, getattr(model, "k", 1)) * mask.to(flow.dtype)
    return X * (w / w.sum(1, keepdim=True))[:, None, :]
