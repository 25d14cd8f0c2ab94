"""The one tensor contract of attrbench (SPEC section 2), written once.

=============  ======================  ==========================================
thing          shape / dtype           notes
=============  ======================  ==========================================
``X``          float32 (N, A, L)       one-hot, channels first; padding is an
                                       all-zero column
``mask``       bool (N, L)             True on real positions
``logits``     float (N, T)            what a model returns for ``X``
``target``     int64 (N,)              the class explained
attributions   float32 (N, A, L)       what a method returns
position       float32 (N, L)          ``(attr * X).sum(1)``
=============  ======================  ==========================================

Everything is validated once, at the boundary (CLI, loaders, the runner);
inside, functions trust the contract.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "Alphabet",
    "ContractError",
    "SequenceError",
    "one_hot",
    "mask_of",
    "position_scores",
    "validate_inputs",
    "validate_attributions",
]


class ContractError(ValueError):
    """A tensor does not follow the contract of SPEC section 2."""


class SequenceError(ValueError):
    """A user sequence holds a letter outside the task's alphabet."""


@dataclass(frozen=True)
class Alphabet:
    """An ordered alphabet with optional letter aliases, and its one letter table.

    Parameters
    ----------
    name : str
        A short name used in messages (e.g. the task's alphabet name).
    letters : str
        The channel order of ``X``; channel ``i`` is ``letters[i]``.
    aliases : tuple of (str, str)
        Letters accepted and mapped to another letter (counted in a warning).

    Examples
    --------
    >>> abc = Alphabet("abc", "ABC", (("Z", "C"),))
    >>> abc.codes(["abz", "C"]).tolist()
    [0, 1, 2, 2]
    """

    name: str
    letters: str
    aliases: tuple[tuple[str, str], ...] = ()

    def __len__(self) -> int:
        return len(self.letters)

    @functools.cached_property
    def table(self) -> np.ndarray:
        """Byte -> channel index (256,) int16, either case; aliases map to their letter; -1 elsewhere."""
        table = np.full(256, -1, dtype=np.int16)
        for i, letter in enumerate(self.letters):
            table[ord(letter)] = table[ord(letter.lower())] = i
        for src, dst in self.aliases:
            table[ord(src)] = table[ord(src.lower())] = self.letters.index(dst)
        return table

    @functools.cached_property
    def _is_alias(self) -> np.ndarray:
        alias = np.zeros(256, dtype=bool)
        alias[[ord(c) for src, _ in self.aliases for c in (src, src.lower())]] = True
        return alias

    def codes(
        self, seqs: Sequence[str], ids: Sequence[str] | None = None, unknown: str | None = None
    ) -> np.ndarray:
        """Channel index of every letter of the concatenated sequences, validated.

        Aliases are counted in one warning; a letter outside the alphabet raises
        :class:`SequenceError` naming the record and its 1-based position, or
        maps to ``unknown`` (counted in a warning).

        Parameters
        ----------
        seqs : sequence of str
        ids : sequence of str, optional
            Record names used in error messages (default: ``sequence <i>``).
        unknown : str, optional
            A letter of the alphabet that letters outside it map to.

        Returns
        -------
        codes : np.ndarray, shape=(sum of lengths,), int8
        """
        raw = np.frombuffer("".join(seqs).encode("ascii", errors="replace"), dtype=np.uint8)
        codes = self.table[raw]
        bad = np.flatnonzero(codes < 0)
        if len(bad) and unknown is None:
            rec, pos = _locate(seqs, int(bad[0]))
            raise SequenceError(
                f"{_name(ids, rec)}: letter {seqs[rec][pos]!r} at position {pos + 1} is not in "
                f"the {self.name} alphabet {self.letters} (remove or replace it in the file; "
                "from Python, unknown=LETTER maps such letters to a letter of the alphabet)"
            )
        if len(bad) and unknown is not None:  # (it is not: checked above)
            codes[bad] = self.letters.index(unknown)
            warnings.warn(f"{len(bad)} unknown letters mapped to {unknown!r}", stacklevel=3)
        n_alias = int(self._is_alias[raw].sum())
        if n_alias:
            names = "/".join(src for src, _ in self.aliases)
            targets = "/".join(dict.fromkeys(dst for _, dst in self.aliases))
            warnings.warn(f"{n_alias} letters {names} mapped to {targets}", stacklevel=3)
        return codes.astype(np.int8)

    def encode(
        self,
        seqs: list[str],
        length: int,
        ids: list[str] | None = None,
        unknown: str | None = None,
    ) -> torch.Tensor:
        """One-hot encode sequences, right-padding with zero columns.

        Parameters
        ----------
        seqs : list of str
            Sequences no longer than ``length`` (trim them before).
        length : int
            L, the encoded length.
        ids : list of str, optional
            Record names used in error messages.
        unknown : str, optional
            A letter of the alphabet that unknown letters map to (counted in a
            warning) instead of raising :class:`SequenceError`.

        Returns
        -------
        X : torch.Tensor, shape=(N, A, L), float32
        """
        lens = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        too_long = np.flatnonzero(lens > length)
        if len(too_long):
            n = int(too_long[0])
            raise SequenceError(f"{_name(ids, n)}: length {lens[n]} exceeds {length}")
        codes = self.codes(seqs, ids, unknown)
        row = np.repeat(np.arange(len(seqs)), lens)
        pos = np.arange(len(codes)) - np.repeat(np.cumsum(lens) - lens, lens)
        X = np.zeros((len(seqs), len(self.letters), length), dtype=np.float32)
        X[row, codes, pos] = 1.0
        return torch.from_numpy(X)

    def decode(self, X: torch.Tensor) -> list[str]:
        """Turn one-hot ``X`` (N, A, L) back into strings, dropping padding.

        Returns
        -------
        seqs : list of str, length N
        """
        letters = np.frombuffer(self.letters.encode("ascii"), dtype=np.uint8)
        x = X.detach().cpu()
        chars = letters[x.argmax(1).numpy()]
        real = (x.sum(1) > 0).numpy()
        return [row[keep].tobytes().decode("ascii") for row, keep in zip(chars, real, strict=True)]


