"""Known-answer tests of the benchmark's self-checks (attrbench.reporting.validity) and the gated motif metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from attrbench.core.data import Background, GroundTruth, Motif
from attrbench.core.plugin import NotApplicable
from attrbench.metrics.motif import logic_accuracy, motif_auprc, motif_auroc, motif_recall
from attrbench.reporting.validity import (
    Reliance,
    column_verdict,
    normalised,
    oracle_scores,
    random_scores,
    rank_stability,
    reliance_gate,
    separation,
    truth_reliance,
)
from attrbench.testing import random_onehot
from tests.test_metrics import make_ex

UNIFORM = Background(torch.full((4,), 0.25))
N, L = 60, 30
TRUTH, DECOY = slice(5, 9), slice(20, 24)


class LetterCounter(nn.Module):
    """Logit of class 0 = (number of letter A (index 0) over ``window``) - 2; class 1 stays 0."""

    def __init__(self, window: slice):
        super().__init__()
        self.window = window
        self.offset = nn.Parameter(torch.tensor(-2.0))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        a = X[:, 0, self.window].sum(1) + self.offset
        return torch.stack([a, torch.zeros_like(a)], 1)


def _planted() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, GroundTruth]:
    """Random sequences with AAAA planted at the truth window (class 0 = its label)."""
    X, mask = random_onehot(N, L, seed=7)
    X[:, :, TRUTH] = 0
    X[:, 0, TRUTH] = 1
    gt = GroundTruth([[Motif("box", TRUTH.start, TRUTH.stop)] for _ in range(N)])
    return X, mask, torch.zeros(N, dtype=torch.long), gt


def test_a_model_that_uses_its_truth_is_gated_in():
    X, mask, y, gt = _planted()
    r = truth_reliance(LetterCounter(TRUTH), X, mask, y, gt, UNIFORM, seed=0)
    assert r.n == N and r.share == 1.0
    # resampling AAAA uniformly leaves c ~ Binomial(4, 1/4) A's: log p(class 0) = -log(1 + e^(2-c)),
    # so the expected drop is E[log(1 + e^(2-c))] - log(1 + e^-2); the 4 random control positions
    # never touch the counted window (drop 0)
    pmf = [math.comb(4, c) * 0.25**c * 0.75 ** (4 - c) for c in range(5)]
    expected = sum(p * math.log1p(math.exp(2 - c)) for c, p in enumerate(pmf)) - math.log1p(
        math.exp(-2)
    )
    assert r.mean == pytest.approx(expected, abs=0.15)
    assert r.low < expected < r.high
    assert r.used and reliance_gate(r) is None


def test_a_model_that_ignores_its_truth_is_gated_out():
    X, mask, y, gt = _planted()
    r = truth_reliance(LetterCounter(DECOY), X, mask, y, gt, UNIFORM, seed=0)
    # resampling the truth never changes the output: only the random control (which can hit
    # the decoy window) moves it, so the interval is not above zero
    assert not r.used
    reason = reliance_gate(r)
    assert reason.startswith("truth not used by this model: ")
    assert str(r) in reason


def test_reliance_gate_formats_the_interval():
    r = Reliance(0.005, -0.012, 0.022, 10, 0.0)
    assert reliance_gate(r) == "truth not used by this model: +0.005 [-0.012, +0.022]"
    assert reliance_gate(Reliance(0.2, 0.1, 0.3, 10, 0.9)) is None
    assert reliance_gate(None) is None


def _gt_case():
    X, mask = random_onehot(40, 24, seed=2)
    gt = GroundTruth([[Motif("box", i % 10, i % 10 + 4)] for i in range(40)])
    return X, mask, gt


@pytest.mark.parametrize("metric", [motif_auroc, motif_auprc, motif_recall])
def test_an_oracle_map_scores_one(metric):
    X, mask, gt = _gt_case()
    ex = make_ex(X, mask, scores=oracle_scores(gt, mask, seed=0).float(), gt=gt)
    values = metric(ex).squeeze()
    assert torch.all(values == 1.0)


def test_the_random_control_scores_at_the_random_row():
    """AUROC of random scores: 0.5 in expectation; the mean over 2000 draws of 4 vs 20 positions
    lies within 3 standard errors (sd of AUROC here ~0.15, se ~0.0034)."""
    X, mask = random_onehot(2000, 24, seed=4)
    gt = GroundTruth([[Motif("box", 3, 7)] for _ in range(2000)])
    ex = make_ex(X, mask, scores=random_scores(mask, seed=1).float(), gt=gt)
    assert float(motif_auroc(ex).mean()) == pytest.approx(0.5, abs=0.011)
    # AUPRC of random scores: about the positive share 4/24 plus the small-sample excess
    ap = float(motif_auprc(ex).mean())
    assert 4 / 24 < ap < 0.30


def test_only_sequences_explained_for_the_truth_class_are_scored():
    X, mask, gt = _gt_case()
    target = torch.tensor([0, 1] * 20)
    ex = make_ex(
        X,
        mask,
        scores=oracle_scores(gt, mask).float(),
        gt=gt,
        target=target,
        y=torch.zeros(40, dtype=torch.long),
    )
    v = motif_auroc(ex)
    assert torch.isnan(v[1::2]).all() and (v[0::2] == 1).all()


def test_logic_accuracy_is_not_applicable_with_one_motif_kind():
    X, mask, gt = _gt_case()
    with pytest.raises(NotApplicable, match="two motif kinds"):
        logic_accuracy(make_ex(X, mask, scores=oracle_scores(gt, mask).float(), gt=gt))


def test_normalised_places_random_at_zero_and_oracle_at_one():
    assert normalised(0.5, 0.5, 1.0) == 0.0
    assert normalised(1.0, 0.5, 1.0) == 1.0
    assert normalised(0.75, 0.5, 1.0) == 0.5
    assert math.isnan(normalised(0.3, 0.5, 0.5))


def test_separation_in_standard_errors():
    control = np.zeros(4)
    values = np.array([1.0, 2.0, 3.0, 2.0])  # mean 2, sd 0.8165, se 0.4082: 4.899 SE
    assert separation(values, control) == pytest.approx(2.0 / (np.std(values, ddof=1) / 2))
    assert separation(values, control, higher_is_better=False) < 0


def test_rank_stability_of_separated_and_of_noise_columns():
    rng = np.random.default_rng(0)
    separated = {f"m{i}": i + 0.1 * rng.standard_normal(200) for i in range(5)}
    assert rank_stability(separated) == pytest.approx(1.0, abs=1e-12)
    noise = {f"m{i}": rng.standard_normal(200) for i in range(5)}
    assert rank_stability(noise) < 0.5


def test_column_verdicts():
    means = {"a": 0.7, "b": 0.6, "c": 0.55}
    assert column_verdict(means, 0.5, 1.0, 5.0, 0.9).informative
    assert "separates" in column_verdict(means, 0.5, 1.0, 1.0, 0.9).reason
    assert "floor" in column_verdict({"a": 0.0, "b": 0.0}, 0.0, 1.0, 5.0, 0.9).reason
    assert "unstable" in column_verdict(means, 0.5, 1.0, 5.0, 0.2).reason
    assert (
        column_verdict(means, 0.5, 1.0, 5.0, 0.9, gate="truth not used").reason == "truth not used"
    )


# --------------------------------------------------------------------------- columns of records


def _record(method: str, values: np.ndarray, metric: str = "motif_auroc", model: str = "m"):
    from attrbench.running.results import CellKey, Record, pack_values

    key = CellKey("t", "1", "h", model, "c", method, {}, metric, {}, len(values), 0)
    ids = [f"s{i}" for i in range(len(values))]
    return Record(
        key,
        "ok",
        True,
        float(np.nanmean(values)),
        n_scored=len(values),
        per_sequence=pack_values(ids, values[:, None], (metric,)),
    )


def _column(separated: bool):
    rng = np.random.default_rng(1)
    control = 0.5 + 0.1 * rng.standard_normal(100)
    shift = (lambda i: 0.1 * i) if separated else (lambda i: 0.0)
    methods = {f"m{i}": 0.5 + shift(i) + 0.1 * rng.standard_normal(100) for i in range(1, 5)}
    return [_record("random", control), *[_record(m, v) for m, v in methods.items()]]


def test_a_column_whose_methods_separate_from_random_is_informative():
    from attrbench.reporting.validity import column_check

    check = column_check(_column(separated=True))
    assert check.checked and check.best == "m4" and check.verdict.informative
    assert check.tau == pytest.approx(1.0, abs=1e-12)


def test_a_column_where_every_method_scores_like_random_is_uninformative_and_not_ranked():
    from attrbench.reporting.validity import column_check, ranked

    check = column_check(_column(separated=False))
    assert not check.verdict.informative
    assert not ranked("motif_auroc", check)
    assert not ranked("randomization", None) and ranked("motif_auroc", None)


def test_the_metrics_view_states_the_gate_and_the_oracle():
    from attrbench.reporting.validity import RELIANCE_METRIC, metrics_view, render_metrics_view
    from attrbench.running.results import CellKey, Record

    key = CellKey("t", "1", "h", "m", "c", "(model)", {}, RELIANCE_METRIC, {}, 100, 0)
    rel = Record(key, "ok", True, 0.3, 0.2, 0.4, n_scored=100, extra={"share_truth_class": 0.9})
    rows = metrics_view([rel, *_column(separated=True)], "t", oracle=lambda *a: 1.0)
    (row,) = rows
    assert row["reliance"] == "+0.300 [+0.200, +0.400]" and row["oracle"] == 1.0
    assert row["informative"] and row["best"] == "m4"
    # m4 is 0.4 above a random row of about 0.5, oracle 1: normalised = (0.9 - r) / (1 - r)
    assert row["best_normalised"] == pytest.approx(
        (0.9 - row["random"]) / (1 - row["random"]), abs=0.05
    )
    assert "| m | motif_auroc | yes |" in render_metrics_view(rows)


def test_the_site_model_page_section_lists_each_column_with_its_verdict():
    from attrbench.site.build import metrics_section

    text = metrics_section("t", "m", _column(separated=False))
    assert "<td>motif_auroc</td>" in text and "no method separates from random" in text


def test_a_column_without_values_gives_the_random_control_s_reason():
    """The reason a column is n/a is the column's (the random control's), not the first
    method's own refusal."""
    from types import SimpleNamespace

    from attrbench.reporting.validity import _column_reason

    def rec(method, reason):
        return SimpleNamespace(key=SimpleNamespace(method=method), reason=reason)

    group = [
        rec("attention", "attention needs a model with attention"),
        rec("ig", "logic_accuracy needs two motif kinds"),
        rec("random", "logic_accuracy needs two motif kinds"),
    ]
    assert _column_reason(group) == "logic_accuracy needs two motif kinds"
    no_control = [rec("attention", "a"), rec("ig", "b"), rec("ism", "b")]
    assert _column_reason(no_control) == "b"
