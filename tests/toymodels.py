"""Tiny seeded models with known structure, shared by the tests."""

from __future__ import annotations

import torch
from torch import nn

from attrbench_tasks.common.alphabets import DNA

A, L, T = 4, 24, 3


class Linear(nn.Module):
    """logits = W . flatten(X) + b: IG equals w * (x - baseline) exactly.

    X : (N, A, L) -> logits (N, T)
    """

    kind = "linear"

    def __init__(self, a: int = A, length: int = L, t: int = T, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(t, a, length, generator=g))
        self.bias = nn.Parameter(torch.randn(t, generator=g))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nal,tal->nt", X, self.weight) + self.bias


class TinyCNN(nn.Module):
    """Conv -> ReLU -> Conv -> ReLU -> global average -> Linear, seeded.

    Every nonlinearity is its own module (captum's DeepLift needs that).
    X : (N, A, L) -> logits (N, T)
    """

    kind = "cnn"

    def __init__(self, a: int = A, t: int = T, channels: int = 8, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.conv1 = nn.Conv1d(a, channels, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flat = nn.Flatten()
        self.head = nn.Linear(channels, t)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = self.relu2(self.conv2(self.relu1(self.conv1(X))))
        return self.head(self.flat(self.pool(h)))


def random_onehot(n: int = 6, length: int = L, seed: int = 0, pad: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Random DNA one-hot X (n, 4, length) whose last ``pad`` columns are padding, and its mask."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(DNA), (n, length), generator=g)
    X = nn.functional.one_hot(idx, len(DNA)).permute(0, 2, 1).float()
    mask = torch.ones(n, length, dtype=torch.bool)
    if pad:
        X[:, :, length - pad :] = 0
        mask[:, length - pad :] = False
    return X, mask
