"""Data of the ``psl`` task: SCL2205 from ``p-scldata``, DeepLoc FASTA files, encoding.

Proteins are one-hot encoded over :data:`attrbench_tasks.common.alphabets.PROTEIN` (20 amino
acids + ``X``; ``B``, ``Z``, ``U``, ``O`` map to ``X``, counted in a warning) at a
fixed length of 1000. A protein longer than 1000 keeps its first 500 and last 500
residues (DeepLoc's convention: sorting signals sit at both ends), so position
``p`` of the encoding is residue ``p`` if ``p < 500`` or the protein is short, and
residue ``p + length - 1000`` otherwise (``extra["length"]`` holds the original
lengths).

Each :class:`~attrbench.core.data.Dataset` carries ``extra["locations"]``: the tuple of
single locations of each protein (``("Cytoplasm", "Nucleus")`` for the class
``"Cytoplasm;Nucleus"``), for multi-location matching.

References
----------
Almagro Armenteros, J. J. et al. (2017). DeepLoc: prediction of protein
subcellular localization using deep learning. Bioinformatics 33(21), 3387-3395.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import warnings
from pathlib import Path

import numpy as np
import torch

from attrbench.core.data import Background, Dataset, GroundTruth, Motif, content_hash, fasta_records
from attrbench_tasks.common.alphabets import PROTEIN

__all__ = [
    "CLASSES",
    "LENGTH",
    "SPLITS",
    "DEEPLOC_LOCATIONS",
    "UNMAPPED_DEEPLOC",
    "data",
    "load_scl2205",
    "load_deeploc",
    "encode",
    "trim",
    "locations_of",
    "ground_truth",
    "background",
    "SIGNALS",
]

#: The 13 classes in ``p-scldata``'s label order (``labels.json``, ``index_to_label``).
CLASSES: tuple[str, ...] = (
    "Cytoplasm",
    "Plastid",
    "Secreted",
    "Mitochondrion",
    "Membrane",
    "Peroxisome",
    "Nucleus",
    "Cell projection",
    "ER",
    "Cytoplasm;Nucleus",
    "Centrosome;Cytoplasm;Cytoskeleton;Microtubule organizing center",
    "Cytoplasm;Membrane",
    "Cytoplasm;Cytoskeleton",
)
#: Encoded length L.
LENGTH = 1000
#: Our split names and the ``p-scldata`` split each one reads.
SPLITS = {"train": "train", "valid": "eval", "test": "heldout"}
#: DeepLoc 1.0 location names and the SCL2205 location each one is.
DEEPLOC_LOCATIONS = {
    "Cell.membrane": "Membrane",
    "Cytoplasm": "Cytoplasm",
    "Endoplasmic.reticulum": "ER",
    "Extracellular": "Secreted",
    "Mitochondrion": "Mitochondrion",
    "Nucleus": "Nucleus",
    "Peroxisome": "Peroxisome",
    "Plastid": "Plastid",
}
#: DeepLoc locations without an SCL2205 class: their records are dropped with a warning.
UNMAPPED_DEEPLOC = ("Golgi.apparatus", "Lysosome/Vacuole")
_SINGLE = sorted({loc for c in CLASSES for loc in c.split(";")})


def locations_of(label: str) -> tuple[str, ...]:
    """The single locations of a class: ``"Cytoplasm;Nucleus"`` -> ``("Cytoplasm", "Nucleus")``."""
    return tuple(label.split(";"))


def trim(seq: str, length: int = LENGTH) -> str:
    """Keep the first ``length // 2`` and last ``length - length // 2`` residues of a long protein."""
    if len(seq) <= length:
        return seq
    head = length // 2
    return seq[:head] + seq[len(seq) - (length - head) :]


