"""Paired bootstrap of a difference: pairing by id, known means, agreement with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap

from attrbench.reporting.stats import paired_difference


def test_pairs_by_id_on_the_shared_finite_sequences():
    a_ids, a = ["s1", "s2", "s3", "s4"], np.array([1.0, 2.0, np.nan, 4.0])
    b_ids, b = ["s4", "s2", "s3", "s9"], np.array([0.5, 1.0, 7.0, 100.0])
    d = paired_difference(a_ids, a, b_ids, b, seed=0)
    # shared: s2 (2 - 1), s3 (NaN: dropped), s4 (4 - 0.5)
    assert d.n == 2
    assert d.mean == pytest.approx((1.0 + 3.5) / 2, abs=1e-12)


def test_interval_is_the_percentile_bootstrap_of_the_paired_differences():
    rng = np.random.default_rng(5)
    a, b = rng.normal(1.0, 1.0, 60), rng.normal(0.8, 1.0, 60)
    ids = [f"s{i}" for i in range(60)]
    d = paired_difference(ids, a, ids[::-1], b[::-1], seed=3, n_boot=4000)
    diff = a - b
    boot = np.random.default_rng(3)
    means = diff[boot.integers(0, 60, (4000, 60))].mean(1)
    low, high = np.quantile(means, [0.025, 0.975])
    assert (d.mean, d.low, d.high, d.n) == (
        pytest.approx(diff.mean(), abs=1e-12),
        pytest.approx(low, abs=1e-12),
        pytest.approx(high, abs=1e-12),
        60,
    )
    ref = bootstrap(
        (diff,),
        np.mean,
        n_resamples=20000,
        method="percentile",
        confidence_level=0.95,
        rng=np.random.default_rng(0),
    ).confidence_interval
    # two Monte Carlo estimates of the same interval: agree to well under its width (0.5)
    assert d.low == pytest.approx(ref.low, abs=0.03)
    assert d.high == pytest.approx(ref.high, abs=0.03)


def test_tied_when_the_interval_contains_zero():
    ids = [f"s{i}" for i in range(40)]
    a = np.arange(40.0)
    flip = np.where(np.arange(40) % 2 == 0, 0.5, -0.5)
    assert paired_difference(ids, a, ids, a - 0.02 + flip, seed=0).tied
    sure = paired_difference(ids, a, ids, a - 1.0, seed=0)
    assert (sure.mean, sure.low, sure.high) == pytest.approx((1.0, 1.0, 1.0))
    assert not sure.tied


def test_no_shared_sequence_gives_nan_and_n_zero():
    d = paired_difference(["a"], np.array([1.0]), ["b"], np.array([1.0]))
    assert d.n == 0 and np.isnan(d.mean) and not d.tied
