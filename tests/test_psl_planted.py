"""The ``psl_planted`` variant: planted signals, labels following them, a model that uses them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from attrbench.core.plugin import TASKS
from attrbench_tasks.common.alphabets import PROTEIN
from attrbench_tasks.psl import data as D
from attrbench_tasks.psl import planted as P

LETTERS = np.array(list(PROTEIN.letters))


def _spelled(ds, i: int, start: int, end: int) -> str:
    return "".join(LETTERS[ds.codes[i, start:end].long().numpy()])


SEQS = ["MKT" * (k + 2) for k in range(8)] + ["A" * 1200]
LABELS = ["Cytoplasm", "ER", "Nucleus", "Peroxisome", "Plastid", "ER", "Secreted", "Nucleus", "ER"]
IDS = [f"P{k:05d}" for k in range(9)]


def test_planting_is_deterministic_exact_and_relabels():
    seqs, labels, planted = P.plant(SEQS, LABELS, IDS, "test", rate=2 / 9)
    assert (seqs, labels, planted) == P.plant(SEQS, LABELS, IDS, "test", rate=2 / 9)
    # round(2/9 * 9) = 2 proteins per kind, in the seeded hash order
    assert sorted(f for f in planted if f) == ["HDEL", "KDEL", "SKL", "SRL"]  # forms cycle
    for i, form in enumerate(planted):
        if not form:
            assert (seqs[i], labels[i]) == (SEQS[i], LABELS[i])  # untouched
            continue
        cls = "ER" if form in ("KDEL", "HDEL") else "Peroxisome"
        assert seqs[i] == SEQS[i] + form and labels[i] == cls
        assert LABELS[i] != cls  # drawn among proteins of other classes only
    other = P.plant(SEQS, LABELS, IDS, "train", rate=2 / 9)[2]
    assert [bool(f) for f in other] != [bool(f) for f in planted]  # splits draw independently


def test_planting_order_is_the_seeded_hash_order():
    order = P._draw_order(IDS, "test", 0)
    assert sorted(order) == list(range(9))
    assert order == P._draw_order(list(IDS), "test", 0)
    assert order != P._draw_order(IDS, "test", 1)
    seqs, labels, planted = P.plant(SEQS, LABELS, IDS, "test", rate=1 / 9)
    er = next(i for i in order if LABELS[i] != "ER")
    assert planted[er] == "KDEL"  # the first non-ER protein in the order gets the first form


def test_the_truth_is_the_planted_positions_short_and_trimmed():
    seqs = ["MKTAYIAK", "A" * 1200, "MSTNPKPQRK"]
    labels, planted = ["ER", "Peroxisome", "Cytoplasm"], ["HDEL", "SRL", ""]
    ds = D.make_dataset(
        [s + f for s, f in zip(seqs, planted, strict=True)],
        labels,
        ["a", "b", "c"],
        extra={"planted": planted},
    )
    gt = P.ground_truth(ds)
    assert gt.motifs[0][0].kind == "ER_retention" and (
        gt.motifs[0][0].start,
        gt.motifs[0][0].end,
    ) == (8, 12)
    assert (gt.motifs[1][0].kind, gt.motifs[1][0].start, gt.motifs[1][0].end) == ("PTS1", 997, 1000)
    assert gt.motifs[2] == []
    assert _spelled(ds, 0, 8, 12) == "HDEL" and _spelled(ds, 1, 997, 1000) == "SRL"
    assert gt.positions(D.LENGTH).sum(1).tolist() == [4, 3, 0]


@pytest.fixture(scope="module")
def splits():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return P.planted_data("train"), P.planted_data("test"), D.data("test")


def test_planted_splits_carry_at_least_200_held_out_truths(splits):
    train, test, real = splits
    gt = test.ground_truth
    carrying = [i for i, m in enumerate(gt.motifs) if m]
    assert len(test) == 2631 and len(carrying) == 2 * round(P.RATE * 2631) == 264
    assert sum(1 for f in train.extra["planted"] if f) == 2 * round(P.RATE * 15183)
    er, pex = D.CLASSES.index("ER"), D.CLASSES.index("Peroxisome")
    for i in carrying:
        (m,) = gt.motifs[i]
        form = test.extra["planted"][i]
        assert _spelled(test, i, m.start, m.end) == form and m.end == int(test.mask[i].sum())
        assert int(test.y[i]) == (er if m.kind == "ER_retention" else pex)
        assert test.extra["locations"][i] == (D.CLASSES[int(test.y[i])],)
    # every unplanted protein is SCL2205's, residues and label
    plain = torch.tensor([not f for f in test.extra["planted"]])
    assert test.ids == real.ids
    assert torch.equal(test.codes[plain], real.codes[plain])
    assert torch.equal(test.y[plain], real.y[plain])
    assert not bool((test.y[~plain] == real.y[~plain]).any())  # every planted one relabelled


def test_task_is_registered_beside_psl():
    task = TASKS.get("psl_planted")
    assert task.default_model == "bilstm" and list(task.models) == ["bilstm", "bilstm_att"]
    assert task.ground_truth is P.ground_truth and task.ground_truth_n >= 264
    assert TASKS.get("psl").default_model == "bilstm_att"  # psl stays as it is


def test_shipped_planted_model_uses_its_truth(splits):
    from attrbench.reporting.validity import truth_reliance
    from attrbench.running.training import fixed_subset, load_model, predict

    train, test, _ = splits
    task = TASKS.get("psl_planted")
    model = load_model(task, task.default_model, train_hash=train.hash)
    check = model.checkpoint["subset_check"]
    sub = fixed_subset(test)
    assert float((predict(model, sub.X).argmax(1) == sub.y).float().mean()) == check["accuracy"]
    carrying = [i for i, m in enumerate(test.ground_truth.motifs) if m][::8]  # 33 proteins
    part = test.subset(carrying)
    bg = D.background(train)
    r = truth_reliance(model, part.X, part.mask, part.y, part.ground_truth, bg, seed=0, draws=2)
    # on all 264: +6.921 [+6.767, +7.071] (log-probability units), every one predicted planted
    assert r.n == len(carrying) == 33 and r.low > 3.0
    assert r.share == 1.0
