"""Data records shared by tasks, methods and metrics: datasets, ground truth, backgrounds."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "Motif",
    "GroundTruth",
    "Dataset",
    "Background",
    "content_hash",
    "onehot_codes",
    "codes_onehot",
    "open_text",
    "fasta_records",
]


@dataclass(frozen=True)
class Motif:
    """One ground-truth motif occurrence: ``kind`` over positions ``start:end`` (end exclusive)."""

    kind: str
    start: int
    end: int

    def __len__(self) -> int:
        return self.end - self.start


@dataclass
class GroundTruth:
    """Ground-truth motif occurrences, one list per sequence.

    Parameters
    ----------
    motifs : list of list of Motif
        ``motifs[i]`` are the occurrences in sequence ``i`` (may be empty).
    """

    motifs: list[list[Motif]]

    def __len__(self) -> int:
        return len(self.motifs)

    def positions(self, length: int) -> torch.Tensor:
        """Positions covered by any motif.

        Returns
        -------
        positions : torch.Tensor, shape=(N, length), bool
        """
        out = torch.zeros(len(self.motifs), length, dtype=torch.bool)
        for i, motifs in enumerate(self.motifs):
            for m in motifs:
                out[i, m.start : m.end] = True
        return out

    def subset(self, index: torch.Tensor | np.ndarray | Sequence[int]) -> GroundTruth:
        """The ground truth of the sequences at ``index``."""
        return GroundTruth([self.motifs[int(i)] for i in index])


@dataclass(init=False)
class Dataset:
    """One split of a task, in the tensor contract, kept as int8 letter codes.

    Sequences are stored as codes (N, L) (-1 on padding): a 21-letter
    split of 15,000 x 1000 takes 15 MB instead of the 1.3 GB of its float32
    one-hot; the one-hot ``X`` is built on demand (:attr:`X` for all rows,
    :meth:`onehot` for some), so code that walks a large split should take it in
    batches (:meth:`batches`).

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L), float32, optional
        One-hot sequences, padding as all-zero columns (converted to codes).
    mask : torch.Tensor, shape=(N, L), bool, optional
        True on real positions (with ``X``; derived from the codes otherwise).
    y : torch.Tensor, shape=(N,), int64
        True class of each sequence.
    ids : list of str
        A stable name per sequence.
    ground_truth : GroundTruth, optional
        Ground-truth motifs where the task has them.
    extra : dict
        Task-specific per-sequence fields (lists or tensors of length N).
    codes : torch.Tensor, shape=(N, L), int8, optional
        Letter codes instead of ``X`` (-1 on padding); with ``n_letters`` = A.
    """

    codes: torch.Tensor
    n_letters: int
    y: torch.Tensor
    ids: list[str]
    ground_truth: GroundTruth | None
    extra: dict[str, Any]

    def __init__(
        self,
        X: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        y: torch.Tensor | None = None,
        ids: list[str] | None = None,
        ground_truth: GroundTruth | None = None,
        extra: dict[str, Any] | None = None,
        *,
        codes: torch.Tensor | None = None,
        n_letters: int | None = None,
    ) -> None:
        if codes is None:
            assert X is not None and mask is not None, "Dataset needs X and mask, or codes"
            codes, n_letters = onehot_codes(X, mask), X.shape[1]
        assert n_letters is not None and y is not None and ids is not None
        self.codes, self.n_letters = codes.to(torch.int8), int(n_letters)
        self.y, self.ids = y, list(ids)
        self.ground_truth, self.extra = ground_truth, dict(extra or {})

    def __len__(self) -> int:
        return len(self.y)

    @property
    def length(self) -> int:
        """L, the encoded length of every row."""
        return self.codes.shape[1]

    @property
    def mask(self) -> torch.Tensor:
        """True on real positions, shape=(N, L), bool."""
        return self.codes >= 0

    @property
    def X(self) -> torch.Tensor:
        """The one-hot sequences of every row, shape=(N, A, L), float32 (built on each access)."""
        return codes_onehot(self.codes, self.n_letters)

    def onehot(self, index: torch.Tensor | slice) -> torch.Tensor:
        """The one-hot sequences of the rows at ``index``, shape=(n, A, L), float32."""
        return codes_onehot(self.codes[index], self.n_letters)

    def batches(self, size: int) -> Iterator[tuple[int, torch.Tensor]]:
        """``(start, X)`` for consecutive blocks of ``size`` rows, one-hot built per block."""
        for i in range(0, len(self), size):
            yield i, self.onehot(slice(i, i + size))

    @property
    def hash(self) -> str:
        """Content hash of the letter codes, y and ids (16 hex digits).

        The sequences are hashed as int8 letter codes (-1 on padding), so the hash
        does not depend on how they are stored.
        """
        h = hashlib.sha256(b"codes-v1" + str(tuple(self.codes.shape)).encode())
        h.update(self.codes.contiguous().numpy().tobytes())
        h.update(self.y.to(torch.int64).contiguous().numpy().tobytes())
        h.update("\n".join(self.ids).encode())
        return h.hexdigest()[:16]

    def subset(self, index: torch.Tensor | np.ndarray | list[int]) -> Dataset:
        """The sequences at ``index``, in that order."""
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        extra = {k: _take(v, index) for k, v in self.extra.items()}
        gt = self.ground_truth.subset(index) if self.ground_truth is not None else None
        return replace(
            self,
            codes=self.codes[index],
            y=self.y[index],
            ids=[self.ids[i] for i in index.tolist()],
            ground_truth=gt,
            extra=extra,
        )


def onehot_codes(
    X: torch.Tensor, mask: torch.Tensor | None = None, chunk: int = 1024
) -> torch.Tensor:
    """Letter codes (N, L), int8, of one-hot ``X`` (N, A, L): -1 where ``mask`` is False.

    ``mask`` defaults to the non-zero columns of ``X``.
    """
    out = torch.empty(X.shape[0], X.shape[2], dtype=torch.int8)
    for i in range(0, len(X), chunk):
        part = X[i : i + chunk]
        real = mask[i : i + chunk] if mask is not None else part.sum(1) > 0
        out[i : i + chunk] = torch.where(real, part.argmax(1), -1).to(torch.int8)
    return out


def codes_onehot(codes: torch.Tensor, n_letters: int) -> torch.Tensor:
    """One-hot X (N, A, L), float32, of letter codes (N, L) (-1: an all-zero padding column)."""
    letters = torch.arange(n_letters, dtype=codes.dtype, device=codes.device)[None, :, None]
    return (codes[:, None, :] == letters).float()


def _take(value: torch.Tensor | list[Any], index: torch.Tensor) -> torch.Tensor | list[Any]:
    if isinstance(value, torch.Tensor):
        return value[index]
    return [value[i] for i in index.tolist()]


def content_hash(*parts: torch.Tensor | np.ndarray | str | bytes) -> str:
    """sha256 over tensors' bytes and strings, first 16 hex digits."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().contiguous().numpy()
        if isinstance(part, np.ndarray):
            h.update(str(part.dtype).encode() + str(part.shape).encode())
            part = np.ascontiguousarray(part).tobytes()
        if isinstance(part, str):
            part = part.encode()
        h.update(part)
    return h.hexdigest()[:16]


