"""Protein knowledge bases: entries with locations, and an exact-substring index.

A :class:`KnowledgeBase` holds UniProt-style entries (accession, sequence, set of
subcellular locations) and answers "which entries contain this peptide, and
where?" exactly, for every occurrence, in microseconds. The hit-rate metric
(:mod:`attrbench.metrics.hit_rate`, SPEC section 5) searches every extracted
subsequence in it; seed 000 did that with one web-API call per subsequence and
named it the bottleneck of its method.

The index
---------
A suffix array of the concatenated sequences, built with ``pydivsufsort``
(Python bindings of Yuta Mori's libdivsufsort, the standard suffix-sorting
library; 5 bytes per residue with the text). A query is libdivsufsort's own
binary search (``sa_search``, in C): the suffixes starting with the peptide
form one interval of the array, whose entries are the text offsets of every
occurrence; offsets map to (entry, position) with one ``np.searchsorted`` over
the entry start offsets. Sequences are joined with a newline, a letter no
peptide contains, so no match ever spans two entries. Measured on one shared
CPU core (``benchmarks/bench_knowledge.py``): SCL2205 (9.8 million residues)
builds in 1.5 s and answers a query in about 30 us, 150-200x faster than a
``str.find`` scan; a Swiss-Prot-size base (570,000 proteins, 200 million
residues) builds in about a minute with 1.2 GB of peak memory, loads from the
cache in 0.3 s and answers about 25,000 queries per second.

From Python::

    from attrbench.knowledge import read_knowledge_base
    from attrbench_tasks.psl.hitrate import knowledge_base

    kb = knowledge_base()                    # SCL2205, or read_knowledge_base("uniprot.tsv")
    hits = kb.find("KDEL")                   # every occurrence: entry indices and positions
    for entry, position in zip(hits.entry, hits.position):
        print(kb.accessions[entry], position, sorted(kb.locations[entry]))

Why not an Aho-Corasick automaton (``pyahocorasick``): it is built over the
*queries* and answers by scanning the whole knowledge base once per batch of
queries, i.e. the same O(residues) work as the naive scan it must beat by 100x;
it has nothing to keep on disk between runs. The suffix array is built once per
knowledge base, cached, and answers each query in O(|peptide| log residues).

Cache
-----
The index is built once per knowledge base and stored under
``$ATTRBENCH_CACHE/kb/<hash>/`` (``ATTRBENCH_CACHE`` defaults to
``platformdirs.user_cache_dir("attrbench")``, e.g. ``~/.cache/attrbench``),
where ``<hash>`` is the knowledge base's content hash (accessions, sequences,
location sets, and :data:`FORMAT`): ``text.bin`` (the joined sequences),
``starts.npy``, ``sa.npy`` (memory-mapped on load) and ``meta.json``
(accessions, location sets). A file read with :func:`read_knowledge_base` is
also remembered by the sha256 of its bytes, so reading the same file again
loads the cached knowledge base without parsing it. Delete the folder to
reclaim the space; it is rebuilt when needed.

Locations
---------
Every location name goes through :func:`normalize_location`, so SCL2205's
labels, DeepLoc's names and UniProt's free text meet on SCL2205's twelve single
locations (see :data:`LOCATION_TERMS`). A UniProt location is a path of levels
separated by commas ("Cytoplasm, cytoskeleton, microtubule organizing center,
centrosome"); each level that names one of the twelve counts (giving
{Cytoplasm, Cytoskeleton, Microtubule organizing center, Centrosome}, exactly
SCL2205's multi-location class). Rules, in order, for one level (case-insensitive):

1. a term of :data:`LOCATION_TERMS` ("cytosol" -> Cytoplasm, "cell membrane" ->
   Membrane, "endoplasmic reticulum" -> ER, "chloroplast" -> Plastid, ...);
2. "<something> membrane" is Membrane plus whatever <something> is
   ("Endoplasmic reticulum membrane" -> {ER, Membrane}, "Mitochondrion inner
   membrane" -> {Mitochondrion, Membrane}: a membrane protein of that organelle);
3. a level that starts with a term is that term ("Peroxisome matrix" ->
   Peroxisome, "Mitochondrion inner" -> Mitochondrion, "Nucleus speckle" -> Nucleus);
4. levels of a host ("Host cell membrane", viral proteins) are never mapped.

The first level of a location is always kept: when it maps to nothing it is kept
as written ("Golgi apparatus", "Lysosome", "Cytoplasmic vesicle"), so such an
entry counts in the hit rate's denominator and never matches an SCL2205 class.
Later levels that map to nothing ("cilium", "nucleolus") are dropped. A
multi-location entry matches a query when any of its locations matches.

File formats
------------
UniProt TSV (:func:`read_uniprot_tsv`): a UniProtKB "TSV" download with a header
row, at least the columns ``Entry``, ``Sequence`` and ``Subcellular location
[CC]`` (any order, other columns ignored; ``.gz`` accepted)::

    Entry	Entry Name	Subcellular location [CC]	Sequence
    P04637	P53_HUMAN	SUBCELLULAR LOCATION: Cytoplasm {ECO:0000269|PubMed:1}. Nucleus. Note=Shuttles. {ECO:1}.	MEEPQSDPSV
    P02768	ALBU_HUMAN	SUBCELLULAR LOCATION: Secreted.	MKWVTFISLL
    Q9XYZ1	FOO_HUMAN	SUBCELLULAR LOCATION: Endoplasmic reticulum membrane; Multi-pass membrane protein.	MSTAVLLLAG

(download one with ``https://rest.uniprot.org/uniprotkb/stream?format=tsv&fields=accession,cc_subcellular_location,sequence&query=reviewed:true``).
Evidence tags ``{...}``, ``Note=`` text, isoform prefixes ``[Isoform 2]:`` and the
membrane topology after ``;`` are ignored. Rows with an empty location column
have no location to compare with: they are skipped and counted in a warning.

FASTA (:func:`read_fasta`): the header is the accession, a space, and the
location(s); ``sp|P04637|P53_HUMAN`` accessions are reduced to ``P04637``.
Locations are separated by ``;`` and written as SCL2205, UniProt or DeepLoc
names; a DeepLoc header (``Cell.membrane-M``, optionally followed by ``test``)
is read as DeepLoc writes it, and a header location starting with
``SUBCELLULAR LOCATION:`` is parsed as UniProt's free text::

    >P04637 Cytoplasm;Nucleus
    MEEPQSDPSVEPPLSQETFSDLWKLL
    >sp|Q9XYZ1|FOO_HUMAN Endoplasmic reticulum membrane
    MSTAVLLLAG
    >Q8ABC2 Cell.membrane-M test
    MKKLLPTAAA

Letters: the 20 amino acids and ``X``, in either case; ``B``, ``Z``, ``U``, ``O``
map to ``X`` (counted in a warning), as in the tasks' encoding. Any other letter,
a missing column, a malformed row or header, an empty sequence or a duplicate
accession raise :class:`KnowledgeBaseError` (or
:class:`~attrbench.contract.SequenceError` for letters) naming the file and line.

References
----------
Mori, Y. libdivsufsort: a lightweight suffix-sorting library.
https://github.com/y-256/libdivsufsort (bindings: L. Abraham, ``pydivsufsort``).
Manber, U. & Myers, G. (1993). Suffix arrays: a new method for on-line string
searches. SIAM J. Comput. 22(5), 935-948.
The UniProt Consortium (2023). UniProt: the universal protein knowledgebase in
2023. Nucleic Acids Res. 51, D523-D531 (subcellular location vocabulary).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from attrbench.contract import SequenceError
from attrbench.data import content_hash, fasta_records, open_text
from attrbench_tasks.common.alphabets import PROTEIN

__all__ = [
    "FORMAT",
    "LOCATION_TERMS",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Occurrences",
    "Matches",
    "normalize_location",
    "parse_uniprot_locations",
    "read_uniprot_tsv",
    "read_fasta",
    "read_knowledge_base",
    "cache_root",
]

#: Version of the cache layout and of the location normalization; part of every hash.
FORMAT = "kb1"
#: The byte that ends every sequence in the indexed text (no peptide contains it).
SEPARATOR = b"\n"

#: Location terms (lower case) and the single SCL2205 location each one is.
LOCATION_TERMS: dict[str, str] = {
    "cytoplasm": "Cytoplasm",
    "cytosol": "Cytoplasm",
    "nucleus": "Nucleus",
    "secreted": "Secreted",
    "extracellular": "Secreted",
    "extracellular space": "Secreted",
    "mitochondrion": "Mitochondrion",
    "plastid": "Plastid",
    "chloroplast": "Plastid",
    "peroxisome": "Peroxisome",
    "endoplasmic reticulum": "ER",
    "er": "ER",
    "membrane": "Membrane",
    "cell membrane": "Membrane",
    "cell projection": "Cell projection",
    "cytoskeleton": "Cytoskeleton",
    "microtubule organizing center": "Microtubule organizing center",
    "centrosome": "Centrosome",
}
_BY_LENGTH = sorted(LOCATION_TERMS, key=len, reverse=True)
_LETTERS = PROTEIN.letters  # 20 amino acids + X
_ALIAS_LETTERS = "".join(src for src, _ in PROTEIN.aliases)
_BAD_LETTER = re.compile(f"[^{_LETTERS}{_ALIAS_LETTERS}{(_LETTERS + _ALIAS_LETTERS).lower()}]")
_ACCESSION = re.compile(r"^(?:sp|tr)\|([^|]+)\|")
_DEEPLOC = re.compile(r"^(?P<loc>\S+)-[MSU](?:\s+test)?$")
_EVIDENCE = re.compile(r"\{[^}]*\}")
_ISOFORM = re.compile(r"^\s*\[[^\]]*\]:\s*")


class KnowledgeBaseError(ValueError):
    """A knowledge-base file or record is malformed; the message names the file and line."""


class Occurrences(NamedTuple):
    """Every occurrence of one peptide, sorted by entry then position.

    Parameters
    ----------
    entry : np.ndarray, shape=(K,), int64
        Entry index (into :attr:`KnowledgeBase.accessions`).
    position : np.ndarray, shape=(K,), int64
        0-based start of the occurrence in that entry's sequence.
    """

    entry: np.ndarray
    position: np.ndarray


class Matches(NamedTuple):
    """Every occurrence of a batch of peptides, as flat arrays of length K.

    Parameters
    ----------
    query : np.ndarray, shape=(K,), int64
        Index of the peptide in the batch.
    entry, position : np.ndarray, shape=(K,), int64
        As in :class:`Occurrences`.
    """

    query: np.ndarray
    entry: np.ndarray
    position: np.ndarray


# --------------------------------------------------------------------------- locations


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _level(level: str) -> set[str]:
    """The SCL2205 locations one level of a UniProt location names (rules 1-4, module notes)."""
    key = " ".join(level.lower().split())
    if not key or key.startswith("host "):
        return set()
    if key in LOCATION_TERMS:
        return {LOCATION_TERMS[key]}
    if key.endswith(" membrane"):
        return {"Membrane"} | _level(key[: -len(" membrane")])
    for term in _BY_LENGTH:
        if key.startswith(term + " "):
            return {LOCATION_TERMS[term]}
    return set()


def normalize_location(location: str) -> frozenset[str]:
    """The normalized names of one location (SCL2205, DeepLoc or UniProt spelling).

    Parameters
    ----------
    location : str
        One location: a UniProt path such as ``"Cytoplasm, cytoskeleton"``, an
        SCL2205 name such as ``"ER"``, or a DeepLoc name such as ``"Cell.membrane"``.

    Returns
    -------
    names : frozenset of str
        SCL2205 single locations, plus the first level as written when it maps
        to none of them; empty for an empty string.

    Examples
    --------
    >>> sorted(normalize_location("Cytoplasm, cytoskeleton, microtubule organizing center, "
    ...                           "centrosome"))
    ['Centrosome', 'Cytoplasm', 'Cytoskeleton', 'Microtubule organizing center']
    >>> sorted(normalize_location("Endoplasmic reticulum membrane"))
    ['ER', 'Membrane']
    >>> sorted(normalize_location("Golgi apparatus, trans-Golgi network"))
    ['Golgi apparatus']
    """
    levels = [" ".join(part.split()) for part in location.replace(".", " ").split(",")]
    levels = [lv for lv in levels if lv]
    if not levels:
        return frozenset()
    first = _level(levels[0]) or {_title(levels[0])}
    return frozenset(first.union(*(_level(lv) for lv in levels[1:])))


def _location_set(value: str | Iterable[str]) -> frozenset[str]:
    """The normalized location set of one entry: ``"A;B"`` or an iterable of location names."""
    parts = value.split(";") if isinstance(value, str) else value
    return frozenset().union(*(normalize_location(p) for p in parts))


def parse_uniprot_locations(text: str) -> frozenset[str]:
    """The normalized locations of a UniProt "Subcellular location [CC]" field.

    Evidence tags ``{ECO:...}``, ``Note=`` text, isoform prefixes and the membrane
    topology after ``;`` are ignored; every ``SUBCELLULAR LOCATION:`` block counts.

    Parameters
    ----------
    text : str
        e.g. ``"SUBCELLULAR LOCATION: Cytoplasm, cytosol {ECO:0000269}. Nucleus."``

    Returns
    -------
    names : frozenset of str
        Empty when the field names no location.

    Examples
    --------
    >>> sorted(parse_uniprot_locations(
    ...     "SUBCELLULAR LOCATION: Cell membrane {ECO:1}; Multi-pass membrane protein. "
    ...     "Note=Moves. {ECO:2}.; SUBCELLULAR LOCATION: [Isoform 2]: Secreted."))
    ['Membrane', 'Secreted']
    """
    names: set[str] = set()
    for block in _EVIDENCE.sub("", text).split("SUBCELLULAR LOCATION:"):
        block = _ISOFORM.sub("", block.split("Note=")[0])
        for sentence in block.split("."):
            phrase = sentence.split(";")[0].strip()
            if phrase:
                names |= normalize_location(phrase)
    return frozenset(names)


# --------------------------------------------------------------------------- the knowledge base


def cache_root() -> Path:
    """``$ATTRBENCH_CACHE/kb`` or ``platformdirs.user_cache_dir("attrbench")/kb``."""
    root = os.environ.get("ATTRBENCH_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("attrbench")
    return Path(root) / "kb"


def _lookup_table() -> np.ndarray:
    """Byte -> canonical letter (upper case, aliases to X); 0 for letters outside the alphabet."""
    table = np.zeros(256, dtype=np.uint8)
    for letter in _LETTERS:
        table[ord(letter)] = table[ord(letter.lower())] = ord(letter)
    for src, dst in PROTEIN.aliases:
        table[ord(src)] = table[ord(src.lower())] = ord(dst)
    table[SEPARATOR[0]] = SEPARATOR[0]
    return table


_TABLE = _lookup_table()
_BYTES = _TABLE.tobytes()  # the same table for bytes.translate
_IS_ALIAS = np.zeros(256, dtype=bool)
_IS_ALIAS[[ord(c) for c in _ALIAS_LETTERS + _ALIAS_LETTERS.lower()]] = True


def _join(accessions: Sequence[str], sequences: Sequence[str]) -> tuple[bytes, np.ndarray]:
    """Validated canonical text (each sequence followed by the separator), entry starts (N+1,)."""
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if len(lengths) and lengths.min() == 0:
        raise KnowledgeBaseError(f"entry {accessions[int(np.argmin(lengths))]!r} has no sequence")
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=starts[1:])
    raw = np.frombuffer(("\n".join(sequences) + "\n").encode("ascii", "replace"), dtype=np.uint8)
    codes = _TABLE[raw]
    newlines = np.flatnonzero(codes == SEPARATOR[0])
    stray = np.setdiff1d(newlines, starts[1:] - 1)  # a newline inside a sequence
    bad = np.concatenate([np.flatnonzero(codes == 0), stray])
    if len(bad):
        first = bad.min()
        entry = int(np.searchsorted(starts, first, side="right") - 1)
        pos = int(first - starts[entry])
        raise SequenceError(
            f"entry {accessions[entry]!r}: letter {sequences[entry][pos]!r} at position {pos + 1} "
            f"is not in the protein alphabet {_LETTERS} (+ {_ALIAS_LETTERS} as X)"
        )
    n_alias = int(_IS_ALIAS[raw].sum())
    if n_alias:
        warnings.warn(f"{n_alias} letters B/Z/U/O mapped to X in the knowledge base", stacklevel=3)
    return codes.tobytes(), starts


class KnowledgeBase:
    """Protein entries with location sets and an exact-substring index (suffix array).

    Parameters
    ----------
    accessions : sequence of str
        Unique entry names (UniProt accessions).
    sequences : sequence of str
        Protein sequences (see the module notes for the letters accepted).
    locations : sequence of (str or iterable of str)
        Per entry, its locations: an iterable of location names, or one string
        of names separated by ``;``. Every name is normalized with
        :func:`normalize_location`. An entry must have at least one location.
    source : str
        Where the entries come from (kept in the cache's metadata).
    cache : bool
        Load the index from / store it in :func:`cache_root` (default True).

    Attributes
    ----------
    accessions : list of str
    locations : list of frozenset of str
        Normalized location names per entry.
    hash : str
        Content hash (16 hex digits) of accessions, sequences and location sets.
    text : bytes
        The sequences, each followed by a newline.
    starts : np.ndarray, shape=(N + 1,), int64
        Offset of each sequence in ``text``; ``starts[N] == len(text)``.
    location_names : tuple of str
        Every location name present, sorted.

    Examples
    --------
    >>> kb = KnowledgeBase(["P1", "P2"], ["MKTAYIAK", "GGMKTAY"], ["Nucleus", "Cytoplasm;Nucleus"],
    ...                    cache=False)
    >>> kb.find("MKTAY")
    Occurrences(entry=array([0, 1]), position=array([0, 2]))
    """

    def __init__(
        self,
        accessions: Sequence[str],
        sequences: Sequence[str],
        locations: Sequence[str | Iterable[str]],
        *,
        source: str = "",
        cache: bool = True,
    ) -> None:
        accessions = [str(a) for a in accessions]
        if not len(accessions) == len(sequences) == len(locations):
            raise KnowledgeBaseError(
                f"{len(accessions)} accessions, {len(sequences)} sequences and "
                f"{len(locations)} location sets: they must be as many"
            )
        if not accessions:
            raise KnowledgeBaseError("a knowledge base needs at least one entry")
        _check_unique(accessions)
        location_sets = [_location_set(loc) for loc in locations]
        empty = [a for a, s in zip(accessions, location_sets, strict=True) if not s]
        if empty:
            raise KnowledgeBaseError(
                f"{len(empty)} entries without a location (first: {empty[0]!r}); "
                "an entry without a location cannot match or miss: drop it"
            )
        text, starts = _join(accessions, sequences)
        digest = _content_hash(accessions, text, location_sets)
        self._setup(accessions, text, starts, location_sets, digest, source)
        self.sa = self._index(cache)

    # -- construction helpers

    def _setup(
        self, accessions: list[str], text: bytes, starts: np.ndarray,
        location_sets: list[frozenset[str]], digest: str, source: str,
    ) -> None:
        self.accessions = accessions
        self.text = text
        self.starts = starts
        self.locations = location_sets
        self.hash = digest
        self.source = source
        distinct = {names: k for k, names in enumerate(dict.fromkeys(location_sets))}
        self.location_names = tuple(sorted(set().union(*distinct)))
        column = {name: j for j, name in enumerate(self.location_names)}
        member = np.zeros((len(distinct), len(self.location_names)), dtype=bool)
        for names, k in distinct.items():
            member[k, [column[n] for n in names]] = True
        set_of = np.fromiter((distinct[s] for s in location_sets), dtype=np.int64,
                             count=len(location_sets))
        self._bits = np.packbits(member, axis=1)[set_of]
        self._column = column
        self._row: dict[str, int] | None = None

    def _index(self, cache: bool) -> np.ndarray:
        """The suffix array of ``text``: loaded from the cache, or built (and stored)."""
        directory = cache_root() / self.hash
        if cache and (directory / "sa.npy").is_file():
            return np.load(directory / "sa.npy", mmap_mode="c")
        from pydivsufsort import divsufsort

        sa = np.asarray(divsufsort(self.text))
        if cache:
            self._store(directory, sa)
        return sa

    def _store(self, directory: Path, sa: np.ndarray) -> None:
        """Write the knowledge base and its index into ``directory`` atomically."""
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
        sets = sorted(set(self.locations), key=sorted)
        index = {s: i for i, s in enumerate(sets)}
        return {
            "format": FORMAT, "hash": self.hash, "source": self.source,
            "accessions": self.accessions, "location_sets": [sorted(s) for s in sets],
            "location_of": [index[s] for s in self.locations],
        }

    @classmethod
    def load(cls, digest: str) -> KnowledgeBase:
        """The knowledge base cached under ``digest`` (its :attr:`hash`).

        Raises
        ------
        FileNotFoundError
            Nothing complete is cached under that hash.
        """
        directory = cache_root() / digest
        if not (directory / "sa.npy").is_file():
            raise FileNotFoundError(f"no knowledge base cached in {directory}")
        meta = json.loads((directory / "meta.json").read_text())
        sets = [frozenset(s) for s in meta["location_sets"]]
        kb = cls.__new__(cls)
        kb._setup(
            meta["accessions"], (directory / "text.bin").read_bytes(),
            np.load(directory / "starts.npy"), [sets[i] for i in meta["location_of"]],
            meta["hash"], meta["source"],
        )
        kb.sa = np.load(directory / "sa.npy", mmap_mode="c")
        return kb

    # -- entries

    def __len__(self) -> int:
        return len(self.accessions)

    def __repr__(self) -> str:
        residues = len(self.text) - len(self)
        return (f"KnowledgeBase({len(self)} entries, {residues} residues, "
                f"{len(self.location_names)} locations, hash={self.hash})")

    def sequence(self, entry: int) -> str:
        """The sequence of entry ``entry``."""
        return self.text[self.starts[entry] : self.starts[entry + 1] - 1].decode()

    @property
    def sequences(self) -> list[str]:
        """Every sequence, in entry order."""
        return self.text[:-1].decode().split("\n")

    def index_of(self, accession: str) -> int:
        """The entry index of ``accession``, or -1 if the knowledge base does not hold it."""
        if self._row is None:
            self._row = {a: i for i, a in enumerate(self.accessions)}
        return self._row.get(accession, -1)

    # -- search

    def _pattern(self, peptide: str) -> bytes:
        bad = _BAD_LETTER.search(peptide)
        if not peptide or bad:
            what = "an empty peptide" if not peptide else f"letter {bad.group()!r} in {peptide!r}"
            raise ValueError(f"cannot search {what}: use the letters {_LETTERS}")
        return peptide.encode("ascii").translate(_BYTES)

    def _offsets(self, pattern: bytes) -> np.ndarray:
        from pydivsufsort import sa_search

        count, left = sa_search(self.text, self.sa, pattern)
        if not count:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self.sa[left : left + count].astype(np.int64))

    def find(self, peptide: str) -> Occurrences:
        """Every occurrence of ``peptide`` (exact, case-insensitive; B/Z/U/O read as X).

        Parameters
        ----------
        peptide : str

        Returns
        -------
        occurrences : Occurrences
            Entries and 0-based positions, sorted by entry then position.
        """
        offsets = self._offsets(self._pattern(peptide))
        entry = np.searchsorted(self.starts, offsets, side="right") - 1
        return Occurrences(entry, offsets - self.starts[entry])

    def find_many(self, peptides: Sequence[str]) -> Matches:
        """Every occurrence of each of ``peptides``, as flat arrays.

        Returns
        -------
        matches : Matches
            ``query[k]`` is the index in ``peptides`` of occurrence ``k``; sorted
            by query, then entry, then position.
        """
        offsets = [self._offsets(self._pattern(p)) for p in peptides]
        counts = np.array([len(o) for o in offsets], dtype=np.int64)
        flat = np.concatenate(offsets) if offsets else np.zeros(0, dtype=np.int64)
        entry = np.searchsorted(self.starts, flat, side="right") - 1
        query = np.repeat(np.arange(len(peptides), dtype=np.int64), counts)
        return Matches(query, entry, flat - self.starts[entry])

    def entries_with(self, peptide: str) -> np.ndarray:
        """The distinct entries containing ``peptide``, sorted: shape (E,), int64."""
        return np.unique(self.find(peptide).entry)

    # -- locations

    def location_mask(self, names: str | Iterable[str]) -> np.ndarray:
        """A packed bit mask (W,) uint8 of location ``names`` (``"A;B"`` or an iterable).

        Names are normalized first; names no entry has match nothing.
        """
        member = np.zeros(len(self.location_names), dtype=bool)
        for name in _location_set(names):
            if name in self._column:
                member[self._column[name]] = True
        return np.packbits(member)

    def matches_location(self, entries: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Whether each entry has any location of the matching mask.

        Parameters
        ----------
        entries : np.ndarray, shape=(K,), int
        masks : np.ndarray, shape=(K, W) or (W,), uint8
            From :meth:`location_mask`.

        Returns
        -------
        match : np.ndarray, shape=(K,), bool
        """
        return (self._bits[entries] & masks).any(axis=-1)


def _check_unique(accessions: list[str], lines: list[int] | None = None, path: str = "") -> None:
    """Raise on the first repeated accession (naming both lines when known)."""
    seen: dict[str, int] = {}
    for i, acc in enumerate(accessions):
        if acc in seen:
            if lines is None:
                raise KnowledgeBaseError(
                    f"duplicate accession {acc!r} (entries {seen[acc]} and {i})"
                )
            raise KnowledgeBaseError(
                f"{path}:{lines[i]}: duplicate accession {acc!r} (first at line {lines[seen[acc]]})"
            )
        seen[acc] = i


def _content_hash(accessions: list[str], text: bytes, location_sets: list[frozenset[str]]) -> str:
    locations = "\n".join(";".join(sorted(s)) for s in location_sets)
    return content_hash(FORMAT, "\n".join(accessions), text, locations)


# --------------------------------------------------------------------------- files


class _Entries:
    """Entries read from a file, with the line each one starts on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.accessions: list[str] = []
        self.sequences: list[str] = []
        self.locations: list[frozenset[str]] = []
        self.lines: list[int] = []
        self.no_location = 0

    def add(self, line: int, accession: str, sequence: str, locations: frozenset[str],
            sequence_line: int | None = None) -> None:
        where = f"{self.path}:{line}"
        if not accession:
            raise KnowledgeBaseError(f"{where}: empty accession")
        if not sequence:
            raise KnowledgeBaseError(f"{where}: entry {accession!r} has no sequence")
        if not locations:
            self.no_location += 1
            return
        self.accessions.append(accession)
        self.sequences.append(sequence)
        self.locations.append(locations)
        self.lines.append(line)

    def build(self, cache: bool) -> tuple[KnowledgeBase, list[str]]:
        notes = []
        if self.no_location:
            notes.append(f"{self.path}: {self.no_location} entries without a location skipped")
        if not self.accessions:
            raise KnowledgeBaseError(f"{self.path}: no entry with a location")
        _check_unique(self.accessions, self.lines, str(self.path))
        kb = KnowledgeBase(self.accessions, self.sequences, self.locations,
                           source=str(self.path), cache=cache)
        return kb, notes


def _check_letters(seq: str, where: str, accession: str, offset: int = 0) -> None:
    bad = _BAD_LETTER.search(seq)
    if bad:
        raise SequenceError(
            f"{where}: entry {accession!r}: letter {bad.group()!r} at position "
            f"{offset + bad.start() + 1} is not in the protein alphabet {_LETTERS} "
            f"(+ {_ALIAS_LETTERS} as X)"
        )


_COLUMNS = {"accession": "Entry", "sequence": "Sequence", "location": "Subcellular location [CC]"}


def _tsv_columns(header: str, path: Path) -> tuple[int, dict[str, int]]:
    names = header.rstrip("\r\n").split("\t")
    missing = [c for c in _COLUMNS.values() if c not in names]
    if missing:
        raise KnowledgeBaseError(
            f"{path}:1: no column {', '.join(map(repr, missing))} in the header "
            f"(found {names}); a UniProt TSV needs {list(_COLUMNS.values())}"
        )
    return len(names), {key: names.index(col) for key, col in _COLUMNS.items()}


def _parse_tsv(path: Path) -> _Entries:
    entries = _Entries(path)
    with open_text(path) as f:
        header = f.readline()
        if not header.strip():
            raise KnowledgeBaseError(
                f"{path}:1: empty file (a UniProt TSV starts with a header row)"
            )
        width, col = _tsv_columns(header, path)
        for number, line in enumerate(f, start=2):
            if not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != width:
                raise KnowledgeBaseError(
                    f"{path}:{number}: {len(fields)} tab-separated fields, the header has {width}"
                )
            acc, seq = fields[col["accession"]].strip(), fields[col["sequence"]].strip()
            _check_letters(seq, f"{path}:{number}", acc)
            entries.add(number, acc, seq, parse_uniprot_locations(fields[col["location"]]))
    return entries


def _check_fasta_line(path: Path) -> Callable[[str, int, str, int], None]:
    """A line check for :func:`~attrbench.data.fasta_records` that names a bad letter's line."""

    def check(line: str, lineno: int, header: str, offset: int) -> None:
        _check_letters(line, f"{path}:{lineno}", (header.split() or [""])[0], offset)

    return check


def _header_locations(text: str, where: str) -> frozenset[str]:
    """The locations of a FASTA header's location field (DeepLoc, UniProt text or ``;`` names)."""
    if text.startswith("SUBCELLULAR LOCATION:"):
        return parse_uniprot_locations(text)
    deeploc = _DEEPLOC.match(text)
    if deeploc:
        text = deeploc["loc"].replace(".", " ")
    names = _location_set([p for p in text.split(";") if p.strip()])
    if not names:
        raise KnowledgeBaseError(
            f"{where}: header has no location ('>ACCESSION LOCATION[;LOCATION]')"
        )
    return names


def _parse_fasta(path: Path) -> _Entries:
    entries = _Entries(path)
    records = fasta_records(path, KnowledgeBaseError, _check_fasta_line(path))
    for number, header, seq in records:
        where = f"{path}:{number}"
        fields = header.split(maxsplit=1)
        if len(fields) < 2:
            raise KnowledgeBaseError(
                f"{where}: header {header!r} has no location ('>ACCESSION LOCATION[;LOCATION]')"
            )
        acc = _ACCESSION.match(fields[0])
        entries.add(number, acc[1] if acc else fields[0], seq, _header_locations(fields[1], where))
    return entries


def _file_digest(path: Path) -> str:
    h = hashlib.sha256(FORMAT.encode())
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:32]


