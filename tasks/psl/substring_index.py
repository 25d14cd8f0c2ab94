"""An exact-substring index over labelled sequences (suffix array, cached on disk).

A :class:`SubstringIndex` holds entries (a unique key, a sequence, a set of
labels) and answers "which entries contain this substring, and where?" exactly,
for every occurrence, in microseconds. It knows no alphabet: sequences are
ASCII strings already in the form queries will take (validated and normalised
by the caller, e.g. upper case), and labels are already-normalised names. A
task builds its resources on it (e.g. entries labelled with where they occur).

The index
---------
A suffix array of the concatenated sequences, built with ``pydivsufsort``
(Python bindings of Yuta Mori's libdivsufsort, the standard suffix-sorting
library; 5 bytes per letter with the text). A query is libdivsufsort's own
binary search (``sa_search``, in C): the suffixes starting with the query form
one interval of the array, whose entries are the text offsets of every
occurrence; offsets map to (entry, position) with one ``np.searchsorted`` over
the entry start offsets. Sequences are joined with a newline, a letter no
sequence or query may contain, so no match ever spans two entries. Measured
on one shared CPU core (``benchmarks/bench_knowledge.py``): 9.8 million
letters build in 1.5 s and answer a query in about 30 us, 150-200x faster than
a ``str.find`` scan; 200 million letters build in about a minute with 1.2 GB of
peak memory, load from the cache in 0.3 s and answer about 25,000 queries per
second.

Why not an Aho-Corasick automaton (``pyahocorasick``): it is built over the
*queries* and answers by scanning the whole text once per batch of queries,
the same O(letters) work as the naive scan it must beat by 100x, and it has
nothing to keep on disk between runs. The suffix array is built once per
content, cached, and answers each query in O(|query| log letters).

Cache
-----
Stored under ``$ATTRBENCH_CACHE/kb/<hash>/`` (``ATTRBENCH_CACHE`` defaults to
``platformdirs.user_cache_dir("attrbench")``), where ``<hash>`` is the content
hash (keys, sequences, label sets and the class's :attr:`SubstringIndex.FORMAT`):
``text.bin`` (the joined sequences), ``starts.npy``, ``sa.npy`` (memory-mapped
on load) and ``meta.json`` (keys, label sets). Delete the folder to reclaim
the space; it is rebuilt when needed.

Examples
--------
>>> index = SubstringIndex(["r1", "r2"], ["ACGTAC", "TTACG"], [{"a"}, {"a", "b"}], cache=False)
>>> index.find("ACG")
Occurrences(entry=array([0, 1]), position=array([0, 2]))

References
----------
Mori, Y. libdivsufsort: a lightweight suffix-sorting library.
https://github.com/y-256/libdivsufsort (bindings: L. Abraham, ``pydivsufsort``).
Manber, U. & Myers, G. (1993). Suffix arrays: a new method for on-line string
searches. SIAM J. Comput. 22(5), 935-948.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from attrbench.core.data import content_hash

__all__ = ["IndexBuildError", "Occurrences", "Matches", "SubstringIndex", "cache_root", "SEPARATOR"]

#: The byte that ends every sequence in the indexed text (no sequence or query contains it).
SEPARATOR = b"\n"


class IndexBuildError(ValueError):
    """Entries that cannot be indexed (counts differ, empty or duplicate keys, empty sequences)."""


class Occurrences(NamedTuple):
    """Every occurrence of one query, sorted by entry then position.

    Parameters
    ----------
    entry : np.ndarray, shape=(K,), int64
        Entry index (into :attr:`SubstringIndex.keys`).
    position : np.ndarray, shape=(K,), int64
        0-based start of the occurrence in that entry's sequence.
    """

    entry: np.ndarray
    position: np.ndarray


class Matches(NamedTuple):
    """Every occurrence of a batch of queries, as flat arrays of length K.

    Parameters
    ----------
    query : np.ndarray, shape=(K,), int64
        Index of the query in the batch.
    entry, position : np.ndarray, shape=(K,), int64
        As in :class:`Occurrences`.
    """

    query: np.ndarray
    entry: np.ndarray
    position: np.ndarray


def cache_root() -> Path:
    """``$ATTRBENCH_CACHE/kb`` or ``platformdirs.user_cache_dir("attrbench")/kb``."""
    root = os.environ.get("ATTRBENCH_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("attrbench")
    return Path(root) / "kb"


def _check_unique(keys: Sequence[str]) -> None:
    """Raise on the first repeated key, naming both entries."""
    seen: dict[str, int] = {}
    for i, key in enumerate(keys):
        if key in seen:
            raise IndexBuildError(f"duplicate key {key!r} (entries {seen[key]} and {i})")
        seen[key] = i


def _join(keys: Sequence[str], sequences: Sequence[str]) -> tuple[bytes, np.ndarray]:
    """The text (each sequence followed by the separator) and entry starts (N+1,)."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if len(lengths) and lengths.min() == 0:
        raise IndexBuildError(f"entry {keys[int(np.argmin(lengths))]!r} has no sequence")
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=starts[1:])
    text = ("\n".join(sequences) + "\n").encode("ascii")
    if text.count(SEPARATOR) != len(sequences):
        raw = np.frombuffer(text, dtype=np.uint8)
        stray = np.setdiff1d(np.flatnonzero(raw == SEPARATOR[0]), starts[1:] - 1)[0]
        entry = int(np.searchsorted(starts, stray, side="right") - 1)
        raise IndexBuildError(
            f"entry {keys[entry]!r}: a newline at position {int(stray - starts[entry]) + 1} "
            "(the index's separator) inside its sequence"
        )
    return text, starts


