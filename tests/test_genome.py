"""Genome readers and the promoter / codon pipelines on a tiny generated genome + GFF."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from attrbench_tasks.common import genome as G
from attrbench_tasks.promoter import data as P

LETTERS = np.array(list("ACGT"))
LENGTH = 5_000_000  # ten 500-kb blocks: every split gets blocks
SPACING = 25_000


def _tss_list() -> list[tuple[int, str]]:
    return [
        (p, "+" if i % 2 == 0 else "-")
        for i, p in enumerate(range(10_000, LENGTH - 10_000, SPACING))
    ]


def _write(tmp_path, seq: str, gz: bool = True):
    fasta = tmp_path / ("toy.fa.gz" if gz else "toy.fa")
    body = (
        ">chrT toy chromosome\n" + "\n".join(seq[i : i + 80] for i in range(0, len(seq), 80)) + "\n"
    )
    if gz:
        with gzip.open(fasta, "wt") as f:
            f.write(body)
    else:
        fasta.write_text(body)
    lines = ["##gff-version 3"]
    for i, (tss, strand) in enumerate(_tss_list()):
        start, end = (tss + 1, tss + 1500) if strand == "+" else (tss - 1498, tss + 1)
        lines.append(f"chrT\tRefSeq\tmRNA\t{start}\t{end}\t.\t{strand}\t.\tID=rna-{i}")
        lines.append(f"chrT\tRefSeq\texon\t{start}\t{end}\t.\t{strand}\t.\tID=exon-{i}")
    gff = tmp_path / "toy.gff"
    gff.write_text("\n".join(lines) + "\n")
    return fasta, gff


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    rng = np.random.default_rng(0)
    # AT-rich background with GC-rich stretches, so GC matching has work to do
    gc = np.where((np.arange(LENGTH) // 7000) % 3 == 0, 0.55, 0.33)
    u = rng.random(LENGTH)
    codes = np.where(u < gc / 2, 1, np.where(u < gc, 2, np.where(u < (1 + gc) / 2, 0, 3)))
    seq = "".join(LETTERS[codes])
    tss0 = _tss_list()[1][0]  # a minus-strand TSS: plant N in its window -> dropped
    seq = seq[: tss0 + 10] + "N" + seq[tss0 + 11 :]
    path = tmp_path_factory.mktemp("genome")
    fasta, gff = _write(path, seq)
    return seq, fasta, gff


@pytest.fixture(scope="module")
def windows(genome):
    _, fasta, gff = genome
    return P.windows(fasta, gff)


def test_read_fasta_plain_and_gz_agree_and_soft_mask_is_read(tmp_path):
    seq = "ACGTacgtNNRY" * 3
    a, _ = _write(tmp_path, seq, gz=True)
    b = tmp_path / "plain.fa"
    b.write_text(">chrT x\n" + seq + "\n")
    ra, rb = G.read_fasta(a)["chrT"], G.read_fasta(b)["chrT"]
    assert (ra == rb).all()
    assert ra[:12].tolist() == [0, 1, 2, 3, 0, 1, 2, 3, -1, -1, -1, -1]


def test_bad_letter_is_named_with_record_and_position(tmp_path):
    f = tmp_path / "bad.fa"
    f.write_text(">chrA\nACGT\n>chrB\nACGTAC\nGTXA\n")
    with pytest.raises(G.GenomeError, match=r"record 'chrB'.*'X' at position 9"):
        G.read_fasta(f)


def test_missing_file_names_the_path_and_the_option(tmp_path):
    with pytest.raises(G.GenomeError, match=r"fasta=.*nope.fa: no such file"):
        P.data("train", fasta=tmp_path / "nope.fa", gff=tmp_path / "nope.gff")
    with pytest.raises(G.GenomeError, match="looked for nopkg_xyz/data/x.fa.*fasta=PATH"):
        G.packaged_file("nopkg_xyz", "data/x.fa", "fasta")


def test_reverse_complement_and_cut_on_both_strands():
    chrom = G.encode(b"AACCGGTTAC")
    assert "".join(LETTERS[G.reverse_complement(chrom)]) == "GTAACCGGTT"
    w = G.cut(chrom, np.array([0, 1]), 4, np.array([False, True]))
    assert ["".join(LETTERS[r]) for r in w] == ["AACC", "CGGT"]  # ACCG reverse-complemented


def test_tss_windows_on_both_strands(genome, windows):
    seq, _, _ = genome
    pos = windows["y"] == 1
    for tss, strand in _tss_list()[:8]:
        start = tss - 200 if strand == "+" else tss - 50
        hit = np.flatnonzero(pos & (windows["start"] == start))
        if strand == "-" and tss == _tss_list()[1][0]:
            assert not len(hit)  # holds an N: dropped
            continue
        assert len(hit) == 1, (tss, strand)
        window = "".join(LETTERS[windows["codes"][hit[0]]])
        expect = seq[start : start + 251]
        if strand == "-":
            expect = "".join(LETTERS[G.reverse_complement(G.encode(expect.encode()))])
        assert window == expect
        assert window[200] == (seq[tss] if strand == "+" else "TGCA"["ACGT".index(seq[tss])])


def test_n_windows_dropped_and_counted(windows):
    assert int(windows["dropped"]) == 1
    assert (windows["codes"] >= 0).all()


def test_negatives_far_from_every_tss(windows):
    tss = np.array([t for t, _ in _tss_list()])
    neg = windows["start"][windows["y"] == 0]
    gap = np.minimum(np.abs(tss[None] - neg[:, None]), np.abs(tss[None] - (neg[:, None] + 250)))
    assert gap.min() >= P.MIN_DISTANCE


def test_gc_matched_per_split(windows):
    gc = G.gc_fraction(windows["codes"])
    edges = np.linspace(0, 1, 51)
    for split in ("train", "valid", "test"):
        s = windows["split"] == split
        hp = np.histogram(gc[s & (windows["y"] == 1)], edges)[0]
        hn = np.histogram(gc[s & (windows["y"] == 0)], edges)[0]
        assert hp.sum() > 0 and (hn == hp).all(), split


def test_gc_matched_draws_the_target_histogram():
    rng = np.random.default_rng(1)
    idx = G.gc_matched(
        np.array([0.1, 0.1, 0.5]), np.array([0.1, 0.5, 0.11, 0.9, 0.51, 0.1]), rng, bins=10
    )
    assert sorted(np.array([0.1, 0.5, 0.11, 0.9, 0.51, 0.1])[idx].round(1).tolist()) == [
        0.1,
        0.1,
        0.5,
    ]


def test_block_splits_are_disjoint_and_never_straddle(windows):
    starts, split = windows["start"], windows["split"]
    blocks = starts // P.BLOCK
    assert ((starts + 250) // P.BLOCK == blocks).all()
    for a, b in (("train", "valid"), ("train", "test"), ("valid", "test")):
        assert not set(blocks[split == a]) & set(blocks[split == b])
    assert G.block_split(np.array([0, 95, 100]), 10, 100).tolist() == ["train", "", "train"]


def test_data_splits_from_user_genome(genome):
    _, fasta, gff = genome
    test = P.data("test", fasta=fasta, gff=gff)
    assert test.X.shape[1:] == (4, 251) and set(test.y.tolist()) == {0, 1}
    assert len(test.ground_truth) == len(test)