def _read(path: str | Path, parse, cache: bool) -> KnowledgeBase:
    """Read ``path`` with ``parse``; via the cache when the same bytes were read before."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"knowledge-base file {path} does not exist")
    alias = cache_root() / "files" / f"{_file_digest(path)}.json" if cache else None
    if alias is not None and alias.is_file():
        known = json.loads(alias.read_text())
        try:
            kb = KnowledgeBase.load(known["hash"])
        except FileNotFoundError:
            pass
        else:
            for note in known["notes"]:
                warnings.warn(note, stacklevel=3)
            return kb
    kb, notes = parse(path).build(cache)
    for note in notes:
        warnings.warn(note, stacklevel=3)
    if alias is not None:
        alias.parent.mkdir(parents=True, exist_ok=True)
        tmp = alias.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"hash": kb.hash, "notes": notes}))
        tmp.replace(alias)
    return kb


def read_uniprot_tsv(path: str | Path, cache: bool = True) -> KnowledgeBase:
    """A knowledge base from a UniProt TSV export (format in the module notes).

    Parameters
    ----------
    path : str or Path
        ``.tsv`` or ``.tsv.gz`` with columns ``Entry``, ``Sequence``, ``Subcellular location [CC]``.
    cache : bool
        Use the on-disk cache (:func:`cache_root`).

    Returns
    -------
    kb : KnowledgeBase

    Raises
    ------
    KnowledgeBaseError
        No location (or accession, sequence) column, a row with the wrong number of
        fields, an empty sequence, a duplicate accession: naming file and line.
    SequenceError
        A letter outside the alphabet, naming file, line, entry and position.
    """
    return _read(path, _parse_tsv, cache)


def read_fasta(path: str | Path, cache: bool = True) -> KnowledgeBase:
    """A knowledge base from a FASTA file whose headers carry locations (module notes).

    Parameters
    ----------
    path : str or Path
        ``>ACCESSION LOCATION[;LOCATION...]`` headers; ``.gz`` accepted.
    cache : bool
        Use the on-disk cache (:func:`cache_root`).

    Returns
    -------
    kb : KnowledgeBase

    Raises
    ------
    KnowledgeBaseError
        A header without a location, sequence before the first header, an empty
        sequence, a duplicate accession: naming file and line.
    SequenceError
        A letter outside the alphabet, naming file, line, entry and position in the entry.
    """
    return _read(path, _parse_fasta, cache)


def read_knowledge_base(path: str | Path, cache: bool = True) -> KnowledgeBase:
    """A UniProt TSV or FASTA knowledge base, by extension, else by content ('>' first: FASTA).

    Returns
    -------
    kb : KnowledgeBase
    """
    path = Path(path).expanduser()
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".fasta", ".fa", ".faa", ".fas", ".fna")):
        return read_fasta(path, cache)
    if name.endswith((".tsv", ".tab")):
        return read_uniprot_tsv(path, cache)
    if not path.is_file():
        raise FileNotFoundError(f"knowledge-base file {path} does not exist")
    with open_text(path) as f:
        first = f.read(4096).lstrip()[:1]
    return read_fasta(path, cache) if first == ">" else read_uniprot_tsv(path, cache)
