"""k-mer tokens of one-hot DNA, differentiable: the adaptation of token models to X (N, A, L).

A token model reads ids; attribution methods need a function of the one-hot X.
The embedding of the k-mer starting at ``t`` is written as
``sum_v prod_j X[v_j, t + j] * W[v]`` over all ``A**k`` k-mers ``v``, a
multilinear function of X that equals the lookup ``W[id_t]`` on one-hot input.
"""

from __future__ import annotations

import torch

__all__ = ["kmer_ids", "kmer_indicator"]


def kmer_ids(X: torch.Tensor, k: int) -> torch.Tensor:
    """Token ids (N, L - k + 1) of one-hot X (N, A, L): ``sum_j a_j A**(k-1-j)``."""
    codes = X.argmax(1)
    A, T = X.shape[1], X.shape[2] - k + 1
    ids = torch.zeros(X.shape[0], T, dtype=torch.long, device=X.device)
    for j in range(k):
        ids = ids * A + codes[:, j : j + T]
    return ids


def kmer_indicator(X: torch.Tensor, k: int) -> torch.Tensor:
    """``prod_j X[v_j, t + j]`` for every k-mer ``v``: shape (N, A**k, L - k + 1)."""
    T = X.shape[2] - k + 1
    P = X[:, :, :T]
    for j in range(1, k):
        P = (P[:, :, None, :] * X[:, None, :, j : j + T]).reshape(X.shape[0], -1, T)
    return P
