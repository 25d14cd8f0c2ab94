"""Data records shared by tasks, methods and metrics: datasets, ground truth, backgrounds."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

__all__ = ["Motif", "GroundTruth", "Dataset", "Background", "content_hash", "codes_hash", "open_text",
           "fasta_records"]


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

    def subset(self, index: torch.Tensor | np.ndarray | list[int]) -> GroundTruth:
        """The ground truth of the sequences at ``index``."""
        return GroundTruth([self.motifs[int(i)] for i in index])


@dataclass
class Dataset:
    """One split of a task, in the tensor contract.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L), float32
        One-hot sequences, padding as all-zero columns.
    mask : torch.Tensor, shape=(N, L), bool
        True on real residues.
    y : torch.Tensor, shape=(N,), int64
        True class of each sequence.
    ids : list of str
        A stable name per sequence.
    ground_truth : GroundTruth, optional
        Ground-truth motifs where the task has them.
    extra : dict
        Task-specific per-sequence fields (lists or tensors of length N).
    """

    X: torch.Tensor
    mask: torch.Tensor
    y: torch.Tensor
    ids: list[str]
    ground_truth: GroundTruth | None = None
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.y)

    @property
    def hash(self) -> str:
        """Content hash of the letter codes, y and ids (16 hex digits).

        The sequences are hashed as int8 letter codes (-1 on padding), so the hash
        does not depend on how they are stored and hashing never copies the one-hot.
        """
        return codes_hash(self.X, self.mask, self.y, self.ids)

    def subset(self, index: torch.Tensor | np.ndarray | list[int]) -> Dataset:
        """The sequences at ``index``, in that order."""
        index = torch.as_tensor(np.asarray(index), dtype=torch.long)
        extra = {k: _take(v, index) for k, v in self.extra.items()}
        gt = self.ground_truth.subset(index) if self.ground_truth is not None else None
        return replace(
            self, X=self.X[index], mask=self.mask[index], y=self.y[index],
            ids=[self.ids[i] for i in index.tolist()], ground_truth=gt, extra=extra,
        )


def _take(value, index: torch.Tensor):
    if isinstance(value, torch.Tensor):
        return value[index]
    return [value[i] for i in index.tolist()]


def codes_hash(
    X: torch.Tensor, mask: torch.Tensor, y: torch.Tensor, ids: list[str], chunk: int = 1024
) -> str:
    """sha256 of the int8 letter codes of one-hot ``X`` (-1 on padding), ``y`` and ``ids``.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
    mask : torch.Tensor, shape=(N, L), bool
    y : torch.Tensor, shape=(N,)

    Returns
    -------
    digest : str, 16 hex digits
    """
    h = hashlib.sha256(b"codes-v1" + str(tuple(mask.shape)).encode())
    for i in range(0, len(X), chunk):
        codes = X[i : i + chunk].argmax(1).to(torch.int8)
        codes[~mask[i : i + chunk]] = -1
        h.update(codes.contiguous().numpy().tobytes())
    h.update(y.to(torch.int64).contiguous().numpy().tobytes())
    h.update("\n".join(ids).encode())
    return h.hexdigest()[:16]


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

    def fill(
        self, X: torch.Tensor, keep: torch.Tensor, generator: torch.Generator
    ) -> torch.Tensor:
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
    def from_dataset(cls, X: torch.Tensor, per_position: bool = True, pseudocount: float = 1.0):
        """Letter frequencies of one-hot ``X`` (N, A, L), with a pseudocount."""
        counts = X.sum(0) if per_position else X.sum((0, 2))
        counts = counts + pseudocount
        return cls((counts / counts.sum(0, keepdim=True)).float())


def open_text(path: Path) -> io.TextIOBase:
    """``path`` opened for reading text (UTF-8), gunzipped when it ends in ``.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return path.open(encoding="utf-8")


def fasta_records(
    path: Path, error: type[Exception] = ValueError,
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
        ``offset`` being the residues of the record before it (e.g. to name the
        line and position of a bad letter).
    """
    header, number, parts, length = None, 0, [], 0
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
