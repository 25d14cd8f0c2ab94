"""Genome readers and window cutting shared by the DNA tasks.

Letters
-------
A genome is read into int8 letter codes over ``ACGT`` (0..3, upper or lower
case; soft-masked repeats are ordinary letters). The IUPAC ambiguity letters
``N R Y K M S W B D H V`` become :data:`UNKNOWN` (-1): a window that holds one is
dropped and counted, never encoded. Any other letter is an error naming the
record and position (:class:`GenomeError`).

Windows
-------
:func:`cut` cuts windows ``[start, start + length)`` of one chromosome, on the
forward strand or reverse-complemented. Splits are by chromosome blocks
(:func:`block_split`): the chromosome is cut into blocks of ``block`` nt, block
``b`` goes to ``BLOCK_PATTERN[b % 10]``; a window that crosses a block boundary
is dropped, so windows of different splits never overlap.

Caching
-------
:func:`cached` stores arrays under ``$ATTRBENCH_CACHE/genome/<key>.npz``
(``ATTRBENCH_CACHE`` defaults to ``platformdirs.user_cache_dir("attrbench")``),
keyed by the content hash of the input files and the options, so a genome is
parsed once.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "GenomeError",
    "UNKNOWN",
    "BLOCK_PATTERN",
    "Transcript",
    "read_fasta",
    "read_gff",
    "encode",
    "reverse_complement",
    "cut",
    "gc_fraction",
    "block_split",
    "window_blocks",
    "gc_matched",
    "cache_root",
    "file_digest",
    "cached",
    "packaged_file",
]

UNKNOWN = -1
#: Split of chromosome block ``b``: ``BLOCK_PATTERN[b % 10]`` (80 / 10 / 10 %).
BLOCK_PATTERN = ("train",) * 4 + ("valid",) + ("train",) * 4 + ("test",)
_AMBIGUOUS = "NRYKMSWBDHV"
_TABLE = np.full(256, -2, dtype=np.int8)
for _i, _letter in enumerate("ACGT"):
    _TABLE[ord(_letter)] = _TABLE[ord(_letter.lower())] = _i
for _letter in _AMBIGUOUS:
    _TABLE[ord(_letter)] = _TABLE[ord(_letter.lower())] = UNKNOWN


class GenomeError(ValueError):
    """A genome or annotation file is missing or holds something it must not."""


@dataclass(frozen=True)
class Transcript:
    """One annotated transcript: ``tss`` is its 0-based first base on ``strand``."""

    seqid: str
    kind: str
    start: int
    end: int
    strand: str
    name: str

    @property
    def tss(self) -> int:
        return self.start if self.strand == "+" else self.end - 1


def _open(path: Path) -> io.BufferedIOBase:
    if not Path(path).is_file():
        raise GenomeError(f"no such file: {path}")
    return gzip.open(path, "rb") if str(path).endswith(".gz") else open(path, "rb")


def encode(letters: bytes, record: str = "sequence", offset: int = 0) -> np.ndarray:
    """Letter codes (L,) int8 of ``letters``: ACGT 0..3, IUPAC ambiguity -1.

    Raises
    ------
    GenomeError
        For any other letter, naming ``record`` and the 1-based position.
    """
    codes = _TABLE[np.frombuffer(letters, dtype=np.uint8)]
    bad = np.flatnonzero(codes == -2)
    if len(bad):
        p = int(bad[0])
        raise GenomeError(
            f"{record}: letter {chr(letters[p])!r} at position {offset + p + 1} is not DNA "
            f"(ACGT, or an IUPAC ambiguity letter {_AMBIGUOUS}, which is treated as unknown)"
        )
    return codes


def read_fasta(path: Path) -> dict[str, np.ndarray]:
    """Every record of a (gzipped or plain) FASTA file as letter codes.

    Returns
    -------
    records : dict of str to np.ndarray, shape=(L,), int8
        Keyed by the first word of the header (the ``seqid`` a GFF refers to).
    """
    with _open(path) as f:
        text = f.read()
    if not text.lstrip().startswith(b">"):
        raise GenomeError(f"{path}: not a FASTA file (no '>' header at the start)")
    out: dict[str, np.ndarray] = {}
    for chunk in text.split(b"\n>"):
        header, _, body = chunk.lstrip(b">").partition(b"\n")
        name = header.decode("utf-8", "replace").split()[0] if header.strip() else ""
        if not name:
            raise GenomeError(f"{path}: a record without a name")
        seq = body.replace(b"\n", b"").replace(b"\r", b"").replace(b" ", b"")
        out[name] = encode(seq, f"{path}: record {name!r}")
    return out


def read_gff(path: Path, kinds: tuple[str, ...] | None = None) -> list[Transcript]:
    """Features of a GFF3 file (gzipped or plain), optionally only those of ``kinds``.

    Returns
    -------
    transcripts : list of Transcript
        0-based half-open coordinates; ``name`` is the ``ID`` attribute.
    """
    out = []
    with _open(path) as f:
        for lineno, raw in enumerate(io.TextIOWrapper(f, encoding="utf-8"), start=1):
            if raw.startswith("#") or not raw.strip():
                continue
            cols = raw.rstrip("\n").split("\t")
            if len(cols) < 9:
                raise GenomeError(f"{path}:{lineno}: {len(cols)} columns, GFF3 has 9")
            if kinds is not None and cols[2] not in kinds:
                continue
            if cols[6] not in "+-" or not cols[6]:
                continue
            attrs = dict(a.split("=", 1) for a in cols[8].split(";") if "=" in a)
            out.append(
                Transcript(
                    cols[0],
                    cols[2],
                    int(cols[3]) - 1,
                    int(cols[4]),
                    cols[6],
                    attrs.get("ID", f"line{lineno}"),
                )
            )
    return out


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of codes (..., L); unknown (-1) stays unknown."""
    flipped = codes[..., ::-1]
    return np.where(flipped < 0, flipped, 3 - flipped).astype(np.int8)


