"""From k-mer token scores to nucleotide scores (token models: ``layer_ig``, ``attention_rollout``)."""

from __future__ import annotations

import torch

from attrbench.core.ops import window_means

__all__ = ["tokens_to_nucleotides"]


def tokens_to_nucleotides(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Nucleotide scores of k-mer token scores: each the mean of the tokens covering it (seed 002).

    Parameters
    ----------
    scores : torch.Tensor, shape=(N, T)
        One score per k-mer token.
    k : int

    Returns
    -------
    nucleotides : torch.Tensor, shape=(N, T + k - 1)
    """
    return window_means(scores, k)
