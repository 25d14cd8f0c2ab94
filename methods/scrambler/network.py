"""The scrambling network: groups of dilated residual 1-D convolutions with a softplus output.

Seed 004, Fig. S1: a width-1 input convolution, ``n_groups`` groups of
``blocks_per_group`` residual blocks (each: norm, ReLU, dilated conv, norm,
ReLU, dilated conv, plus the input) with one dilation per group, a width-1 skip
convolution before every group, all skips added to a width-1 convolution of
the last group's output, and a width-1 convolution to one channel with a
softplus. Normalization is instance normalization (the authors' code default),
computed over real positions only, and every hidden feature is zeroed on
padding, so padding never leaks into a real position's score.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["ScramblerNet", "segment_scores"]


class MaskedInstanceNorm(nn.Module):
    """Instance normalization over real positions, with a learned affine per channel."""

    def __init__(self, channels: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels, 1))
        self.bias = nn.Parameter(torch.zeros(channels, 1))
        self.eps = eps

    def forward(self, h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        """``h`` (N, C, L) normalized; ``m`` (N, 1, L) float mask of real positions."""
        n = m.sum(2, keepdim=True).clamp_min(1)
        mean = (h * m).sum(2, keepdim=True) / n
        var = (((h - mean) * m) ** 2).sum(2, keepdim=True) / n
        return ((h - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias) * m


class ResBlock(nn.Module):
    """Norm, ReLU, dilated conv, norm, ReLU, dilated conv, plus the input (Fig. S1C)."""

    def __init__(self, channels: int, kernel: int, dilation: int):
        super().__init__()
        pad = dilation * (kernel - 1) // 2
        self.norm0, self.norm1 = MaskedInstanceNorm(channels), MaskedInstanceNorm(channels)
        self.conv0 = nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=pad)
        self.conv1 = nn.Conv1d(channels, channels, kernel, dilation=dilation, padding=pad)

    def forward(self, h: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        z = self.conv0(F.relu(self.norm0(h, m))) * m
        z = self.conv1(F.relu(self.norm1(z, m))) * m
        return h + z


class ScramblerNet(nn.Module):
    """One-hot X (N, A, L) -> importance scores (N, L), softplus, zero on padding.

    Parameters
    ----------
    n_letters : int
        Alphabet size A.
    channels, kernel : int
        Hidden channels and convolution width (paper, Optimus 5': 32 and 3).
    dilations : sequence of int
        One dilation per residual group (paper: 1, 2, 4, 2, 1).
    blocks_per_group : int
        Residual blocks per group (paper: 4).
    """

    def __init__(
        self,
        n_letters: int,
        channels: int = 32,
        kernel: int = 3,
        dilations: Sequence[int] = (1, 2, 4, 2, 1),
        blocks_per_group: int = 4,
    ):
        super().__init__()
        self.inp = nn.Conv1d(n_letters, channels, 1)
        self.skips = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.groups = nn.ModuleList(
            nn.ModuleList(ResBlock(channels, kernel, d) for _ in range(blocks_per_group))
            for d in dilations
        )
        self.last = nn.Conv1d(channels, channels, 1)
        self.out = nn.Conv1d(channels, 1, 1)

    def forward(self, X: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Scores (N, L) >= 0 of ``X`` (N, A, L); ``mask`` (N, L) bool marks real positions."""
        m = mask[:, None, :].to(X.dtype)
        h = self.inp(X) * m
        skip = 0
        for skip_conv, blocks in zip(self.skips, self.groups, strict=True):
            skip = skip + skip_conv(h)
            for block in blocks:
                h = block(h, m)
        h = (self.last(h) + skip) * m
        return F.softplus(self.out(h))[:, 0] * mask.to(X.dtype)


def segment_scores(
    net: nn.Module, X: torch.Tensor, mask: torch.Tensor, junction: int | None
) -> torch.Tensor:
    """Scores (N, L) of ``net``, with sequences that fill all L positions cut at ``junction``.

    A cut sequence is scored as two independent pieces ``[:junction]`` and
    ``[junction:]`` (no convolution reaches across the cut): the encoding of a
    protein longer than L as its first and last L/2 residues is not contiguous there.

    Parameters
    ----------
    net : nn.Module
        ``net(X, mask) -> (N, L)``.
    X : torch.Tensor, shape=(N, A, L)
    mask : torch.Tensor, shape=(N, L), bool
    junction : int, optional
        Cut position; None scores every sequence whole.

    Returns
    -------
    scores : torch.Tensor, shape=(N, L)
    """
    full = mask.all(1)
    if junction is None or not bool(full.any()):
        return net(X, mask)
    out = X.new_zeros(mask.shape)
    if bool((~full).any()):
        out[~full] = net(X[~full], mask[~full])
    Xf, mf = X[full], mask[full]
    head = net(Xf[..., :junction], mf[..., :junction])
    tail = net(Xf[..., junction:], mf[..., junction:])
    out[full] = torch.cat([head, tail], 1)
    return out
