"""motif_discovery: MoDISco + TOMTOM on planted motifs with a known answer, n/a on too
few seqlets, JASPAR read from pyjaspar's file, and the set-level path of the runner."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attrbench.core.data import GroundTruth, Motif
from attrbench.core.plugin import METRICS
from attrbench.metrics import motif_discovery as MD

pytest.importorskip("modiscolite")
pytest.importorskip("memelite")


def planted(n: int = 160, L: int = 60, seed: int = 0, motif: str = "TATAAAG"):
    """Random DNA with ``motif`` planted once per sequence; a map that scores only it."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, (n, L))
    starts = rng.integers(5, L - len(motif) - 5, n)
    for i, s in enumerate(starts):
        codes[i, s : s + len(motif)] = ["ACGT".index(c) for c in motif]
    X = torch.nn.functional.one_hot(torch.from_numpy(codes), 4).transpose(1, 2).double()
    hyp = torch.zeros_like(X)
    for i, s in enumerate(starts):
        hyp[i, :, s : s + len(motif)] = X[i, :, s : s + len(motif)] * 2.0 - 0.25
    hyp += 0.01 * torch.from_numpy(rng.standard_normal(hyp.shape))
    gt = GroundTruth([[Motif("TATA", int(s), int(s) + len(motif))] for s in starts])
    return X, hyp, gt


def test_known_motifs_counts_letters_at_the_occurrences():
    X, _, gt = planted(n=10)
    known = MD.known_motifs(X, gt)
    assert list(known) == ["TATA"]
    assert np.array_equal(known["TATA"].argmax(0), ["ACGT".index(c) for c in "TATAAAG"])
    assert known["TATA"].sum(0).tolist() == [10.0] * 7


def test_jaspar_2024_holds_the_tbp_matrix():
    jaspar = MD.jaspar_matrices()
    assert len(jaspar) > 1000
    tbp = jaspar["MA0108.3 TBP"]
    assert tbp.shape == (4, 7) and "".join("ACGT"[i] for i in tbp.argmax(0)).startswith("TATA")


def test_planted_motif_is_discovered_and_matched():
    X, hyp, gt = planted()
    d = MD.run_discovery(X, hyp, MD.known_motifs(X, gt))
    assert d.n_seqlets >= 100 and len(d.patterns) >= 1
    assert d.recall == 1.0 and d.false_discoveries == 0.0
    core = "".join("ACGT"[i] for i in d.patterns[0].ppm.argmax(0))
    assert "TATAAAG" in core


def test_record_details_keep_patterns_and_aligned_best_matches():
    """The JSON the record keeps: the pattern's matrices and its best task motif, whose
    offset puts TATAAAG under the pattern's TATAAAG (pattern column i faces target i + offset)."""
    import json

    X, hyp, gt = planted()
    known = MD.known_motifs(X, gt)
    d = MD.run_discovery(X, hyp, known)
    details = json.loads(json.dumps(MD.discovery_details(d, known, MD.jaspar_matrices())))
    assert details["seqlets"] == d.n_seqlets and len(details["patterns"]) == len(d.patterns)
    p = details["patterns"][0]
    ppm, cwm = np.array(p["ppm"]), np.array(p["cwm"])
    assert ppm.shape == cwm.shape == d.patterns[0].ppm.shape and ppm.shape[0] == 4
    assert np.allclose(ppm, d.patterns[0].ppm, rtol=1e-3, atol=1e-6)
    assert p["sign"] == 1 and p["seqlets"] == d.patterns[0].n_seqlets and p["matched"] == ["TATA"]
    hit = p["known"]
    assert hit["name"] == "TATA" and hit["q"] < 0.05 and hit["strand"] == 0
    start = -hit["offset"]
    assert "".join("ACGT"[i] for i in ppm[:, start : start + 7].argmax(0)) == "TATAAAG"
    assert np.array_equal(np.array(hit["ppm"]), MD._to_ppm(known["TATA"], pseudo=0.0))
    best = p["jaspar"]
    assert best["name"] in MD.jaspar_matrices() and (best["name"], best["q"]) == d.best[0]