@dataclass
class Background:
    """The background distribution of a task: letter probabilities per position.

    Perturbation metrics and reference-based methods draw from it.

    Parameters
    ----------
    probs : torch.Tensor, shape=(A, L) or (A,)
        Letter probabilities per position (columns sum to one), or one
        distribution shared by every position.
    """

    probs: torch.Tensor

    def probs_for(self, length: int) -> torch.Tensor:
        """Per-position probabilities for sequences of ``length``.

        Returns
        -------
        probs : torch.Tensor, shape=(A, length)
        """
        p = self.probs
        if p.dim() == 1:
            return p[:, None].expand(-1, length).contiguous()
        if p.shape[1] < length:
            raise ValueError(f"background covers {p.shape[1]} positions, need {length}")
        return p[:, :length]

    def sample(
        self, n: int, length: int, generator: torch.Generator, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Draw ``n`` one-hot sequences; columns where ``mask`` is False stay zero.

        Parameters
        ----------
        mask : torch.Tensor, shape=(n, length), bool, optional

        Returns
        -------
        X : torch.Tensor, shape=(n, A, length), float32
        """
        probs = self.probs_for(length)
        A = probs.shape[0]
        idx = torch.multinomial(probs.T.float(), n, replacement=True, generator=generator).T
        X = torch.nn.functional.one_hot(idx, A).permute(0, 2, 1).float()
        if mask is not None:
            X = X * mask[:, None, :].to(X.dtype)
        return X

    def fill(self, X: torch.Tensor, keep: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Resample the real positions of ``X`` that ``keep`` marks False.

        Parameters
        ----------
        X : torch.Tensor, shape=(N, A, L)
        keep : torch.Tensor, shape=(N, L), bool

        Returns
        -------
        X_new : torch.Tensor, shape=(N, A, L); padding stays padding.
        """
        mask = X.sum(1) > 0
        draw = self.sample(X.shape[0], X.shape[2], generator).to(X.device)
        replace_ = (~keep & mask)[:, None, :]
        return torch.where(replace_, draw, X)

    def mean(self, X: torch.Tensor) -> torch.Tensor:
        """The expected background sequence shaped like ``X``, zero on padding.

        Returns
        -------
        baseline : torch.Tensor, shape=(N, A, L)
        """
        mask = (X.sum(1) > 0)[:, None, :].to(X.dtype)
        return self.probs_for(X.shape[2]).to(X)[None] * mask

    @classmethod
    def from_dataset(
        cls, X: torch.Tensor, per_position: bool = True, pseudocount: float = 1.0
    ) -> Background:
        """Letter frequencies of one-hot ``X`` (N, A, L), with a pseudocount."""
        counts = X.sum(0) if per_position else X.sum((0, 2))
        return cls._normalised(counts + pseudocount)

    @classmethod
    def from_codes(
        cls, ds: Dataset, per_position: bool = True, pseudocount: float = 1.0
    ) -> Background:
        """Letter frequencies of a dataset's codes (no one-hot built), with a pseudocount.

        Equal to ``from_dataset(ds.X, ...)``.
        """
        A, L = ds.n_letters, ds.length
        size = A * L if per_position else A
        counts = torch.zeros(size, dtype=torch.float64)
        for i in range(0, len(ds.codes), 1024):  # int64 temporaries of 1024 rows at a time
            codes = ds.codes[i : i + 1024].long()
            real = codes >= 0
            flat = (codes * L + torch.arange(L))[real] if per_position else codes[real]
            counts += torch.bincount(flat, minlength=size).double()
        counts = counts.view(A, L) if per_position else counts
        return cls._normalised(counts + pseudocount)

    @classmethod
    def _normalised(cls, counts: torch.Tensor) -> Background:
        return cls((counts / counts.sum(0, keepdim=True)).float())


def open_text(path: Path) -> io.TextIOBase:
    """``path`` opened for reading text (UTF-8), gunzipped when it ends in ``.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def fasta_records(
    path: Path,
    error: type[Exception] = ValueError,
    check_line: Callable[[str, int, str, int], None] | None = None,
) -> Iterator[tuple[int, str, str]]:
    """``(header line number, header, sequence)`` of every record of a FASTA file.

    Parameters
    ----------
    path : Path
        Plain or ``.gz``.
    error : type of Exception
        Raised, naming file and line, for sequence data before the first header
        and for a file without records.
    check_line : callable, optional
        ``check_line(line, line_number, header, offset)`` on every sequence line,
        ``offset`` being the letters of the record before it (e.g. to name the
        line and position of a bad letter).
    """
    header: str | None = None
    number, length = 0, 0
    parts: list[str] = []
    with open_text(path) as f:
        for lineno, line in enumerate(f, start=1):
            line = line.strip()
            if line.startswith(">"):
                if header is not None:
                    yield number, header, "".join(parts)
                header, number, parts, length = line[1:].strip(), lineno, [], 0
            elif line:
                if header is None:
                    raise error(f"{path}:{lineno}: sequence before the first '>' header")
                if check_line is not None:
                    check_line(line, lineno, header, length)
                parts.append(line)
                length += len(line)
    if header is None:
        raise error(f"{path}: no FASTA records (empty file?)")
    yield number, header, "".join(parts)
