"""A small k-mer transformer in the style of DNABERT, reading one-hot X differentiably.

Tokens are the overlapping k-mers of the sequence (stride 1: ``T = L - k + 1``
tokens), a classification token is prepended, learned position embeddings are
added, and pre-norm transformer layers (own attention so its weights can be
read) feed a linear head on the classification token.

The k-mer embedding (:class:`KmerEmbedding`) is a function of the one-hot input:
the embedding of the k-mer starting at ``t`` is
``sum_v prod_j X[v_j, t + j] * W[v]`` over all ``4**k`` k-mers ``v``, a
multilinear function of X. On one-hot input it equals the lookup ``W[id_t]``
(``id_t = sum_j a_j 4**(k-1-j)``), which is what runs when X is exactly one-hot
and no gradient is asked for; otherwise the product form runs (in row chunks,
recomputed in the backward pass to bound memory), so gradient methods explain
the transformer on the same input as a CNN. An all-zero column (padding, the
zero baseline) gives the k-mers that cover it a zero embedding.

``model.embedding`` is the token-embedding layer (output (N, T, d)) for layer
methods; ``attention_maps(X)`` gives every layer's attention (N, H, T+1, T+1);
``attention_weights(X)`` (N, L) is the last layer's attention from the
classification token to the k-mer tokens, averaged over heads, mapped to
nucleotides with :func:`tokens_to_nucleotides` and normalized to sum 1.

References
----------
Ji, Y., Zhou, Z., Liu, H. & Davuluri, R. V. (2021). DNABERT: pre-trained
bidirectional encoder representations from transformers model for DNA-language
in genome. Bioinformatics 37, 2112-2120.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from attrbench.core.ops import window_means
from attrbench.core.tokens import kmer_ids, kmer_indicator

__all__ = [
    "kmer_ids",
    "kmer_indicator",
    "tokens_to_nucleotides",
    "KmerEmbedding",
    "KmerTransformer",
]


def tokens_to_nucleotides(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Nucleotide scores (N, T + k - 1): each the mean of the k-mer token scores (N, T) covering it."""
    return window_means(scores, k)


def _is_one_hot(X: torch.Tensor) -> bool:
    return bool(((X == 0) | (X == 1)).all() and (X.sum(1) == 1).all())


class KmerEmbedding(nn.Module):
    """Multilinear k-mer embedding of one-hot X (module notes): (N, 4, L) -> (N, L - k + 1, d)."""

    def __init__(self, k: int, d: int, chunk: int = 32) -> None:
        super().__init__()
        self.k, self.chunk = k, chunk
        self.weight = nn.Parameter(torch.randn(4**k, d) * 0.02)

    def lookup(self, X: torch.Tensor) -> torch.Tensor:
        """``W[id_t]`` (N, T, d): equal to :meth:`multilinear` on one-hot X."""
        return self.weight[kmer_ids(X, self.k)]

    def _block(self, X: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nvt,vd->ntd", kmer_indicator(X, self.k), W)

    def multilinear(self, X: torch.Tensor) -> torch.Tensor:
        """``sum_v prod_j X[v_j, t + j] W[v]`` (N, T, d), in row chunks."""
        grad = torch.is_grad_enabled()
        parts = []
        for x in X.split(self.chunk):
            if grad:
                parts.append(checkpoint(self._block, x, self.weight, use_reentrant=False))
            else:
                parts.append(self._block(x, self.weight))
        return torch.cat(parts)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not (torch.is_grad_enabled() and X.requires_grad) and _is_one_hot(X):
            return self.lookup(X)
        return self.multilinear(X)


class SelfAttention(nn.Module):
    """Multi-head self-attention that keeps its last weights (``self.last``: (N, H, S, S))."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.softmax = nn.Softmax(dim=-1)
        self.drop = nn.Dropout(dropout)
        self.last: torch.Tensor | None = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        N, S, d = h.shape
        q, k, v = self.qkv(h).view(N, S, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = self.softmax(q @ k.transpose(-1, -2) / (d // self.heads) ** 0.5)
        self.last = att
        return self.out((self.drop(att) @ v).transpose(1, 2).reshape(N, S, d))


class Layer(nn.Module):
    """Pre-norm transformer layer: ``h + att(ln(h))``, then ``h + ff(ln(h))``."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att = SelfAttention(d, heads, dropout)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d), nn.Dropout(dropout))
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = h + self.drop(self.att(self.ln1(h)))
        return h + self.ff(self.ln2(h))


class KmerTransformer(nn.Module):
    """DNABERT-style k-mer transformer (module notes). X : (N, 4, length) -> logits (N, n_classes)."""

    kind = "transformer"

    def __init__(
        self,
        n_classes: int,
        length: int,
        k: int = 6,
        d: int = 64,
        heads: int = 4,
        layers: int = 2,
        ff: int = 128,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.k = k
        self.embedding = KmerEmbedding(k, d)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, length - k + 2, d) * 0.02)
        self.layers = nn.ModuleList(Layer(d, heads, ff, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) of one-hot X (N, 4, length)."""
        e = self.embedding(X)
        h = torch.cat([self.cls.expand(len(e), -1, -1), e], 1) + self.pos
        for layer in self.layers:
            h = layer(h)
        return self.head(self.norm(h[:, 0]))

    def attention_maps(self, X: torch.Tensor) -> list[torch.Tensor]:
        """Attention of every layer, each (N, H, T + 1, T + 1); index 0 is the classification token."""
        with torch.no_grad():
            self(X)
        return [layer.att.last for layer in self.layers]

    def attention_weights(self, X: torch.Tensor) -> torch.Tensor:
        """Last layer's attention from the classification token, per nucleotide (N, L), summing to 1."""
        row = self.attention_maps(X)[-1].mean(1)[:, 0, 1:]
        w = tokens_to_nucleotides(row, self.k)
        return w / w.sum(1, keepdim=True)
