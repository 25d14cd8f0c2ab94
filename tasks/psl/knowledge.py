"""Protein knowledge bases: entries with locations, and an exact-substring index.

A :class:`KnowledgeBase` holds UniProt-style entries (accession, sequence, set of
subcellular locations) and answers "which entries contain this peptide, and
where?" exactly, for every occurrence, in microseconds. The hit-rate metric
(:mod:`attrbench_tasks.psl.hit_rate_metric`, SPEC section 5) searches every extracted
subsequence in it; seed 000 did that with one web-API call per subsequence and
named it the bottleneck of its method.

The index and its cache are :class:`attrbench_tasks.psl.substring_index.SubstringIndex`
(a suffix array, cached on disk by content hash); a :class:`KnowledgeBase` is one
whose sequences are validated proteins (upper case, aliases read as X) and whose
labels are normalized locations. A file read with :func:`read_knowledge_base` is
also remembered by the sha256 of its bytes, so reading the same file again loads
the cached knowledge base without parsing it.

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
:class:`~attrbench.core.contract.SequenceError` for letters) naming the file and line.

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

import functools
import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from attrbench.core.contract import SequenceError
from attrbench.core.data import fasta_records, open_text
from attrbench_tasks.common.alphabets import PROTEIN

from .substring_index import Matches, Occurrences, SubstringIndex, cache_root

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
    "knowledge_base",
    "cache_root",
]

#: Version of the location normalization and the cache layout; part of every hash.
FORMAT = "kb2"

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
_CANONICAL = np.frombuffer(PROTEIN.letters.encode("ascii"), dtype=np.uint8)
_ACCESSION = re.compile(r"^(?:sp|tr)\|([^|]+)\|")
_DEEPLOC = re.compile(r"^(?P<loc>\S+)-[MSU](?:\s+test)?$")
_EVIDENCE = re.compile(r"\{[^}]*\}")
_ISOFORM = re.compile(r"^\s*\[[^\]]*\]:\s*")


class KnowledgeBaseError(ValueError):
    """A knowledge-base file or record is malformed; the message names the file and line."""


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


def canonical(seqs: Sequence[str], ids: Sequence[str] | None = None) -> list[str]:
    """Proteins in their searched form: validated by :data:`PROTEIN`, upper case, aliases as X.

    Raises
    ------
    SequenceError
        A letter outside the alphabet, naming the record and its position.
    """
    codes = PROTEIN.codes(seqs, ids)
    text = _CANONICAL[codes].tobytes().decode("ascii")
    ends = np.cumsum([len(s) for s in seqs])
    return [text[a:b] for a, b in zip(np.concatenate([[0], ends[:-1]]), ends, strict=True)]


class KnowledgeBase(SubstringIndex):
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
    location_names : tuple of str
        Every location name present, sorted.
    hash, text, starts
        As in :class:`~attrbench_tasks.psl.substring_index.SubstringIndex`.

    Examples
    --------
    >>> kb = KnowledgeBase(["P1", "P2"], ["MKTAYIAK", "GGMKTAY"], ["Nucleus", "Cytoplasm;Nucleus"],
    ...                    cache=False)
    >>> kb.find("MKTAY")
    Occurrences(entry=array([0, 1]), position=array([0, 2]))
    """

    FORMAT = FORMAT

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
        empty = [a for a, s in zip(accessions, sequences, strict=True) if not s]
        if empty:
            raise KnowledgeBaseError(f"entry {empty[0]!r} has no sequence")
        location_sets = [_location_set(loc) for loc in locations]
        unlocated = [a for a, s in zip(accessions, location_sets, strict=True) if not s]
        if unlocated:
            raise KnowledgeBaseError(
                f"{len(unlocated)} entries without a location (first: {unlocated[0]!r}); "
                "an entry without a location cannot match or miss: drop it"
            )
        super().__init__(
            accessions, canonical(sequences, accessions), location_sets, source=source, cache=cache
        )

    @property
    def accessions(self) -> list[str]:
        """The entries' accessions."""
        return self.keys

    @property
    def locations(self) -> list[frozenset[str]]:
        """The normalized location set of each entry."""
        return self.labels

    @property
    def location_names(self) -> tuple[str, ...]:
        """Every location name present, sorted."""
        return self.label_names

    def _pattern(self, peptide: str) -> bytes:
        if not peptide:
            raise ValueError(f"cannot search an empty peptide: use the letters {PROTEIN.letters}")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a query's aliases are read as X silently
                return canonical([peptide])[0].encode("ascii")
        except ValueError as exc:
            raise ValueError(f"cannot search {peptide!r}: {exc}") from None

    def location_mask(self, names: str | Iterable[str]) -> np.ndarray:
        """A packed bit mask (W,) uint8 of location ``names`` (``"A;B"`` or an iterable).

        Names are normalized first; names no entry has match nothing.
        """
        return self.label_mask(_location_set(names))

    def matches_location(self, entries: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Whether each entry (K,) has any location of the matching mask (K, W) or (W,)."""
        return self.matches_label(entries, masks)


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

    def add(
        self,
        line: int,
        accession: str,
        sequence: str,
        locations: frozenset[str],
        sequence_line: int | None = None,
    ) -> None:
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
        kb = KnowledgeBase(
            self.accessions, self.sequences, self.locations, source=str(self.path), cache=cache
        )
        return kb, notes


def _check_letters(seq: str, where: str, accession: str, offset: int = 0) -> None:
    """Validate one line's letters with the protein letter table, naming file line, entry, position."""
    raw = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
    bad = np.flatnonzero(PROTEIN.table[raw] < 0)
    if len(bad):
        pos = int(bad[0])
        raise SequenceError(
            f"{where}: entry {accession!r}: letter {seq[pos]!r} at position {offset + pos + 1} "
            f"is not in the protein alphabet {PROTEIN.letters}"
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
    """A line check for :func:`~attrbench.core.data.fasta_records` that names a bad letter's line."""

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


@functools.lru_cache(maxsize=1)
def _scl2205() -> KnowledgeBase:
    import scldata.loader as scl

    df = scl.load("full")
    return KnowledgeBase(
        [str(a) for a in df.index],
        df["seq"].tolist(),
        [c.split(";") for c in df["scl"]],
        source="SCL2205 (p-scldata 2025.6.0, all splits)",
    )


def knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """The knowledge base of the ``psl`` hit rate (the task's ``knowledge_base`` resource).

    Parameters
    ----------
    path : str or Path, optional
        A UniProt TSV export (``Entry``, ``Sequence``, ``Subcellular location [CC]``
        columns) or a FASTA file with locations in the headers, chosen by
        extension (else by content); see the module notes. Default: the 19,074
        SCL2205 proteins of all three splits with their full sequences (the
        query protein itself is excluded by accession).

    Returns
    -------
    kb : KnowledgeBase
        Indexed; the index is cached on disk (``$ATTRBENCH_CACHE/kb``).
    """
    return _scl2205() if path is None else read_knowledge_base(path)
