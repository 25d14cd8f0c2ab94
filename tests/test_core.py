"""Core pieces: encoding, backgrounds, bootstrap, classification scores, timing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attrbench.core.contract import SequenceError, mask_of, position_scores
from attrbench.core.data import Background
from attrbench.reporting.stats import bootstrap_mean, classification_scores
from attrbench.running.timing import interleaved, measure
from attrbench_tasks.common.alphabets import DNA, PROTEIN


def test_encode_decode_roundtrip_with_padding():
    X = DNA.encode(["ACGT", "GG"], 5)
    assert X.shape == (2, 4, 5)
    assert X[0, :, 0].tolist() == [1, 0, 0, 0] and X[1, :, 2:].sum() == 0
    assert DNA.decode(X) == ["ACGT", "GG"]
    assert mask_of(X).tolist() == [[True] * 4 + [False], [True, True, False, False, False]]


def test_bad_letter_names_record_and_position():
    with pytest.raises(SequenceError, match=r"record 'seq2': letter 'N' at position 3"):
        DNA.encode(["ACGT", "ACNT"], 4, ids=["seq1", "seq2"])


def test_protein_aliases_map_to_x_with_warning():
    with pytest.warns(UserWarning, match="1 letters"):
        X = PROTEIN.encode(["MUK"], 3)
    assert PROTEIN.decode(X) == ["MXK"]


def test_position_scores_pick_the_observed_letter():
    X = DNA.encode(["AC"], 2)
    attr = torch.arange(8, dtype=torch.float32).reshape(1, 4, 2)
    assert position_scores(attr, X).tolist() == [[0.0, 3.0]]


def test_background_fill_keeps_kept_and_padding():
    X = DNA.encode(["AAAA", "AA"], 4)
    bg = Background(torch.tensor([0.0, 0.0, 0.0, 1.0]))  # always T
    keep = torch.tensor([[True, False, True, False], [False, True, False, False]])
    out = bg.fill(X, keep, torch.Generator().manual_seed(0))
    assert DNA.decode(out) == ["ATAT", "TA"]
    assert out[1, :, 2:].sum() == 0
    torch.testing.assert_close(
        bg.mean(X)[1, :, :2], torch.tensor([[0.0, 0], [0, 0], [0, 0], [1, 1]])
    )


def test_bootstrap_mean_ignores_nan_and_covers_mean():
    s = bootstrap_mean(np.array([1.0, 2.0, 3.0, np.nan]), seed=0)
    assert s.mean == 2.0 and s.n == 3 and s.n_missing == 1
    assert 1.0 <= s.low < 2.0 < s.high <= 3.0
    assert bootstrap_mean(np.array([5.0, 5.0])).low == 5.0


def test_classification_scores_known_answer():
    y = torch.tensor([0, 0, 1, 1, 2])
    pred = torch.tensor([0, 1, 1, 1, 0])
    s = classification_scores(y, pred, 3)
    assert s["accuracy"] == pytest.approx(0.6)
    # per-class F1: class0 2*1/(2+1+1)=0.5, class1 2*2/(4+1)=0.8, class2 0
    assert s["f1_macro"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)


def test_measure_records_time_and_memory():
    with measure("cpu") as t:
        x = torch.ones(2_000_000)
        del x
    assert t.seconds > 0 and t.device == "cpu"


def test_interleaved_rotates_sides_and_counts_page_faults():
    order = []

    def touch(pages: int):
        def run():
            order.append(pages)
            return bytearray(pages * 4096)  # zero-filled: every page touched once

        return run

    big = 10240  # 40 MiB: above glibc's mmap threshold, fresh pages on every call
    c = interleaved({"small": touch(1), "large": touch(big)}, rounds=3, warmup=1)
    assert order == [1, big, big, 1, 1, big, big, 1]  # the order rotates every round
    assert len(c["large"].wall) == len(c["large"].cpu) == len(c["large"].faults) == 3
    assert len(c["large"].output) == big * 4096
    # fresh pages fault, a reused one does not (THP may fold 512 pages into one fault)
    assert min(c["large"].faults) >= 2 and max(c["small"].faults) <= 2 < min(c["large"].faults)
    info = c.info(("large", "small"))
    assert info["large_page_faults"] == sorted(c["large"].faults)[1]
    assert info["large/small_cpu"] == c["large"].cpu_median / c["small"].cpu_median


def _loop_encode(alphabet, seqs: list[str], length: int) -> torch.Tensor:
    """The former per-sequence encoder: one letter lookup per residue, aliases to their letter."""
    index = {c: i for i, c in enumerate(alphabet.letters)}
    index.update({src: alphabet.letters.index(dst) for src, dst in alphabet.aliases})
    X = torch.zeros(len(seqs), len(alphabet), length)
    for n, seq in enumerate(seqs):
        for p, letter in enumerate(seq.upper()):
            X[n, index[letter], p] = 1.0
    return X


def test_vectorised_encode_equals_the_loop_on_scl2205_like_proteins():
    rng = np.random.default_rng(0)
    letters = list("ACDEFGHIKLMNPQRSTVWY" + "acdefghiklmnpqrstvwy" + "XBZUO")
    seqs = ["".join(rng.choice(letters, int(rng.integers(1, 300)))) for _ in range(200)]
    n_alias = sum(s.upper().count(a) for s in seqs for a in "BZUO")
    with pytest.warns(UserWarning, match=f"{n_alias} letters B/Z/U/O mapped to X"):
        X = PROTEIN.encode(seqs, 300)
    assert torch.equal(X, _loop_encode(PROTEIN, seqs, 300))
    assert PROTEIN.decode(X) == [s.upper().translate(str.maketrans("BZUO", "XXXX")) for s in seqs]


def test_bad_letters_are_named_with_record_and_position():
    with pytest.raises(
        SequenceError,
        match=r"record 'P2': letter 'J' at position 4 is not in the "
        r"protein alphabet",
    ):
        PROTEIN.codes(["MKVL", "MKVJL"], ids=["P1", "P2"])
    with pytest.raises(SequenceError, match=r"sequence 1: letter 'é' at position 2"):
        PROTEIN.encode(["Aé"], 5)  # a non-ASCII letter keeps its position
    with pytest.raises(SequenceError, match="record 's': length 6 exceeds 5"):
        DNA.encode(["ACGTAC"], 5, ids=["s"])
    with pytest.warns(UserWarning, match="2 unknown letters mapped to 'X'"):
        assert PROTEIN.codes(["MJJ"], unknown="X").tolist() == [10, 20, 20]