def test_random_map_recovers_nothing_or_too_few_seqlets_is_na():
    X, _, gt = planted(n=12)
    rng = torch.Generator().manual_seed(0)
    hyp = 0.01 * torch.randn(X.shape, generator=rng, dtype=X.dtype)
    hyp[:, :, 30:33] += 1.0  # one strong site per sequence: 12 seqlets
    d = MD.run_discovery(X, hyp, MD.known_motifs(X, gt), min_seqlets=20)
    assert np.isnan(d.recall) and np.isnan(d.false_discoveries)
    assert 0 < d.n_seqlets < 20 and d.patterns == []
    flat = MD.run_discovery(X, torch.zeros_like(X), MD.known_motifs(X, gt))  # no null: n/a, 0
    assert flat.n_seqlets == 0 and np.isnan(flat.recall)


def test_match_bh_qvalues_known_answer():
    q = MD._bh(np.array([0.01, 0.04, 0.03, 0.5]))
    assert np.allclose(q, [0.04, 0.16 / 3, 0.16 / 3, 0.5])  # p * m / rank, then running min


def test_metric_is_registered_as_set_level():
    m = METRICS.get("motif_discovery")
    assert (
        m.set_level
        and m.columns[0] == "recall"
        and m.column_directions["false_discoveries"] is False
    )
    assert m.needs_ground_truth


def test_details_are_for_set_level_metrics_only():
    from attrbench.core.plugin import Metric, PluginFieldError

    with pytest.raises(PluginFieldError, match="details is for set-level metrics"):
        Metric("per_seq", lambda ex: ex.X.sum((1, 2)), details=lambda ex: {})
    assert METRICS.get("motif_discovery").details is MD.motif_details


def test_runner_scores_a_set_level_metric_once_per_cell(tmp_path):
    """Three blocks of 40 merged into one call: one scored row, the others missing."""
    import json

    from attrbench.cli import main

    main(
        [
            "run",
            "--task",
            "utr5",
            "--method",
            "grad_x_input",
            "--metric",
            "motif_discovery",
            "--n",
            "120",
            "--batch-size",
            "40",
            "--results",
            str(tmp_path),
            "--quiet",
        ]
    )
    (path,) = (tmp_path / "utr5").glob("cnn/grad_x_input/motif_discovery-*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "ok" and record["n_scored"] == 1 and record["n_missing"] == 119
    assert record["columns"]["seqlets"]["mean"] > 0
    found = record["extra"]["motif_discovery"]
    assert found["jaspar_release"] == "JASPAR2024"
    hyp = found["hypothetical"]
    assert hyp["seqlets"] == record["columns"]["seqlets"]["mean"]
    assert len(hyp["patterns"]) == record["columns"]["patterns"]["mean"] > 0
    for p in hyp["patterns"]:
        assert (
            np.array(p["ppm"]).shape[0] == 4
            and np.array(p["cwm"]).shape == np.array(p["ppm"]).shape
        )
        assert p["known"]["name"] in ("start", "stop") and p["jaspar"]["name"].startswith("MA")


def test_too_few_seqlets_makes_the_cell_na_with_the_count(tmp_path):
    import json

    from attrbench.cli import main

    main(
        [
            "run",
            "--task",
            "utr5",
            "--method",
            "saliency",
            "--metric",
            "motif_discovery",
            "--n",
            "6",
            "--results",
            str(tmp_path),
            "--quiet",
        ]
    )
    (path,) = (tmp_path / "utr5").glob("cnn/saliency/motif_discovery-*.json")
    record = json.loads(path.read_text())
    assert record["status"] == "not_applicable" and "seqlets in 6 sequences" in record["reason"]