def cut(
    chrom: np.ndarray, starts: np.ndarray, length: int, minus: np.ndarray | None = None
) -> np.ndarray:
    """Windows ``chrom[s:s + length]``, reverse-complemented where ``minus``.

    Parameters
    ----------
    chrom : np.ndarray, shape=(G,), int8
    starts : np.ndarray, shape=(N,), int
        Forward-strand start of each window; every window must lie inside ``chrom``.
    minus : np.ndarray, shape=(N,), bool, optional

    Returns
    -------
    windows : np.ndarray, shape=(N, length), int8
    """
    idx = np.asarray(starts, dtype=np.int64)[:, None] + np.arange(length)
    out = chrom[idx]
    if minus is not None and minus.any():
        out[minus] = reverse_complement(out[minus])
    return out


def gc_fraction(windows: np.ndarray) -> np.ndarray:
    """Share of C and G (codes 1, 2) per window (N,); windows hold no unknown letters."""
    return ((windows == 1) | (windows == 2)).mean(1)


def window_blocks(starts: np.ndarray, length: int, block: int) -> np.ndarray:
    """Block index of each window (N,), -1 for a window crossing a block boundary."""
    starts = np.asarray(starts, dtype=np.int64)
    first, last = starts // block, (starts + length - 1) // block
    return np.where(first == last, first, -1)


def block_split(starts: np.ndarray, length: int, block: int) -> np.ndarray:
    """Split name of each window (N,) by chromosome block (module notes); ``""`` if it straddles."""
    blocks = window_blocks(starts, length, block)
    names = np.array(BLOCK_PATTERN + ("",))
    return names[np.where(blocks < 0, len(BLOCK_PATTERN), blocks % len(BLOCK_PATTERN))]


def gc_matched(
    target_gc: np.ndarray, candidate_gc: np.ndarray, rng: np.random.Generator, bins: int = 50
) -> np.ndarray:
    """Indices of candidates whose GC histogram matches ``target_gc`` bin by bin.

    For each of ``bins`` equal GC bins in [0, 1], as many candidates as targets
    are drawn without replacement (all there are if the bin runs short).

    Returns
    -------
    index : np.ndarray, shape=(M,), int64, M <= len(target_gc); sorted.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    t = np.clip(np.digitize(target_gc, edges) - 1, 0, bins - 1)
    c = np.clip(np.digitize(candidate_gc, edges) - 1, 0, bins - 1)
    need = np.bincount(t, minlength=bins)
    picked = []
    for b in np.flatnonzero(need):
        pool = np.flatnonzero(c == b)
        picked.append(rng.permutation(pool)[: need[b]])
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


def cache_root() -> Path:
    """``$ATTRBENCH_CACHE/genome`` or ``platformdirs.user_cache_dir("attrbench")/genome``."""
    root = os.environ.get("ATTRBENCH_CACHE")
    if not root:
        import platformdirs

        root = platformdirs.user_cache_dir("attrbench")
    return Path(root) / "genome"


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, first 16 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def cached(key: str, make: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Arrays stored under ``cache_root()/key.npz``, made by ``make()`` on a miss (atomic write)."""
    path = cache_root() / f"{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    arrays = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return arrays


def packaged_file(package: str, relative: str, option: str) -> Path:
    """A data file shipped inside an installed package, found without importing it.

    Raises
    ------
    GenomeError
        Naming the path looked for and the data option that supplies a file instead.
    """
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise GenomeError(
            f"package {package!r} is not installed (looked for {package}/{relative}); "
            f"install it (`pip install {package}`) or pass your own file with {option}=PATH"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise GenomeError(f"{path} not found; pass your own file with {option}=PATH")
    return path
