"""The model zoo of the ``codon`` task: the seed's 1-D ResNet18 and a small CNN.

Every model takes one-hot X (N, 4, 70) and returns logits (N, 4).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from attrbench.core.plugin import ModelSpec
from attrbench_tasks.common.resnet1d import ResNet1d18

from .data import CLASSES

__all__ = ["CodonCNN", "CONFIGS", "zoo", "CHECKPOINT_DIR"]

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "codon"


class CodonCNN(nn.Module):
    """A codon convolution (k=3), a second convolution, global max pooling, linear head.

    X : (N, 4, 70) -> logits (N, 4)
    """

    kind = "cnn"

    def __init__(self, channels: int = 32, n_classes: int = len(CLASSES)) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(4, channels, 3, padding=1),
            nn.ReLU(),
            nn.Conv1d(channels, channels, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveMaxPool1d(1),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(channels, 32), nn.ReLU(), nn.Linear(32, n_classes)
        )

    def forward(self, X):
        """Logits (N, 4) of one-hot X (N, 4, 70)."""
        return self.head(self.body(X))


#: Architecture and training configuration of each zoo model (stored in its checkpoint).
CONFIGS = {
    "resnet18": {
        "arch": {"width": 8, "strides": [1, 2, 2, 2]},
        "train": {"epochs": 3, "batch_size": 128, "lr": 1e-3, "patience": 3, "select": "accuracy"},
    },
    "cnn": {
        "arch": {"channels": 32},
        "train": {"epochs": 4, "batch_size": 128, "lr": 2e-3, "patience": 3, "select": "accuracy"},
    },
}


def _resnet() -> ResNet1d18:
    a = CONFIGS["resnet18"]["arch"]
    return ResNet1d18(len(CLASSES), width=a["width"], strides=tuple(a["strides"]))


def zoo() -> dict[str, ModelSpec]:
    """The zoo: ``resnet18`` (default, the seed's) and ``cnn``."""
    return {
        "resnet18": ModelSpec(
            "resnet18", _resnet, CONFIGS["resnet18"], "1-D ResNet18 (seed 003), widths 8-16-32-64"
        ),
        "cnn": ModelSpec(
            "cnn",
            lambda: CodonCNN(**CONFIGS["cnn"]["arch"]),
            CONFIGS["cnn"],
            "codon conv + conv + global max pool",
        ),
    }
