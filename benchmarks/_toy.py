"""Toy model and data of the benchmarks (to move to ``attrbench.testing`` when it exists).

Local copies of ``TinyCNN`` and ``random_onehot`` so the benchmarks do not import
the test suite; plus the naive scan the knowledge-base index is compared with.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["TinyCNN", "random_onehot", "naive_find"]


class TinyCNN(nn.Module):
    """Conv -> ReLU -> Conv -> ReLU -> global average -> Linear, seeded.

    X : (N, 4, L) -> logits (N, 3)
    """

    kind = "cnn"

    def __init__(self, a: int = 4, t: int = 3, channels: int = 8, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv1d(a, channels, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flat = nn.Flatten()
        self.head = nn.Linear(channels, t)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = self.relu2(self.conv2(self.relu1(self.conv1(X))))
        return self.head(self.flat(self.pool(h)))


def random_onehot(n: int, length: int, seed: int = 0, letters: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Random one-hot X (n, letters, length) without padding, and its mask."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, letters, (n, length), generator=g)
    X = nn.functional.one_hot(idx, letters).permute(0, 2, 1).float()
    return X, torch.ones(n, length, dtype=torch.bool)


def naive_find(text: str, starts: np.ndarray, peptide: str) -> list[tuple[int, int]]:
    """Every (entry, position) of ``peptide`` by scanning the joined text with str.find."""
    found, i = [], text.find(peptide)
    while i >= 0:
        entry = int(np.searchsorted(starts, i, side="right") - 1)
        found.append((entry, i - int(starts[entry])))
        i = text.find(peptide, i + 1)
    return found
