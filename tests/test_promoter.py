"""The promoter task on the shipped data and models: splits, TATA ground truth, IG vs random."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attrbench.core.plugin import TASKS
from attrbench.running.results import ResultStore
from attrbench.running.runner import RunConfig, run
from attrbench_tasks.promoter import data as P


@pytest.fixture(scope="module")
def task():
    return TASKS.get("promoter")


@pytest.fixture(scope="module")
def test_split(task):
    return task.data("test")


def test_splits_are_balanced_and_hashed(task, test_split):
    assert test_split.X.shape[1:] == (4, 251)
    assert int(test_split.y.sum()) * 2 == len(test_split)
    assert task.data("valid").hash != test_split.hash


def test_tata_matrix_and_scan_on_a_hand_example():
    pwm = P.tata_pwm()
    assert pwm.shape == (4, 7)
    assert "".join("ACGT"[i] for i in pwm.argmax(0)) == "TATAAAA"
    codes = np.tile(np.array([2], dtype=np.int64), (2, 251))  # all G: no TATA box
    codes[0, 165:172] = [3, 0, 3, 0, 0, 0, 0]  # TATAAAA at TSS-35
    motifs = P.scan_tata(codes)
    assert [(m.kind, m.start, m.end) for m in motifs[0]] == [("TATA", 165, 172)]
    assert motifs[1] == []


def test_ground_truth_only_on_positives_in_the_tata_window(test_split):
    gt = test_split.ground_truth
    carriers = [i for i, m in enumerate(gt.motifs) if m]
    assert len(carriers) == 230  # the number the task's ground_truth_n is set to
    assert all(test_split.y[i] == 1 for i in carriers)
    assert all(160 <= m.start and m.end <= 181 for i in carriers for m in gt.motifs[i])


def test_ig_beats_random_on_tata_recall(task, test_split, tmp_path, monkeypatch):
    from attrbench.running.training import load_model, predict

    called = predict(load_model(task, "cnn"), test_split.X).argmax(1)
    carriers = [i for i, m in enumerate(test_split.ground_truth.motifs) if m and called[i] == 1]
    real = task.data
    monkeypatch.setattr(
        task,
        "data",
        lambda split, **kw: (
            real(split, **kw).subset(carriers) if split == "test" else real(split, **kw)
        ),
    )
    config = RunConfig(
        task="promoter",
        methods=["ig", "random"],
        metrics=["motif_recall"],
        n=-1,
        progress=False,
        method_options={"ig": {"n_steps": 16}},
    )
    records = {
        r.key.method: r
        for r in run(config, ResultStore(tmp_path))
        if r.key.metric == "motif_recall"
    }
    ig, rnd = records["ig"], records["random"]
    assert ig.n_scored == rnd.n_scored == len(carriers) > 100
    # On the shipped CNN (test positives with a TATA box that it calls promoters, n = 187)
    # the intervals of IG and random touch, so the known answer checked is the ordering.
    assert ig.value > rnd.value + 0.05, (ig.value, rnd.value)


def test_deeplift_is_not_applicable_on_the_transformer(task):
    from attrbench.core.plugin import METHODS

    model = task.models["transformer"].build()
    assert "LayerNorm" in METHODS.get("deeplift").why_not(model)
    X = (
        torch.nn.functional.one_hot(torch.zeros(1, 251, dtype=torch.long), 4)
        .permute(0, 2, 1)
        .float()
    )
    assert model.attention_weights(X).shape == (1, 251)
