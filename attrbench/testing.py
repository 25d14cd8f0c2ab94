"""Tiny seeded models and data with known structure, for tests and benchmarks.

``Linear`` (integrated gradients equals ``w * (x - baseline)`` exactly),
``TinyCNN`` (every nonlinearity its own module, as DeepLIFT needs) and
``TinyAttention`` (additive attention over real positions, so attention methods
are contract-tested too), plus random one-hot data with padding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "A",
    "L",
    "T",
    "Linear",
    "TinyCNN",
    "TinyAttention",
    "random_onehot",
    "naive_find",
    "RUN_FIELDS",
    "RUN_EXTRA",
    "comparable",
]

#: Alphabet size, length and number of classes of the toy data.
A, L, T = 4, 24, 3


class Linear(nn.Module):
    """logits = W . flatten(X) + b: IG equals w * (x - baseline) exactly.

    X : (N, A, L) -> logits (N, T)
    """

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

    def __init__(self, a: int = A, t: int = T, channels: int = 8, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv1d(a, channels, 5, padding=2)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv1d(channels, channels, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.flat = nn.Flatten()
        self.head = nn.Linear(channels, t)
        _reseed(self, g)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        h = self.relu2(self.conv2(self.relu1(self.conv1(X))))
        out: torch.Tensor = self.head(self.flat(self.pool(h)))
        return out


class TinyAttention(nn.Module):
    """Conv embedding -> additive attention over real positions -> Linear, seeded.

    Exposes ``attention_weights(X) -> (N, L)`` (zero on padding, summing to one over
    real positions), so the attention methods apply.
    X : (N, A, L) -> logits (N, T)
    """

    def __init__(self, a: int = A, t: int = T, channels: int = 8, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.embed = nn.Conv1d(a, channels, 3, padding=1)
        self.score = nn.Linear(channels, 1)
        self.head = nn.Linear(channels, t)
        _reseed(self, g)

    def _hidden(self, X: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.embed(X)).transpose(1, 2)

    def attention_weights(self, X: torch.Tensor) -> torch.Tensor:
        """Softmax of the attention scores over real positions (N, L); zero on padding."""
        real = X.sum(1) > 0
        scores = self.score(self._hidden(X))[..., 0].masked_fill(~real, float("-inf"))
        return torch.softmax(scores, 1).nan_to_num(0.0)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        weights = self.attention_weights(X)
        out: torch.Tensor = self.head((weights[..., None] * self._hidden(X)).sum(1))
        return out


def _reseed(module: nn.Module, g: torch.Generator) -> None:
    """Re-draw every weight from N(0, 1/fan_in) and every bias from N(0, 0.1^2) with ``g``."""
    with torch.no_grad():
        for p in module.parameters():
            scale = (p[0].numel() ** -0.5) if p.dim() > 1 else 0.1
            p.copy_(torch.randn(p.shape, generator=g) * scale)


def random_onehot(
    n: int = 6, length: int = L, seed: int = 0, pad: int = 0, a: int = A
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random one-hot X (n, a, length) whose last ``pad`` columns are padding, and its mask (n, length)."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, a, (n, length), generator=g)
    X = nn.functional.one_hot(idx, a).permute(0, 2, 1).float()
    mask = torch.ones(n, length, dtype=torch.bool)
    if pad:
        X[:, :, length - pad :] = 0
        mask[:, length - pad :] = False
    return X, mask


def naive_find(text: str, starts: np.ndarray, peptide: str) -> list[tuple[int, int]]:
    """Every (entry, position) of ``peptide`` in entries joined into ``text`` (entry ``e``
    starting at ``starts[e]``), by scanning with ``str.find``: the reference of the index."""
    found, i = [], text.find(peptide)
    while i >= 0:
        entry = int(np.searchsorted(starts, i, side="right") - 1)
        found.append((entry, i - int(starts[entry])))
        i = text.find(peptide, i + 1)
    return found


#: Record fields that describe the run rather than its result (time, commit, date).
RUN_FIELDS = ("wall_time", "git_commit", "date")
#: Entries of a cost record's ``extra`` that are measurements of the run.
RUN_EXTRA = ("seconds", "fit_seconds", "peak_bytes")


def comparable(record: Any) -> dict[str, Any]:
    """What must be equal between two runs of the same cells, whatever executes them: the
    record as a dict without :data:`RUN_FIELDS`, :data:`RUN_EXTRA` and a cost record's value
    (seconds per sequence); NaN as None, so that equal records compare equal."""
    from dataclasses import asdict

    from attrbench.running.plan import COST

    d = asdict(record)
    for name in RUN_FIELDS:
        d.pop(name)
    d["extra"] = {k: v for k, v in d["extra"].items() if k not in RUN_EXTRA}
    if record.key.metric == COST:
        d["value"] = None
    out: dict[str, Any] = _nan_as_none(d)
    return out


def _nan_as_none(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _nan_as_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_as_none(v) for v in obj]
    return obj
