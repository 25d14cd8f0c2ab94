"""The psl BiLSTM wrapper and ISM batch size before the lean wrappers, for the ``ism`` benchmark.

``legacy(model)`` makes ``model`` run its BiLSTM as before: sorted by length, in
chunks of 32, padded, concatenated and put back in order, the backward direction
reversed by a gather even when every protein has the batch's length. The
parameters are the model's own.
"""

from __future__ import annotations

import types

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["legacy", "OLD_ISM_BATCH"]

#: Mutants per forward pass of ``ism`` before.
OLD_ISM_BATCH = 1024


def _reverse_index(lengths: torch.Tensor, T: int) -> torch.Tensor:
    t = torch.arange(T, device=lengths.device)[None, :]
    return torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)


def _run(self, z: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    rev = _reverse_index(n, z.shape[1])[..., None]
    f, _ = self.fwd(z)
    b, _ = self.bwd(z.gather(1, rev.expand_as(z)))
    b = b.gather(1, rev.expand_as(b))
    keep = torch.arange(z.shape[1], device=z.device)[None, :] < n[:, None]
    return torch.cat([f, b], 2) * keep[..., None]


def _forward(self, Z: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    T = Z.shape[1]
    order = torch.argsort(lengths, descending=True, stable=True)
    outs = []
    for i in range(0, len(order), self.chunk):
        idx = order[i : i + self.chunk]
        t = int(lengths[idx].max())
        outs.append(F.pad(_run(self, Z[idx, :t], lengths[idx]), (0, 0, 0, T - t)))
    return torch.cat(outs)[torch.argsort(order)]


class _Plain(nn.Module):
    """``model`` without its ``mutant_logits`` capability, so ``ism`` takes the generic path."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.model(X)


def legacy(model: nn.Module) -> nn.Module:
    """A copy of psl ``model`` with the former BiLSTM wrapper and no ``mutant_logits``."""
    import copy

    old = copy.deepcopy(model)
    lstm = old.backbone.lstm
    lstm.forward = types.MethodType(_forward, lstm)
    return _Plain(old).eval()
