"""k-mer preserving shuffles of one-hot sequences and hypothetical contributions.

Two pieces of the genomics workflow (docs/genomics.md) shared by the reference
methods (``ig``, ``deeplift``, ``deepshap``) and the gradient family:

- :func:`kmer_shuffle` (``k=2``: :func:`dinucleotide_shuffle`): references made
  by shuffling the input itself so that every k-mer count is kept exactly. The
  algorithm is the one of DeepLIFT's ``dinuc_shuffle`` (and tangermeme's): the
  sequence is a walk over its (k-1)-mers; for every (k-1)-mer the list of
  successors is permuted except its last entry (the last exits form a tree
  towards the final (k-1)-mer, so the walk always uses every edge), and the walk
  is replayed. First and last (k-1)-mers stay in place. The random numbers come
  from a ``torch.Generator`` (tangermeme draws them inside numba), so the
  shuffles are not tangermeme's draw for draw; ``tests/test_shuffle.py`` checks
  exact k-mer preservation instead. Padding (all-zero columns at the end) stays
  padding; an all-zero column inside the sequence is a letter of its own.
- :func:`hypothetical` : the per-letter map of shap's and tangermeme's genomics
  variants: for every letter ``a`` at position ``l`` the contribution the
  position would have if it held ``a``,
  ``h[a, l] = sum_b (e_a[b] - x0[b, l]) * m[b, l]`` for multipliers ``m``
  (gradients, DeepLIFT multipliers, IG's path-averaged gradients) and reference
  ``x0``. The observed letter's entry is the position's total contribution.

References
----------
Altschul, S. F. & Erickson, B. W. (1985). Significance of nucleotide sequence
alignments: a method for random sequence permutation that preserves dinucleotide
and codon usage. Mol. Biol. Evol. 2, 526-538.
Shrikumar, A., Greenside, P. & Kundaje, A. (2017). Learning important features
through propagating activation differences. ICML.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "kmer_shuffle",
    "dinucleotide_shuffle",
    "shuffled_references",
    "hypothetical",
    "kmer_counts",
]


def _codes(X: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Letter codes (N, L) (an all-zero column is code A) and true lengths (N,)."""
    values, idx = X.detach().cpu().max(1)
    codes = idx.numpy().astype(np.int64)
    codes[(values == 0).numpy()] = X.shape[1]
    used = (values != 0).numpy()
    lengths = np.where(used.any(1), X.shape[2] - np.argmax(used[:, ::-1], 1), 0)
    return codes, lengths


def _shuffle_one(codes: np.ndarray, k: int, n: int, generator: torch.Generator) -> np.ndarray:
    """``n`` k-mer preserving shuffles (n, L) of one code sequence (L,)."""
    L = len(codes)
    if L <= k:
        return np.repeat(codes[None], n, 0)
    if k == 1:
        return np.stack([codes[torch.randperm(L, generator=generator).numpy()] for _ in range(n)])
    width = k - 1
    nodes = np.lib.stride_tricks.sliding_window_view(codes, width)
    _, token = np.unique(nodes, axis=0, return_inverse=True)
    token = token.reshape(-1)  # (L - k + 2,) one per (k-1)-mer position
    succ = [np.flatnonzero(token[:-1] == t) + 1 for t in range(token.max() + 1)]
    out = np.empty((n, L), dtype=codes.dtype)
    for r in range(n):
        order = []
        for s in succ:
            p = np.arange(len(s))
            if len(s) > 1:
                p[:-1] = torch.randperm(len(s) - 1, generator=generator).numpy()
            order.append(s[p])
        counter = np.zeros(len(succ), dtype=np.int64)
        walk = np.empty(len(token), dtype=np.int64)
        walk[0] = 0
        for j in range(1, len(token)):
            t = token[walk[j - 1]]
            walk[j] = order[t][counter[t]]
            counter[t] += 1
        out[r, :width] = codes[:width]
        out[r, width:] = codes[walk[1:] + width - 1]
    return out


def kmer_shuffle(
    X: torch.Tensor, k: int = 2, n: int = 20, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Shuffles of each sequence that keep every k-mer count (module notes).

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
        One-hot; trailing all-zero columns are padding and stay in place.
    k : int
        Length of the preserved k-mers (1: a plain permutation).
    n : int
        Shuffles per sequence.
    generator : torch.Generator, optional
        A CPU generator; the shuffles are a function of its state.

    Returns
    -------
    shuffles : torch.Tensor, shape=(N, n, A, L), dtype and device of ``X``
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, not {k}")
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    codes, lengths = _codes(X)
    N, A, L = X.shape
    out = torch.zeros(N, n, A + 1, L, dtype=X.dtype)
    for i in range(N):
        shuffled = _shuffle_one(codes[i, : lengths[i]], k, n, generator)
        out[i, :, :, : lengths[i]].scatter_(1, torch.from_numpy(shuffled)[:, None], 1.0)
    return out[:, :, :A].to(X.device)


def dinucleotide_shuffle(
    X: torch.Tensor, n: int = 20, generator: torch.Generator | None = None
) -> torch.Tensor:
    """:func:`kmer_shuffle` with ``k=2``: shape (N, n, A, L)."""
    return kmer_shuffle(X, 2, n, generator)


def shuffled_references(
    X: torch.Tensor, n: int, generator: torch.Generator | None, k: int = 2
) -> torch.Tensor:
    """The ``"dinucleotide_shuffle"`` references of a method: (N, n, A, L), see :func:`kmer_shuffle`."""
    return kmer_shuffle(X, k, n, generator)


def kmer_counts(X: torch.Tensor, k: int) -> list[dict[tuple[int, ...], int]]:
    """The k-mer counts of each sequence of ``X`` (N, A, L) (padding excluded), as dicts."""
    codes, lengths = _codes(X)
    out = []
    for c, n in zip(codes, lengths, strict=True):
        counts: dict[tuple[int, ...], int] = {}
        for j in range(int(n) - k + 1):
            key = tuple(c[j : j + k].tolist())
            counts[key] = counts.get(key, 0) + 1
        out.append(counts)
    return out


def hypothetical(multipliers: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Hypothetical contributions from multipliers and references (module notes).

    ``h[..., a, l] = m[..., a, l] - sum_b x0[..., b, l] * m[..., b, l]``, the
    contribution of position ``l`` had it held letter ``a``; times the one-hot
    ``X`` it is the column sum of ``m * (X - x0)`` on the observed letter.

    Parameters
    ----------
    multipliers : torch.Tensor, shape=(N, A, L) or (N, B, A, L)
    reference : torch.Tensor, shape broadcastable to ``multipliers``

    Returns
    -------
    hypothetical : torch.Tensor, shape of ``multipliers``
    """
    return multipliers - (reference * multipliers).sum(-2, keepdim=True)
