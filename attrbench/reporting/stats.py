"""Aggregation: means with bootstrap intervals, and classification quality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = [
    "Summary",
    "Difference",
    "average_ranks",
    "resampled_means",
    "bootstrap_mean",
    "paired_difference",
    "classification_scores",
]


@dataclass(frozen=True)
class Summary:
    """Mean of the finite per-sequence scores with a percentile bootstrap interval.

    ``n`` counts finite scores; ``n_missing`` the sequences without a score (NaN).
    """

    mean: float
    low: float
    high: float
    n: int
    n_missing: int


def bootstrap_mean(
    values: np.ndarray | torch.Tensor, seed: int = 0, n_boot: int = 2000, level: float = 0.95
) -> Summary:
    """Mean and percentile bootstrap interval of the finite entries of ``values`` (N,).

    Parameters
    ----------
    values : array, shape=(N,)
        NaN marks a sequence without a score; it is counted in ``n_missing``.
    seed : int
        Seed of the resampling.
    """
    v = np.asarray(values.detach().cpu() if isinstance(values, torch.Tensor) else values, float)
    finite = v[np.isfinite(v)]
    missing = int(v.size - finite.size)
    if finite.size == 0:
        return Summary(float("nan"), float("nan"), float("nan"), 0, missing)
    means = resampled_means(finite, np.random.default_rng(seed), n_boot)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Summary(float(finite.mean()), float(low), float(high), int(finite.size), missing)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks (1 = smallest) of ``values`` (n,), ties sharing the mean of their ranks
    (``scipy.stats.rankdata(values, method="average")``), as float64."""
    _, inverse, counts = np.unique(np.asarray(values), return_inverse=True, return_counts=True)
    last = np.cumsum(counts)
    return (last - (counts - 1) / 2.0)[inverse.reshape(-1)].astype(np.float64)


def resampled_means(values: np.ndarray, rng: np.random.Generator, n_boot: int) -> np.ndarray:
    """Means (n_boot,) of ``n_boot`` resamples with replacement of ``values`` (N,).

    Drawn in blocks of about a million indices (the same draws as one
    ``rng.integers(0, N, (n_boot, N))``), so memory stays small for large N.
    """
    block = max(1, 2**20 // max(values.size, 1))
    return np.concatenate(
        [
            values[rng.integers(0, values.size, (min(block, n_boot - i), values.size))].mean(1)
            for i in range(0, n_boot, block)
        ]
    )


@dataclass(frozen=True)
class Difference:
    """Mean of ``a - b`` over the shared sequences with a percentile bootstrap interval.

    ``n`` counts the sequences both records scored (same id, both values finite).
    """

    mean: float
    low: float
    high: float
    n: int

    @property
    def tied(self) -> bool:
        """Whether the interval contains 0 (no difference at its level); False when n = 0."""
        return self.n > 0 and self.low <= 0.0 <= self.high


def paired_difference(
    a_ids: list[str],
    a_values: np.ndarray,
    b_ids: list[str],
    b_values: np.ndarray,
    seed: int = 0,
    n_boot: int = 2000,
    level: float = 0.95,
) -> Difference:
    """Paired difference ``a - b`` on the sequences both scored, with a bootstrap interval.

    Sequences are matched by id; a sequence counts when both values are finite.
    The interval resamples sequences (pairs) with replacement: the percentile
    interval of the resampled mean differences.

    Parameters
    ----------
    a_ids, b_ids : list of str, lengths N_a, N_b
    a_values : np.ndarray, shape=(N_a,)
    b_values : np.ndarray, shape=(N_b,)
    seed : int
        Seed of the resampling.
    n_boot : int
    level : float
        Coverage of the interval.

    Returns
    -------
    difference : Difference
        NaN mean and interval when no sequence is shared.
    """
    b_at = {i: j for j, i in enumerate(b_ids)}
    a_values, b_values = np.asarray(a_values, float), np.asarray(b_values, float)
    pairs = [(j, b_at[i]) for j, i in enumerate(a_ids) if i in b_at]
    ia = np.array([p[0] for p in pairs], dtype=int)
    ib = np.array([p[1] for p in pairs], dtype=int)
    d = a_values[ia] - b_values[ib]
    d = d[np.isfinite(d)]
    if d.size == 0:
        return Difference(float("nan"), float("nan"), float("nan"), 0)
    s = bootstrap_mean(d, seed=seed, n_boot=n_boot, level=level)
    return Difference(s.mean, s.low, s.high, s.n)


def classification_scores(y: torch.Tensor, pred: torch.Tensor, n_classes: int) -> dict[str, float]:
    """Accuracy, F1 micro and F1 macro of predictions.

    Parameters
    ----------
    y, pred : torch.Tensor, shape=(N,), int64

    Returns
    -------
    scores : dict with keys ``accuracy``, ``f1_micro``, ``f1_macro``
        F1 macro averages over classes present in ``y`` or ``pred``.
    """
    y = y.cpu().long()
    pred = pred.cpu().long()
    conf = torch.zeros(n_classes, n_classes, dtype=torch.float64)
    conf.index_put_((y, pred), torch.ones(len(y), dtype=torch.float64), accumulate=True)
    tp = conf.diag()
    fp = conf.sum(0) - tp
    fn = conf.sum(1) - tp
    present = (conf.sum(0) + conf.sum(1)) > 0
    f1 = torch.where(tp > 0, 2 * tp / (2 * tp + fp + fn), torch.zeros_like(tp))
    accuracy = float(tp.sum() / max(len(y), 1))
    return {
        "accuracy": accuracy,
        # single-label: micro precision = micro recall = accuracy
        "f1_micro": accuracy,
        "f1_macro": float(f1[present].mean()) if bool(present.any()) else float("nan"),
    }
