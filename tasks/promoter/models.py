"""The model zoo of the ``promoter`` task: a CNN, a 1-D ResNet18 and a 6-mer transformer.

Every model takes one-hot X (N, 4, 251) and returns logits (N, 2).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from attrbench.core.plugin import ModelSpec
from attrbench_tasks.common.kmer import KmerTransformer
from attrbench_tasks.common.resnet1d import ResNet1d18

from .data import CLASSES, WINDOW

__all__ = ["PromoterCNN", "CONFIGS", "zoo", "CHECKPOINT_DIR"]

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "promoter"


class PromoterCNN(nn.Module):
    """Two conv-ReLU-maxpool stages (k=15, k=7) and a dense head.

    X : (N, 4, 251) -> logits (N, 2)
    """

    kind = "cnn"

    def __init__(
        self,
        channels: int = 64,
        hidden: int = 64,
        length: int = WINDOW,
        n_classes: int = len(CLASSES),
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(4, channels, 15, padding=7),
            nn.ReLU(),
            nn.MaxPool1d(4),
            nn.Conv1d(channels, channels, 7, padding=3),
            nn.ReLU(),
            nn.MaxPool1d(4),
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(channels * (length // 16), hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, X):
        """Logits (N, 2) of one-hot X (N, 4, 251)."""
        return self.head(self.body(X))


#: Architecture and training configuration of each zoo model (stored in its checkpoint).
CONFIGS = {
    "cnn": {
        "arch": {"channels": 64, "hidden": 64},
        "train": {"epochs": 4, "batch_size": 128, "lr": 1e-3, "patience": 3, "select": "accuracy"},
    },
    "resnet18": {
        "arch": {"width": 16, "strides": [1, 2, 2, 2]},
        "train": {"epochs": 3, "batch_size": 128, "lr": 1e-3, "patience": 3, "select": "accuracy"},
    },
    "transformer": {
        "arch": {"k": 6, "d": 32, "heads": 2, "layers": 1, "ff": 64, "dropout": 0.0},
        "train": {
            "epochs": 2,
            "batch_size": 64,
            "lr": 1e-3,
            "patience": 2,
            "select": "accuracy",
            "clip_norm": 1.0,
        },
    },
}


def _cnn() -> PromoterCNN:
    return PromoterCNN(**CONFIGS["cnn"]["arch"])


def _resnet() -> ResNet1d18:
    a = CONFIGS["resnet18"]["arch"]
    return ResNet1d18(len(CLASSES), width=a["width"], strides=tuple(a["strides"]))


def _transformer() -> KmerTransformer:
    return KmerTransformer(len(CLASSES), WINDOW, **CONFIGS["transformer"]["arch"])


def zoo() -> dict[str, ModelSpec]:
    """The zoo: ``cnn`` (default), ``resnet18``, ``transformer``."""
    return {
        "cnn": ModelSpec("cnn", _cnn, CONFIGS["cnn"], "2 conv-ReLU-maxpool stages + dense head"),
        "resnet18": ModelSpec(
            "resnet18", _resnet, CONFIGS["resnet18"], "1-D ResNet18, widths 16-32-64-128"
        ),
        "transformer": ModelSpec(
            "transformer",
            _transformer,
            CONFIGS["transformer"],
            "6-mer transformer (DNABERT style, from scratch), 1 layer, d=32",
        ),
    }