def encode(
    seqs: list[str], ids: list[str], length: int = LENGTH, unknown: str | None = None
) -> torch.Tensor:
    """Token codes of proteins, trimmed to ``length`` (first + last halves), vectorized.

    Every letter of the whole (untrimmed) protein is validated.

    Parameters
    ----------
    seqs : list of str
    ids : list of str
        Record names for error messages.
    length : int
    unknown : str, optional
        A letter (``"X"``) that letters outside the alphabet map to, counted in a
        warning, instead of raising :class:`~attrbench.core.contract.SequenceError`.

    Returns
    -------
    tokens : torch.Tensor, shape=(N, length), int8
        Alphabet index per position, -1 on padding.
    """
    codes = PROTEIN.codes(seqs, ids, unknown)
    lens = np.array([len(s) for s in seqs], dtype=np.int64)
    ends = np.cumsum(lens)
    tokens = np.full((len(seqs), length), -1, dtype=np.int8)
    for a in range(0, len(seqs), _ENCODE_CHUNK):  # the int64 temporaries stay small
        b = min(a + _ENCODE_CHUNK, len(seqs))
        tokens[a:b] = _trimmed(codes[ends[a] - lens[a] : ends[b - 1]], lens[a:b], length)
    return torch.from_numpy(tokens)


#: Proteins encoded at a time (the position arithmetic takes 8 bytes per residue).
_ENCODE_CHUNK = 1024


def _trimmed(codes: np.ndarray, lens: np.ndarray, length: int) -> np.ndarray:
    """Codes (N, length), int8, -1 on padding, of N proteins trimmed to first + last halves.

    ``codes`` holds the N proteins' letter codes end to end, ``lens`` (N,) their lengths.
    """
    row = np.repeat(np.arange(len(lens)), lens)
    pos = np.arange(len(codes)) - np.repeat(np.cumsum(lens) - lens, lens)
    n = lens[row]
    head = length // 2
    keep = (n <= length) | (pos < head) | (pos >= n - (length - head))
    col = np.where((n <= length) | (pos < head), pos, pos - (n - length))
    tokens = np.full((len(lens), length), -1, dtype=np.int8)
    tokens[row[keep], col[keep]] = codes[keep]
    return tokens


def make_dataset(
    seqs: list[str],
    labels: list[str],
    ids: list[str],
    unknown: str | None = None,
    extra: dict | None = None,
) -> Dataset:
    """Encode proteins with class labels (names of :data:`CLASSES`) into a Dataset."""
    tokens = encode(seqs, ids, LENGTH, unknown)
    index = {c: i for i, c in enumerate(CLASSES)}
    y = torch.tensor([index[label] for label in labels], dtype=torch.int64)
    fields = {
        "locations": [locations_of(label) for label in labels],
        "length": torch.tensor([len(s) for s in seqs], dtype=torch.int64),
        **(extra or {}),
    }
    return Dataset(codes=tokens, n_letters=len(PROTEIN), y=y, ids=list(ids), extra=fields)


@functools.lru_cache(maxsize=3)
def load_scl2205(split: str) -> Dataset:
    """One split of SCL2205 (``p-scldata`` 2025.6.0), encoded; cached in process.

    Parameters
    ----------
    split : str
        ``train``, ``valid`` or ``test`` (``p-scldata``'s train, eval, heldout).

    Returns
    -------
    ds : Dataset
        ids are UniProt accessions; ``extra``: ``locations``, ``length``.
    """
    import scldata.loader as scl

    order = tuple(scl.labels["index_to_label"][str(i)] for i in range(len(CLASSES)))
    if order != CLASSES:
        raise RuntimeError(f"p-scldata's classes {order} differ from the task's {CLASSES}")
    df = scl.load(SPLITS[split])
    return make_dataset(df["seq"].tolist(), df["scl"].tolist(), [str(i) for i in df.index])


