"""Example attributions kept in a record, compact enough for every cost record.

The runner stores, in each cost record (metric ``seconds_per_seq``),
``record.extra["examples"] = pack_examples(...)``: the first ``k`` explained
sequences as int8 letter codes (-1 on padding), their position scores as
float32 and their ground-truth motif spans, compressed like
:func:`attrbench.running.results.pack_values`. The site draws its logos from them, so it
needs the records alone.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from attrbench.core.data import GroundTruth, Motif

__all__ = ["Examples", "pack_examples", "unpack_examples"]


@dataclass
class Examples:
    """A few explained sequences of one (task, model, method).

    Parameters
    ----------
    ids : list of str, length K
    letters : str
        The alphabet; code ``i`` is ``letters[i]``.
    codes : np.ndarray, shape=(K, L), int8
        Letter codes, -1 on padding.
    scores : np.ndarray, shape=(K, L), float32
        Position scores ``(attr * X).sum(1)``, 0 on padding.
    motifs : list of list of Motif, length K
        Ground-truth motifs (empty lists where the task has none).
    """

    ids: list[str]
    letters: str
    codes: np.ndarray
    scores: np.ndarray
    motifs: list[list[Motif]]

    def __len__(self) -> int:
        return len(self.ids)

    def sequence(self, i: int) -> str:
        """The letters of example ``i``, padding dropped."""
        return "".join(self.letters[c] for c in self.codes[i] if c >= 0)

    def length(self, i: int) -> int:
        """The number of real positions of example ``i``."""
        return int((self.codes[i] >= 0).sum())


def _pack(array: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(np.ascontiguousarray(array).tobytes(), 9)).decode("ascii")


def _unpack(text: str, dtype: str, shape: tuple[int, int]) -> np.ndarray:
    raw = np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=dtype)
    array: np.ndarray = raw.reshape(shape).copy()
    return array


def pack_examples(
    ids: list[str],
    X: torch.Tensor,
    attributions: torch.Tensor,
    ground_truth: GroundTruth | None,
    letters: str,
    k: int = 3,
) -> dict[str, Any]:
    """The JSON-serialisable, compressed form of the first ``k`` explained sequences.

    Parameters
    ----------
    ids : list of str, length N
    X : torch.Tensor, shape=(N, A, L)
        One-hot sequences, padding all-zero columns.
    attributions : torch.Tensor, shape=(N, A, L)
    ground_truth : GroundTruth, optional
    letters : str
        The task's alphabet letters (A of them).
    k : int
        How many sequences to keep (fewer if N < k).

    Returns
    -------
    packed : dict
        ``{"ids", "letters", "length", "codes", "scores", "motifs"}``; read it with
        :func:`unpack_examples`.
    """
    k = min(k, len(ids))
    x = X[:k].detach().cpu()
    real = x.sum(1) > 0
    codes = torch.where(real, x.argmax(1), -1).numpy().astype(np.int8)
    scores = (attributions[:k].detach().cpu().float() * x).sum(1).numpy().astype("<f4")
    motifs = [[] for _ in range(k)] if ground_truth is None else ground_truth.motifs[:k]
    return {
        "ids": list(ids[:k]),
        "letters": letters,
        "length": int(x.shape[-1]),
        "codes": _pack(codes),
        "scores": _pack(scores),
        "motifs": [[[m.kind, int(m.start), int(m.end)] for m in row] for row in motifs],
    }


def unpack_examples(d: dict[str, Any]) -> Examples:
    """The :class:`Examples` of a :func:`pack_examples` dict."""
    shape = (len(d["ids"]), int(d["length"]))
    return Examples(
        ids=list(d["ids"]),
        letters=d["letters"],
        codes=_unpack(d["codes"], "i1", shape),
        scores=_unpack(d["scores"], "<f4", shape),
        motifs=[[Motif(kind, start, end) for kind, start, end in row] for row in d["motifs"]],
    )