def _locate(seqs: Sequence[str], offset: int) -> tuple[int, int]:
    """(record, position) of ``offset`` in the concatenation of ``seqs``."""
    starts = np.cumsum([0] + [len(s) for s in seqs])
    rec = int(np.searchsorted(starts, offset, side="right") - 1)
    return rec, int(offset - starts[rec])


def _name(ids: Sequence[str] | None, n: int) -> str:
    return f"record {ids[n]!r}" if ids else f"sequence {n + 1}"


def one_hot(seqs: list[str], alphabet: Alphabet, length: int | None = None) -> torch.Tensor:
    """One-hot encode ``seqs`` over ``alphabet``; see :meth:`Alphabet.encode`.

    Returns
    -------
    X : torch.Tensor, shape=(N, len(alphabet), length)
    """
    length = max(map(len, seqs)) if length is None else length
    return alphabet.encode(list(seqs), length)


def mask_of(X: torch.Tensor) -> torch.Tensor:
    """The padding mask of one-hot ``X`` (N, A, L): True where a column is not all zero.

    Returns
    -------
    mask : torch.Tensor, shape=(N, L), bool
    """
    return X.abs().sum(1) > 0


def position_scores(attributions: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """Project attributions onto the observed letters: ``(attr * X).sum(1)``.

    Parameters
    ----------
    attributions : torch.Tensor, shape=(N, A, L)
    X : torch.Tensor, shape=(N, A, L)

    Returns
    -------
    scores : torch.Tensor, shape=(N, L)
    """
    return (attributions * X).sum(1)


def validate_inputs(
    X: torch.Tensor,
    mask: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    alphabet_size: int | None = None,
) -> None:
    """Check ``X``, ``mask`` and ``target`` against the contract; raise :class:`ContractError`."""
    if not isinstance(X, torch.Tensor) or X.dim() != 3:
        raise ContractError(f"X must be a tensor of shape (N, A, L), got {_shape(X)}")
    if X.dtype != torch.float32:
        raise ContractError(f"X must be float32, got {X.dtype}")
    if alphabet_size is not None and X.shape[1] != alphabet_size:
        raise ContractError(f"X has {X.shape[1]} channels, the alphabet has {alphabet_size}")
    col = X.sum(1)
    if not bool(((X == 0) | (X == 1)).all()) or not bool(((col == 0) | (col == 1)).all()):
        raise ContractError("X must be one-hot: each column all zero (padding) or a single 1")
    N, _, L = X.shape
    if mask is not None:
        if mask.dtype != torch.bool or tuple(mask.shape) != (N, L):
            raise ContractError(f"mask must be bool (N, L) = ({N}, {L}), got {_shape(mask)}")
        if bool((mask & (col == 0)).any()):
            raise ContractError("mask is True on a padding column of X")
    if target is not None and (target.dtype != torch.int64 or tuple(target.shape) != (N,)):
        raise ContractError(f"target must be int64 (N,) = ({N},), got {_shape(target)}")


def validate_attributions(attributions: torch.Tensor, X: torch.Tensor, method: str) -> None:
    """Check a method's output: float32, the shape of ``X``, finite."""
    if not isinstance(attributions, torch.Tensor) or attributions.shape != X.shape:
        raise ContractError(
            f"method {method!r} returned {_shape(attributions)}, expected {tuple(X.shape)}"
        )
    if not torch.isfinite(attributions).all():
        raise ContractError(f"method {method!r} returned non-finite attributions")


def _shape(t: object) -> str:
    return (
        f"{type(t).__name__} {tuple(t.shape)} {t.dtype}"
        if isinstance(t, torch.Tensor)
        else repr(type(t))
    )
