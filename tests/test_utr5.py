"""The utr5 task: generator, oracle, ground truth, background and the shipped checkpoint."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import attrbench_tasks.utr5 as utr5
from attrbench.core.data import Motif, content_hash
from attrbench.core.plugin import TASKS
from attrbench.running.training import CheckpointError, checkpoint_path, load_model, predict
from attrbench_tasks.common.alphabets import DNA

STOPS = ("TAA", "TAG", "TGA")


def at(*codons: tuple[int, str], filler: str = "C") -> str:
    """A 50-nt UTR of ``filler`` (no ATG, no stop) with ``codons`` written at their positions."""
    seq = list(filler * utr5.UTR_LEN)
    for pos, codon in codons:
        seq[pos : pos + len(codon)] = codon
    return "".join(seq)


def occurrences(seq: str, codons: tuple[str, ...]) -> list[int]:
    """Start positions of ``codons`` in ``seq`` (overlaps included), by a plain regex scan."""
    return [m.start() for m in re.finditer(f"(?=({'|'.join(codons)}))", seq)]


@pytest.fixture(scope="module")
def test_split():
    return utr5.data("test")


@pytest.fixture(scope="module")
def test_seqs(test_split) -> list[str]:
    return DNA.decode(test_split.X)


# --------------------------------------------------------------------------- generator


def test_logic_set_generator_is_deterministic_in_its_seed():
    def digest(seed):
        return content_hash(*utr5.generate_logic_set(seed, 64, 2, 2))

    assert digest(7) == digest(7)
    assert digest(7) != digest(8)


def test_mixture_is_deterministic_and_balanced():
    def mixture(seed):
        return utr5._mixture(np.random.default_rng(seed), 300)

    assert np.array_equal(mixture(1), mixture(1))
    assert not np.array_equal(mixture(1), mixture(2))
    assert np.bincount(utr5._labels(mixture(1)), minlength=3).tolist() == [100, 100, 100]


def test_splits_have_declared_sizes_balanced_classes_and_differ():
    train, valid, test = (utr5.data(s) for s in ("train", "valid", "test"))
    assert (len(train), len(valid)) == (utr5.SIZES["train"], utr5.SIZES["valid"])
    assert len(test) == utr5.TEST_PER_SET * len(utr5.LOGIC_SETS)
    for ds in (train, valid):
        counts = torch.bincount(ds.y, minlength=3)
        assert int(counts.max() - counts.min()) <= 1
    assert len({train.hash, valid.hash, test.hash}) == 3
    assert utr5.data("test").hash == test.hash  # cached and stable
    assert train.X.shape[1:] == (4, utr5.UTR_LEN) and bool(train.mask.all())
    with pytest.raises(ValueError, match="splits"):
        utr5.data("eval")


@pytest.mark.parametrize("logic_set", list(utr5.LOGIC_SETS))
def test_logic_sets_hold_exactly_the_planted_codons(test_split, test_seqs, logic_set):
    n_start, n_stop = utr5.LOGIC_SETS[logic_set]
    rows = [i for i, s in enumerate(test_split.extra["logic_set"]) if s == logic_set]
    assert len(rows) == utr5.TEST_PER_SET
    for i in rows:
        seq = test_seqs[i]
        starts = occurrences(seq, ("ATG",))
        stops = [p for p in occurrences(seq, STOPS) if any((p - s) % 3 == 0 for s in starts)]
        assert len(starts) == n_start and len(stops) == n_stop, seq  # no other ATG or IF stop
        assert all((utr5.UTR_LEN - s) % 3 == 0 for s in starts), seq  # the paper's IF codons
        assert max(starts) < min(stops), seq  # any start with any stop is a uORF
        planted = {(m.kind, m.start) for m in test_split.ground_truth.motifs[i]}
        assert planted == {("start", p) for p in starts} | {("stop", p) for p in stops}
    assert (utr5.oracle([test_seqs[i] for i in rows]) == 1).all()
    assert bool((test_split.y[rows] == 1).all())


# --------------------------------------------------------------------------- oracle

CASES = [  # (name, sequence, class, deciding codons)
    ("nothing", at(), 0, []),
    ("uorf", at((2, "ATG"), (11, "TAA")), 1, [("start", 2), ("stop", 11)]),
    (
        "uorf, start out of the CDS frame",
        at((0, "ATG"), (30, "TGA")),
        1,
        [("start", 0), ("stop", 30)],
    ),
    ("oorf", at((0, "ATG")), 2, [("start", 0)]),
    ("in-frame extension", at((2, "ATG")), 0, []),
    ("last codon in frame", at((47, "ATG")), 0, []),
    ("last full codon out of frame", at((46, "ATG")), 2, [("start", 46)]),
    ("stop before the ATG, in frame", at((2, "TAA"), (11, "ATG")), 0, []),
    ("stop before the ATG, out of frame", at((3, "TAG"), (12, "ATG")), 2, [("start", 12)]),
    ("stop out of frame", at((2, "ATG"), (12, "TAG")), 0, []),
    ("stop out of frame, oorf", at((0, "ATG"), (10, "TAG")), 2, [("start", 0)]),
    ("stop straddling the CDS", at((0, "ATG"), (48, "TA")), 2, [("start", 0)]),
    ("oorf beats uorf", at((0, "ATG"), (20, "ATG"), (26, "TAA")), 2, [("start", 0)]),
    (
        "second stop is a backup",
        at((2, "ATG"), (11, "TAA"), (20, "TGA")),
        1,
        [("start", 2), ("stop", 11), ("stop", 20)],
    ),
    (
        "two starts one stop",
        at((2, "ATG"), (11, "ATG"), (38, "TAG")),
        1,
        [("start", 2), ("start", 11), ("stop", 38)],
    ),
    (
        "only the uORF decides",
        at((5, "ATG"), (9, "ATG"), (21, "TAA"), (31, "TAG")),
        1,
        [("start", 9), ("stop", 21)],
    ),
]


@pytest.mark.parametrize("name, seq, label, codons", CASES, ids=[c[0] for c in CASES])
def test_oracle_and_deciding_codons_on_known_cases(name, seq, label, codons):
    assert int(utr5.oracle([seq])[0]) == label
    assert utr5.deciding_codons(seq) == [Motif(k, p, p + 3) for k, p in codons]


def test_oracle_batch_matches_single_and_rejects_bad_input():
    seqs = [c[1] for c in CASES]
    assert utr5.oracle(seqs).tolist() == [c[2] for c in CASES]
    with pytest.raises(ValueError, match="length"):
        utr5.oracle(["ATG"])
    with pytest.raises(ValueError, match="letters"):
        utr5.oracle(["N" * utr5.UTR_LEN])


# --------------------------------------------------------------------------- ground truth


@pytest.mark.parametrize("split", ["train", "test"])
def test_ground_truth_codons_match_the_letters_and_the_labels(split):
    ds = utr5.data(split).subset(range(0, 2000))
    seqs = DNA.decode(ds.X)
    gt = utr5.ground_truth(ds)
    assert gt.motifs == ds.ground_truth.motifs
    for seq, motifs, y in zip(seqs, gt.motifs, ds.y.tolist(), strict=True):
        kinds = {m.kind for m in motifs}
        assert kinds == [set(), {"start", "stop"}, {"start"}][y], (seq, motifs)
        for m in motifs:
            assert seq[m.start : m.end] in (("ATG",) if m.kind == "start" else STOPS)


def test_background_is_uniform():
    probs = utr5.background(utr5.data("train")).probs_for(utr5.UTR_LEN)
    assert probs.shape == (4, utr5.UTR_LEN)
    assert torch.equal(probs, torch.full_like(probs, 0.25))


# --------------------------------------------------------------------------- model and checkpoint


def test_task_is_registered_with_its_model():
    task = TASKS.get("utr5")
    assert task is utr5.TASK and task.classes == ("none", "uorf", "oorf")
    model = task.model("cnn").build()
    assert model.kind == "cnn"
    assert model(torch.zeros(2, 4, utr5.UTR_LEN)).shape == (2, 3)
    relus = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    assert len({id(m) for m in relus}) == len(relus) == 5 and not any(m.inplace for m in relus)
    assert not any(isinstance(m, torch.nn.MaxPool1d) for m in model.modules())


def test_shipped_checkpoint_reproduces_its_test_accuracy(test_split):
    path = checkpoint_path(utr5.TASK, "cnn")
    assert path.stat().st_size < 2_000_000
    model = load_model(utr5.TASK, "cnn")
    assert model.checkpoint["test_hash"] == test_split.hash
    pred = predict(model, test_split.X).argmax(1)
    accuracy = float((pred == test_split.y).double().mean())
    assert accuracy == model.checkpoint["test_metrics"]["accuracy"]
    assert accuracy >= 0.95


@pytest.mark.parametrize(
    "field, value", [("config", {"arch": {}, "train": {}}), ("data_hash", "0" * 16)]
)
def test_tampered_checkpoint_is_refused(tmp_path, field, value):
    ckpt = torch.load(checkpoint_path(utr5.TASK, "cnn"), weights_only=True)
    ckpt[field] = value
    torch.save(ckpt, tmp_path / "cnn.pt")
    with pytest.raises(CheckpointError, match="config" if field == "config" else "trained on data"):
        load_model(utr5.TASK, "cnn", directory=tmp_path)
