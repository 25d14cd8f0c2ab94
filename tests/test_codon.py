"""The codon task on the shipped data and models: labels, ground truth, IG vs random."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attrbench.core.plugin import TASKS
from attrbench.running.results import ResultStore
from attrbench.running.runner import RunConfig, run
from attrbench_tasks.codon import data as C


@pytest.fixture(scope="module")
def test_split():
    return TASKS.get("codon").data("test")


def test_labels_and_motifs_on_hand_examples():
    seqs = ["CCATGCC", "CCTAACC", "ATGTAAC", "CCCCCCC", "ATATGAA"]
    codes = np.array([["ACGT".index(c) for c in s] for s in seqs], dtype=np.int8)
    assert C.labels(codes).tolist() == [1, 2, 3, 0, 1]
    motifs = C.codon_motifs(codes)
    assert [(m.kind, m.start) for m in motifs[2]] == [("ATG", 0), ("TAA", 3)]
    assert [(m.kind, m.start) for m in motifs[4]] == [("ATG", 2)]


def test_splits_balanced_and_ground_truth_matches_labels(test_split):
    assert test_split.X.shape[1:] == (4, 70)
    assert torch.bincount(test_split.y).tolist() == [500] * 4
    kinds = [{m.kind for m in ms} for ms in test_split.ground_truth.motifs]
    expect = [
        {"neither": set(), "ATG": {"ATG"}, "TAA": {"TAA"}, "both": {"ATG", "TAA"}}[C.CLASSES[y]]
        for y in test_split.y.tolist()
    ]
    assert kinds == expect


def test_ig_beats_random_on_codon_recall(tmp_path):
    # The lenient definition (a codon found when one of its letters is among the top K = the
    # sequence's motif length); the paper's default (whole codons in the top 6) leaves
    # both near 0 on 60 windows with several ATG/TAA each.
    config = RunConfig(
        task="codon",
        methods=["ig", "random"],
        metrics=["motif_recall"],
        n=60,
        progress=False,
        method_options={"ig": {"n_steps": 16}},
        metric_options={"motif_recall": {"definition": "lenient", "k": None}},
    )
    records = {
        r.key.method: r
        for r in run(config, ResultStore(tmp_path))
        if r.key.metric == "motif_recall"
    }
    ig, rnd = records["ig"], records["random"]
    assert ig.n_scored == rnd.n_scored > 30
    assert ig.low > rnd.high, (ig.value, rnd.value)
