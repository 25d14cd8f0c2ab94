"""Tiny models of a user's own, importable by ``--model-class tests.user_models:Factory``."""

from __future__ import annotations

import torch
from torch import nn

#: The planted 7-mers of the tests' sequences; MotifCNN's filters detect them.
MOTIFS = ("ACGTACG", "TTGGGGC", "GCAACGT")


class MotifCNN(nn.Module):
    """A 7-wide convolution over one-hot DNA (N, 4, L), max-pooled, two logits.

    Its three filters are the centred one-hot of :data:`MOTIFS` (so the model uses the
    tests' ground truth, as the truth-reliance check requires); the head is seeded.
    """

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv1d(4, 3, 7, padding=3)
        self.head = nn.Linear(3, 2)
        with torch.no_grad():
            for i, motif in enumerate(MOTIFS):
                onehot = torch.zeros(4, 7)
                onehot[["ACGT".index(c) for c in motif], range(7)] = 1.0
                self.conv.weight[i] = onehot - 0.25
            self.conv.bias.fill_(-3.0)
            self.head.weight.copy_(torch.tensor([[1.0, 1.0, 1.0], [-1.0, -1.0, -1.0]]))
            self.head.bias.zero_()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(X)).amax(2))


class LastAxisCNN(nn.Module):
    """The same network reading (N, L, A)."""

    def __init__(self):
        super().__init__()
        self.net = MotifCNN()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X.transpose(1, 2))


class TokenModel(nn.Module):
    """Embeds token ids (N, T) of 2-mers, mean-pools, one output (N,)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.embedding = nn.Embedding(16, 4)
        self.head = nn.Linear(4, 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embedding(ids).mean(1))[:, 0]