class SubstringIndex:
    """Labelled sequences with an exact-substring index (suffix array).

    Parameters
    ----------
    keys : sequence of str
        Unique entry names.
    sequences : sequence of str
        ASCII sequences, already in their query form (no newline inside).
    labels : sequence of iterable of str
        Per entry, its non-empty set of already-normalised labels.
    source : str
        Where the entries come from (kept in the cache's metadata).
    cache : bool
        Load the index from / store it in :func:`cache_root` (default True).

    Attributes
    ----------
    keys : list of str
    labels : list of frozenset of str
    hash : str
        Content hash (16 hex digits) of keys, sequences, label sets and :attr:`FORMAT`.
    text : bytes
        The sequences, each followed by a newline.
    starts : np.ndarray, shape=(N + 1,), int64
        Offset of each sequence in ``text``; ``starts[N] == len(text)``.
    label_names : tuple of str
        Every label present, sorted.
    """

    #: Version of the cache layout (and of a subclass's normalisation): part of every hash.
    FORMAT = "index1"

    def __init__(
        self,
        keys: Sequence[str],
        sequences: Sequence[str],
        labels: Sequence[Iterable[str]],
        *,
        source: str = "",
        cache: bool = True,
    ) -> None:
        keys = [str(k) for k in keys]
        if not len(keys) == len(sequences) == len(labels):
            raise IndexBuildError(
                f"{len(keys)} keys, {len(sequences)} sequences and "
                f"{len(labels)} label sets: they must be as many"
            )
        if not keys:
            raise IndexBuildError("an index needs at least one entry")
        _check_unique(keys)
        label_sets = [frozenset(s) for s in labels]
        text, starts = _join(keys, sequences)
        digest = content_hash(
            self.FORMAT, "\n".join(keys), text, "\n".join(";".join(sorted(s)) for s in label_sets)
        )
        self._setup(keys, text, starts, label_sets, digest, source)
        self.sa = self._index(cache)

    # -- construction helpers

    def _setup(
        self,
        keys: list[str],
        text: bytes,
        starts: np.ndarray,
        label_sets: list[frozenset[str]],
        digest: str,
        source: str,
    ) -> None:
        self.keys, self.text, self.starts = keys, text, starts
        self.labels, self.hash, self.source = label_sets, digest, source
        distinct = {names: k for k, names in enumerate(dict.fromkeys(label_sets))}
        self.label_names = tuple(sorted(set().union(*distinct)))
        column = {name: j for j, name in enumerate(self.label_names)}
        member = np.zeros((len(distinct), len(self.label_names)), dtype=bool)
        for names, k in distinct.items():
            member[k, [column[n] for n in names]] = True
        set_of = np.fromiter(
            (distinct[s] for s in label_sets), dtype=np.int64, count=len(label_sets)
        )
        self._bits = np.packbits(member, axis=1)[set_of]
        self._column = column
        self._row: dict[str, int] | None = None

    def _index(self, cache: bool) -> np.ndarray:
        """The suffix array of ``text``: loaded from the cache, or built (and stored)."""
        directory = cache_root() / self.hash
        if cache and (directory / "sa.npy").is_file():
            return np.load(directory / "sa.npy", mmap_mode="c", allow_pickle=False)
        from pydivsufsort import divsufsort

        sa = np.asarray(divsufsort(self.text))
        if cache:
            self._store(directory, sa)
        return sa

    def _store(self, directory: Path, sa: np.ndarray) -> None:
        """Write the entries and their index into ``directory`` atomically."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{self.hash}-", dir=directory.parent))
        try:
            (tmp / "text.bin").write_bytes(self.text)
            np.save(tmp / "starts.npy", self.starts)
            np.save(tmp / "sa.npy", sa)
            (tmp / "meta.json").write_text(json.dumps(self._meta()))
            os.replace(tmp, directory)
        except OSError:
            if not (directory / "sa.npy").is_file():  # not another process's finished copy
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _meta(self) -> dict:
        sets = sorted(set(self.labels), key=sorted)
        index = {s: i for i, s in enumerate(sets)}
        return {
            "format": self.FORMAT,
            "hash": self.hash,
            "source": self.source,
            "keys": self.keys,
            "label_sets": [sorted(s) for s in sets],
            "label_of": [index[s] for s in self.labels],
        }

    @classmethod
    def load(cls, digest: str):
        """The index cached under ``digest`` (its :attr:`hash`), as an instance of ``cls``.

        Raises
        ------
        FileNotFoundError
            Nothing complete is cached under that hash.
        """
        directory = cache_root() / digest
        if not (directory / "sa.npy").is_file():
            raise FileNotFoundError(f"no index cached in {directory}")
        meta = json.loads((directory / "meta.json").read_text())
        sets = [frozenset(s) for s in meta["label_sets"]]
        index = cls.__new__(cls)
        index._setup(
            meta["keys"],
            (directory / "text.bin").read_bytes(),
            np.load(directory / "starts.npy", allow_pickle=False),
            [sets[i] for i in meta["label_of"]],
            meta["hash"],
            meta["source"],
        )
        index.sa = np.load(directory / "sa.npy", mmap_mode="c", allow_pickle=False)
        return index

    # -- entries

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        letters = len(self.text) - len(self)
        return (
            f"{type(self).__name__}({len(self)} entries, {letters} letters, "
            f"{len(self.label_names)} labels, hash={self.hash})"
        )

    @property
    def sequences(self) -> list[str]:
        """Every sequence, in entry order."""
        return self.text[:-1].decode().split("\n")

    def index_of(self, key: str) -> int:
        """The entry index of ``key``, or -1 if the index does not hold it."""
        if self._row is None:
            self._row = {k: i for i, k in enumerate(self.keys)}
        return self._row.get(key, -1)

    # -- search

    def _offsets(self, pattern: bytes) -> np.ndarray:
        from pydivsufsort import sa_search

        count, left = sa_search(self.text, self.sa, pattern)
        if not count:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self.sa[left : left + count].astype(np.int64))

    def _pattern(self, query: str) -> bytes:
        """The bytes searched for ``query``; a subclass validates and normalises here."""
        if not query or "\n" in query:
            raise ValueError(f"cannot search {query!r}: an empty query or one with a newline")
        return query.encode("ascii")

    def find(self, query: str) -> Occurrences:
        """Every occurrence of ``query`` (exact).

        Returns
        -------
        occurrences : Occurrences
            Entries and 0-based positions, sorted by entry then position.
        """
        offsets = self._offsets(self._pattern(query))
        entry = np.searchsorted(self.starts, offsets, side="right") - 1
        return Occurrences(entry, offsets - self.starts[entry])

    def find_many(self, queries: Sequence[str]) -> Matches:
        """Every occurrence of each of ``queries``, as flat arrays.

        Returns
        -------
        matches : Matches
            ``query[k]`` is the index in ``queries`` of occurrence ``k``; sorted
            by query, then entry, then position.
        """
        offsets = [self._offsets(self._pattern(q)) for q in queries]
        counts = np.array([len(o) for o in offsets], dtype=np.int64)
        flat = np.concatenate(offsets) if offsets else np.zeros(0, dtype=np.int64)
        entry = np.searchsorted(self.starts, flat, side="right") - 1
        query = np.repeat(np.arange(len(queries), dtype=np.int64), counts)
        return Matches(query, entry, flat - self.starts[entry])

    # -- labels

    def label_mask(self, names: Iterable[str]) -> np.ndarray:
        """A packed bit mask (W,) uint8 of label ``names``; names no entry has match nothing."""
        member = np.zeros(len(self.label_names), dtype=bool)
        for name in names:
            if name in self._column:
                member[self._column[name]] = True
        return np.packbits(member)

    def matches_label(self, entries: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Whether each entry has any label of the matching mask.

        Parameters
        ----------
        entries : np.ndarray, shape=(K,), int
        masks : np.ndarray, shape=(K, W) or (W,), uint8
            From :meth:`label_mask`.

        Returns
        -------
        match : np.ndarray, shape=(K,), bool
        """
        return (self._bits[entries] & masks).any(axis=-1)

    def label_share(self, masks: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
        """The share of entries with any label of each mask (chance level of a label match).

        Parameters
        ----------
        masks : np.ndarray, shape=(K, W), uint8
            From :meth:`label_mask`.
        exclude : np.ndarray, shape=(K,), int, optional
            An entry left out of row k's count (-1: none), e.g. the query itself.

        Returns
        -------
        share : np.ndarray, shape=(K,), float64
        """
        masks = np.atleast_2d(masks)
        distinct, inverse = np.unique(masks, axis=0, return_inverse=True)
        counts = np.array([self.matches_label(np.arange(len(self)), m).sum() for m in distinct])
        hits = counts[inverse.ravel()].astype(np.float64)
        total = np.full(len(masks), float(len(self)))
        if exclude is not None:
            ex = np.asarray(exclude)
            inside = ex >= 0
            hits[inside] -= self.matches_label(ex[inside], masks[inside])
            total[inside] -= 1
        return np.where(total > 0, hits / np.maximum(total, 1), np.nan)
