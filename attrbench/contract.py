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

import warnings
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
    """An ordered alphabet with optional letter aliases.

    Parameters
    ----------
    name : str
        A short name used in messages (e.g. the task's alphabet name).
    letters : str
        The channel order of ``X``; channel ``i`` is ``letters[i]``.
    aliases : dict
        Letters accepted and mapped to another letter (with a counted warning).
    """

    name: str
    letters: str
    aliases: tuple[tuple[str, str], ...] = ()

    def __len__(self) -> int:
        return len(self.letters)

    def encode(
        self, seqs: list[str], length: int, ids: list[str] | None = None,
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
        index = np.full(256, -1, dtype=np.int64)
        for i, letter in enumerate(self.letters):
            index[ord(letter)] = index[ord(letter.lower())] = i
        mapped = 0
        for src, dst in self.aliases:
            index[ord(src)] = index[ord(src.lower())] = self.letters.index(dst)
        X = np.zeros((len(seqs), len(self.letters), length), dtype=np.float32)
        for n, seq in enumerate(seqs):
            if len(seq) > length:
                raise SequenceError(f"{_name(ids, n)}: length {len(seq)} exceeds {length}")
            codes = index[np.frombuffer(seq.encode("latin-1"), dtype=np.uint8)]
            bad = np.flatnonzero(codes < 0)
            if len(bad) and unknown is None:
                pos = int(bad[0])
                raise SequenceError(
                    f"{_name(ids, n)}: letter {seq[pos]!r} at position {pos + 1} is not in "
                    f"the {self.name} alphabet {self.letters}"
                )
            if len(bad):
                codes[bad] = self.letters.index(unknown)
                mapped += len(bad)
            mapped += sum(seq.upper().count(src) for src, _ in self.aliases)
            X[n, codes, np.arange(len(seq))] = 1.0
        if mapped:
            warnings.warn(f"{mapped} letters mapped to aliases or unknown", stacklevel=2)
        return torch.from_numpy(X)

    def decode(self, X: torch.Tensor) -> list[str]:
        """Turn one-hot ``X`` (N, A, L) back into strings, dropping padding."""
        out = []
        for x in X:
            real = x.sum(0) > 0
            out.append("".join(self.letters[i] for i in x.argmax(0)[real].tolist()))
        return out


def _name(ids: list[str] | None, n: int) -> str:
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
    X: torch.Tensor, mask: torch.Tensor | None = None, target: torch.Tensor | None = None,
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
    return f"{type(t).__name__} {tuple(t.shape)} {t.dtype}" if isinstance(t, torch.Tensor) else repr(type(t))