def data(split: str, path: str | Path | None = None, unknown: str | None = None) -> Dataset:
    """A split of the task: SCL2205 by default, or a user's DeepLoc FASTA file.

    Parameters
    ----------
    split : str
        ``train``, ``valid`` or ``test``.
    path : str or Path, optional
        A DeepLoc-format FASTA file (see :func:`load_deeploc`).
    unknown : str, optional
        ``"X"`` maps letters outside the alphabet of ``path`` to X (SCL2205 needs no mapping).

    Returns
    -------
    ds : Dataset
        A fresh record (its tensors are shared with the in-process cache: do not
        modify them in place).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    if path is None:
        ds = load_scl2205(split)
    else:
        p = Path(path).expanduser().resolve()
        if p.is_dir():
            raise FileNotFoundError(f"--data {p}: is a directory; psl reads one DeepLoc FASTA file")
        if not p.is_file():
            raise FileNotFoundError(f"--data {p}: no such file (psl reads one DeepLoc FASTA file)")
        ds = _load_deeploc_cached(str(p), p.stat().st_mtime_ns, p.stat().st_size, unknown)[split]
        if len(ds) == 0:
            hint = " (mark test records with 'test' in the header)" if split == "test" else ""
            raise ValueError(f"{p} has no records for split {split!r}{hint}")
    return dataclasses.replace(ds, extra=dict(ds.extra))


# --------------------------------------------------------------------------- DeepLoc FASTA

_LABEL = re.compile(r"^(?P<loc>.+)-(?P<mem>[MSU])$")


@functools.lru_cache(maxsize=2)
def _load_deeploc_cached(path: str, mtime: int, size: int, unknown: str | None) -> dict:
    return load_deeploc(path, unknown=unknown)


def _class_of(label: str, where: str) -> str | None:
    """The SCL2205 class of a DeepLoc location field; None for an unmapped DeepLoc location."""
    parts = []
    for part in label.split(";"):
        if part in UNMAPPED_DEEPLOC:
            return None
        loc = DEEPLOC_LOCATIONS.get(part, part.replace(".", " "))
        if loc not in _SINGLE:
            known = sorted(
                {*DEEPLOC_LOCATIONS, *UNMAPPED_DEEPLOC, *(s.replace(" ", ".") for s in _SINGLE)}
            )
            raise ValueError(
                f"{where}: unknown location {part!r}; known locations: {', '.join(known)}"
            )
        parts.append(loc)
    name = ";".join(sorted(set(parts)))
    if name not in CLASSES:
        raise ValueError(f"{where}: location set {name!r} is not a class of the task ({CLASSES})")
    return name


def _parse_header(header: str, where: str) -> tuple[str, str, str, bool]:
    """``(accession, location field, membrane letter, is_test)`` of a DeepLoc header."""
    fields = header.split()
    if len(fields) < 2:
        raise ValueError(f"{where}: header {header!r} needs 'ACCESSION Location-M|S|U [test]'")
    match = _LABEL.match(fields[1])
    if match is None:
        raise ValueError(f"{where}: label {fields[1]!r} is not 'Location-M', '-S' or '-U'")
    extra = fields[2:]
    if extra not in ([], ["test"]):
        raise ValueError(f"{where}: unexpected header fields {extra} (only 'test' is allowed)")
    return fields[0], match["loc"], match["mem"], bool(extra)


def load_deeploc(path: str | Path, unknown: str | None = None) -> dict[str, Dataset]:
    """Read a DeepLoc FASTA file into the task's three splits.

    Headers are ``>ACCESSION Location-M|S|U``, followed by ``test`` for records of
    the test set. Locations are DeepLoc 1.0 names (mapped: ``Cell.membrane`` ->
    Membrane, ``Extracellular`` -> Secreted, ``Endoplasmic.reticulum`` -> ER, the
    rest by name) or SCL2205 names with dots for spaces; several locations joined
    by ``;`` form a multi-location class (``Cytoplasm;Nucleus-U``). The suffix is
    DeepLoc's membrane-bound / soluble / unknown flag, kept in ``extra["membrane"]``.
    ``Golgi.apparatus`` and ``Lysosome/Vacuole`` have no SCL2205 class: those
    records are dropped and counted in a warning. Records without ``test`` go to
    ``train``, except a fixed tenth (by a hash of the accession) that forms ``valid``.

    Parameters
    ----------
    path : str or Path
    unknown : str, optional
        ``"X"``: map letters outside the alphabet to X (counted in a warning)
        instead of raising :class:`~attrbench.core.contract.SequenceError`.

    Returns
    -------
    splits : dict of str to Dataset
        ``train``, ``valid``, ``test`` (a split may be empty).

    Raises
    ------
    ValueError
        Empty file, malformed header, duplicate accession, unknown location.
    SequenceError
        A letter outside the alphabet, naming the record and position (1-based).
    """
    path = Path(path)
    rows: dict[str, tuple[str, str, str, str]] = {}
    first_line: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for number, header, seq in fasta_records(path):
        where = f"{path}:{number}"
        acc, loc, mem, is_test = _parse_header(header, where)
        if acc in first_line:
            raise ValueError(
                f"{where}: duplicate accession {acc!r} (first at line {first_line[acc]})"
            )
        first_line[acc] = number
        if not seq:
            raise ValueError(f"{where}: record {acc!r} has no sequence")
        label = _class_of(loc, where)
        if label is None:
            dropped[loc] = dropped.get(loc, 0) + 1
            continue
        split = "test" if is_test else "valid" if int(content_hash(acc), 16) % 10 == 0 else "train"
        rows[acc] = (split, seq, label, mem)
    if dropped:
        warnings.warn(
            f"{path}: dropped records of locations without an SCL2205 class: {dropped}",
            stacklevel=2,
        )
    return {split: _deeploc_split(rows, split, unknown) for split in SPLITS}


def _deeploc_split(rows: dict, split: str, unknown: str | None) -> Dataset:
    ids = [acc for acc, row in rows.items() if row[0] == split]
    seqs = [rows[a][1] for a in ids]
    labels = [rows[a][2] for a in ids]
    return make_dataset(seqs, labels, ids, unknown, {"membrane": [rows[a][3] for a in ids]})


# --------------------------------------------------------------------------- ground truth

#: C-terminal sorting signals: (kind, location, regular expression over the last residues).
SIGNALS = (
    ("ER_retention", "ER", re.compile(r"[KH]DEL$")),
    ("PTS1", "Peroxisome", re.compile(r"[SAC][KRH][LM]$")),
)


def ground_truth(ds: Dataset) -> GroundTruth:
    """C-terminal sorting signals in proteins of the matching location.

    ``[KH]DEL`` (ER retention) in the last 4 residues of ER proteins, and PTS1
    ``[SAC][KRH][LM]`` in the last 3 residues of peroxisomal proteins. The
    C-terminus of the encoding is the protein's (trimming keeps the last 500
    residues), so positions refer to the encoded sequence. Other proteins get
    an empty list.

    Parameters
    ----------
    ds : Dataset
        ``extra["locations"]`` if present, else the class of ``y``, gives locations.

    Returns
    -------
    gt : GroundTruth
        Motifs of kinds ``"ER_retention"`` and ``"PTS1"``.

    References
    ----------
    Munro, S. & Pelham, H. R. B. (1987). A C-terminal signal prevents secretion of
    luminal ER proteins. Cell 48, 899-907.
    Gould, S. J. et al. (1989). A conserved tripeptide sorts proteins to
    peroxisomes. J. Cell Biol. 108, 1657-1664.
    """
    locations = ds.extra.get("locations") or [locations_of(CLASSES[int(c)]) for c in ds.y]
    letters = np.array(list(PROTEIN.letters))
    real = ds.mask
    lengths = torch.where(real.any(1), real.shape[1] - real.flip(1).int().argmax(1), 0)
    tokens = ds.codes.long().clamp_min(0)
    motifs: list[list[Motif]] = []
    for i, locs in enumerate(locations):
        n = int(lengths[i])
        tail = "".join(letters[tokens[i, max(n - 4, 0) : n].numpy()])
        found = []
        for kind, loc, pattern in SIGNALS:
            match = pattern.search(tail) if loc in locs else None
            if match is not None:
                found.append(Motif(kind, n - len(tail) + match.start(), n))
        motifs.append(found)
    return GroundTruth(motifs)


def background(train: Dataset) -> Background:
    """Amino-acid frequencies of the training split, one distribution for every position.

    Returns
    -------
    background : Background
        ``probs`` of shape (21,), with a pseudocount of 1.
    """
    return Background.from_codes(train, per_position=False)
