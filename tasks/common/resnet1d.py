"""A narrow 1-D ResNet18 for one-hot DNA (seed 003 uses ResNet18, He et al. 2016).

Four stages of two basic blocks (two ``k=3`` convolutions with batch norm each,
identity or strided 1x1 shortcut), a stem convolution, global average pooling
and a linear head: 17 convolutions plus the head, as ResNet18, with widths
``width * (1, 2, 4, 8)`` so it trains on one CPU thread. Every ReLU is its own
module and nothing is in place (DeepLIFT / DeepSHAP friendly).

X : (N, 4, L) -> logits (N, n_classes)

References
----------
He, K., Zhang, X., Ren, S. & Sun, J. (2016). Deep residual learning for image
recognition. CVPR, 770-778.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BasicBlock1d", "ResNet1d18"]


class BasicBlock1d(nn.Module):
    """Two conv-BN layers and a shortcut: ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))``."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv1d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv1d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.relu2 = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNet1d18(nn.Module):
    """1-D ResNet18 (module notes); ``strides`` of the four stages."""

    kind = "resnet"

    def __init__(
        self,
        n_classes: int,
        width: int = 16,
        strides: tuple[int, ...] = (1, 2, 2, 2),
        in_channels: int = 4,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(in_channels, width, 7, padding=3, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(),
        )
        blocks, c = [], width
        for i, s in enumerate(strides):
            out = width * 2**i
            blocks += [BasicBlock1d(c, out, s), BasicBlock1d(out, out)]
            c = out
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(c, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) of one-hot X (N, 4, L)."""
        return self.head(self.pool(self.blocks(self.stem(X))).flatten(1))
