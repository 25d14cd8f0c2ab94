"""The benchmark's check of itself: does a ground-truth column measure anything?

Three kinds of check, all pure functions of a model, its data and per-sequence scores:

* :func:`truth_reliance` -- does the model use its ground truth? The paired
  change of the model's log-probability of the truth's class when the truth
  positions are replaced by background draws, minus the change when as many
  random non-truth positions are replaced, averaged over seeded draws, with a
  bootstrap interval over sequences. :func:`reliance_gate` turns it into the
  reason a ground-truth cell is n/a ("truth not used by this model: ...").
* :func:`oracle_scores` / :func:`random_scores` -- the ceiling and floor rows of
  every ground-truth metric (1 on truth positions, 0 elsewhere, ties broken at
  random with a seed; uniform random scores); :func:`normalised` places a value
  between them.
* :func:`rank_stability` and :func:`column_verdict` -- whether a column
  separates methods from the random control, is not at floor or ceiling for
  every method, and ranks methods the same on two disjoint halves of the
  sequences (Kendall's tau, median over seeded splits).

Thresholds are module constants documented in ``docs/metrics.md``.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import torch
from torch import nn

from attrbench.core import ops
from attrbench.core.data import Background, Dataset, GroundTruth, Motif
from attrbench.metrics._common import top_k_mask
from attrbench.reporting.stats import bootstrap_mean

if TYPE_CHECKING:
    from attrbench.core.plugin import Metric
    from attrbench.running.results import Record

#: ``oracle(records)`` of one column: its per-sequence oracle values, a number, or None.
Oracle = Callable[[list["Record"]], "np.ndarray | float | None"]

__all__ = [
    "RELIANCE_DRAWS",
    "RELIANCE_LOW",
    "SEPARATION_SE",
    "TAU_MIN",
    "SPLITS",
    "Reliance",
    "truth_reliance",
    "reliance_gate",
    "oracle_scores",
    "random_scores",
    "normalised",
    "rank_stability",
    "separation",
    "Verdict",
    "column_verdict",
    "RELIANCE_METRIC",
    "dataset_reliance",
    "reliance_extra",
    "reliance_from_record",
    "RANDOM_METHOD",
    "SANITY_METRICS",
    "ColumnCheck",
    "column_check",
    "ranked",
    "oracle_value",
    "oracle_values",
    "scored_ids",
    "TaskOracle",
    "metrics_view",
    "render_metrics_view",
]

#: Seeded background draws per sequence in :func:`truth_reliance`.
RELIANCE_DRAWS = 5
#: A (task, model) pair is gated in when the lower end of its reliance interval exceeds this.
RELIANCE_LOW = 0.0
#: The best method must sit this many standard errors above the random control.
SEPARATION_SE = 2.0
#: Median Kendall's tau between split-half method rankings below which a column is unstable.
TAU_MIN = 0.5
#: Seeded split-halves in :func:`rank_stability`.
SPLITS = 20


@dataclass(frozen=True)
class Reliance:
    """The model's reliance on its ground truth (log-probability units).

    ``mean``/``low``/``high``: mean and 95% bootstrap interval over truth-carrying
    sequences of (drop when truth is replaced) - (drop when as many random
    non-truth positions are replaced). ``n``: sequences; ``share``: fraction of
    them the model predicts into the truth's class.
    """

    mean: float
    low: float
    high: float
    n: int
    share: float

    @property
    def used(self) -> bool:
        """The interval lies above :data:`RELIANCE_LOW`."""
        return self.n > 0 and math.isfinite(self.low) and self.low > RELIANCE_LOW

    def __str__(self) -> str:
        return f"{self.mean:+.3f} [{self.low:+.3f}, {self.high:+.3f}]"


def _log_p(model: nn.Module, X: torch.Tensor, cls: torch.Tensor, batch_size: int) -> torch.Tensor:
    """log p(cls[i] | X[i]) (N,), float64."""
    logits = ops.batched_logits(model, X, batch_size).double()
    return torch.log_softmax(logits, 1).gather(1, cls[:, None]).squeeze(1)


def _random_positions(
    eligible: torch.Tensor, k: torch.Tensor, gen: torch.Generator
) -> torch.Tensor:
    """``k[i]`` positions (N, L) drawn uniformly among ``eligible`` (N, L) positions of each row."""
    noise = torch.rand(eligible.shape, generator=gen, dtype=torch.float64)
    return top_k_mask(noise, eligible, k)


@torch.no_grad()
def truth_reliance(
    model: nn.Module,
    X: torch.Tensor,
    mask: torch.Tensor,
    y: torch.Tensor,
    gt: GroundTruth,
    background: Background,
    seed: int = 0,
    draws: int = RELIANCE_DRAWS,
    batch_size: int = 256,
) -> Reliance:
    """How much the model's output for the truth's class rests on the truth positions.

    For every sequence that carries ground truth (the truth's class is its label
    ``y``), and every one of ``draws`` seeded draws: ``d_truth = log p - log p``
    with the truth positions resampled from ``background``; ``d_random`` the same
    with as many real non-truth positions, drawn at random, resampled. The
    per-sequence effect is the mean over draws of ``d_truth - d_random``.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    mask : torch.Tensor, shape=(N, L), bool
    y : torch.Tensor, shape=(N,), int64
        The truth's class of each sequence.
    gt : GroundTruth
        Of the N sequences (sequences without motifs are skipped).
    background : Background
    seed : int
    draws : int

    Returns
    -------
    reliance : Reliance
    """
    model.eval()
    truth = gt.positions(X.shape[2]) & mask.cpu()
    keep = truth.any(1)
    if not bool(keep.any()):
        return Reliance(math.nan, math.nan, math.nan, 0, math.nan)
    X, mask, y, truth = X.cpu()[keep], mask.cpu()[keep], y.cpu()[keep], truth[keep]
    base_logits = ops.batched_logits(model, X, batch_size)
    base = torch.log_softmax(base_logits.double(), 1).gather(1, y[:, None]).squeeze(1)
    share = float((base_logits.argmax(1) == y).double().mean())
    gen = torch.Generator().manual_seed(int(seed))
    effect = torch.zeros(len(X), dtype=torch.float64)
    for _ in range(draws):
        control = _random_positions(mask & ~truth, truth.sum(1), gen)
        d_truth = base - _log_p(model, background.fill(X, ~truth, gen), y, batch_size)
        d_random = base - _log_p(model, background.fill(X, ~control, gen), y, batch_size)
        effect += (d_truth - d_random) / draws
    s = bootstrap_mean(effect.numpy(), seed=seed)
    return Reliance(s.mean, s.low, s.high, s.n, share)


def reliance_gate(reliance: Reliance | None) -> str | None:
    """The reason ground-truth metrics are n/a on a (task, model), or None if they apply."""
    if reliance is None:
        return None
    if reliance.n == 0:
        return "truth not used by this model: no sequence carries ground truth"
    if not reliance.used:
        return f"truth not used by this model: {reliance}"
    return None


def oracle_scores(gt: GroundTruth, mask: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The oracle map: 1 on truth positions, 0 elsewhere, ties broken at random.

    The tie-break is a seeded uniform draw below 1e-6, so the order within the
    background is random and every truth position ranks above every background
    one. Within the truth, one occurrence of each motif kind (drawn at random)
    ranks first, its positions together (a further 2e-6): a top-K metric whose K is
    shorter than the sequence's truth (utr5's top 6 of one start and one stop codon
    among 9-12 truth positions) then finds a whole motif of every kind, as a
    perfect map would, and the oracle row is the column's ceiling.

    Parameters
    ----------
    gt : GroundTruth
    mask : torch.Tensor, shape=(N, L), bool

    Returns
    -------
    scores : torch.Tensor, shape=(N, L), float64; zero on padding.
    """
    gen = torch.Generator().manual_seed(int(seed))
    N, L = mask.shape
    truth = gt.positions(L).double()
    jitter = torch.rand((N, L), generator=gen, dtype=torch.float64) * 1e-6
    lead = torch.zeros((N, L), dtype=torch.float64)
    for i, motifs in enumerate(gt.motifs):
        if not motifs:
            continue
        order = torch.randperm(len(motifs), generator=gen).tolist()
        first: dict[str, Motif] = {}
        for j in order:
            first.setdefault(motifs[j].kind, motifs[j])
        for m in first.values():
            lead[i, m.start : m.end] = 2e-6
    return (truth + jitter + lead * truth) * mask.cpu()


def random_scores(mask: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The random row: uniform position scores (N, L), float64, zero on padding."""
    gen = torch.Generator().manual_seed(int(seed))
    return torch.rand(mask.shape, generator=gen, dtype=torch.float64) * mask.cpu()


def normalised(value: float, random: float, oracle: float) -> float:
    """``(value - random) / (oracle - random)``: 0 at the random row, 1 at the oracle; NaN if they meet."""
    span = oracle - random
    if not (math.isfinite(span) and abs(span) > 1e-12 and math.isfinite(value)):
        return math.nan
    return (value - random) / span


def separation(values: np.ndarray, control: np.ndarray, higher_is_better: bool = True) -> float:
    """Paired distance of ``values`` from ``control`` in standard errors (positive: better).

    Parameters
    ----------
    values, control : np.ndarray, shape=(N,)
        Per-sequence scores on the same sequences (NaN: not scored; only pairs
        where both are finite count).
    """
    d = np.asarray(values, float) - np.asarray(control, float)
    d = d[np.isfinite(d)]
    if d.size < 2:
        return math.nan
    se = d.std(ddof=1) / math.sqrt(d.size)
    sign = 1.0 if higher_is_better else -1.0
    if se == 0:
        return math.inf * sign * np.sign(d.mean()) if d.mean() != 0 else 0.0
    return float(sign * d.mean() / se)


def rank_stability(per_method: dict[str, np.ndarray], splits: int = SPLITS, seed: int = 0) -> float:
    """Median Kendall's tau between method rankings on two disjoint random halves.

    Parameters
    ----------
    per_method : dict of str to np.ndarray, shape=(N,)
        Per-sequence scores of each method on the same N sequences (NaN ignored
        in the half means; a method with no value at all is left out, one with no
        value in a half is left out of that split's tau).
    splits : int
        Seeded random halvings.

    Returns
    -------
    tau : float
        NaN with fewer than 3 methods or 4 sequences.
    """
    from scipy import stats as sps  # a dev dependency: imported where used

    matrix = np.stack([np.asarray(v, float) for v in per_method.values()])
    matrix = matrix[np.isfinite(matrix).any(1)]  # a method with no value in the column: no rank
    if matrix.shape[0] < 3 or matrix.shape[1] < 4:
        return math.nan
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(splits):
        order = rng.permutation(matrix.shape[1])
        half = matrix.shape[1] // 2
        with warnings.catch_warnings():  # a method without a value in one half: NaN, omitted
            warnings.simplefilter("ignore", RuntimeWarning)
            a = np.nanmean(matrix[:, order[:half]], 1)
            b = np.nanmean(matrix[:, order[half : 2 * half]], 1)
        tau = sps.kendalltau(a, b, nan_policy="omit").statistic
        taus.append(0.0 if not np.isfinite(tau) else tau)
    return float(np.median(taus))


@dataclass(frozen=True)
class Verdict:
    """A column's verdict: ``informative`` and, when not, why."""

    informative: bool
    reason: str = ""


def column_verdict(
    means: dict[str, float],
    random: float,
    oracle: float,
    best_separation: float,
    tau: float,
    gate: str | None = None,
) -> Verdict:
    """Whether a ground-truth column measures: gated in, separated, off its floor/ceiling, stable.

    Parameters
    ----------
    means : dict of str to float
        Each method's mean (the random control left out).
    random, oracle : float
        The column's random and oracle rows.
    best_separation : float
        The best method's paired distance from random in standard errors.
    tau : float
        :func:`rank_stability` of the column.
    gate : str, optional
        :func:`reliance_gate` of the (task, model).
    """
    if gate:
        return Verdict(False, gate)
    if not (best_separation >= SEPARATION_SE):
        return Verdict(
            False, f"no method separates from random ({best_separation:.1f} SE < {SEPARATION_SE:g})"
        )
    vals = [v for v in means.values() if math.isfinite(v)]
    lo, hi = sorted((random, oracle))
    if vals and (all(abs(v - lo) < 1e-9 for v in vals) or all(abs(v - hi) < 1e-9 for v in vals)):
        return Verdict(False, "every method at the column's floor or ceiling")
    if tau < TAU_MIN:  # NaN (fewer than 3 methods or 4 sequences): not judged
        return Verdict(False, f"method ranking unstable (Kendall tau {tau:.2f} < {TAU_MIN:g})")
    return Verdict(True)


#: Metric name of the truth-reliance records (method ``(model)``, like model quality).
RELIANCE_METRIC = "truth_reliance"


@overload
def dataset_reliance(
    model: nn.Module,
    ds: Dataset,
    ground_truth: GroundTruth,
    background: Background,
    seed: int,
    batch_size: int = ...,
    device: torch.device | str = ...,
) -> Reliance: ...


@overload
def dataset_reliance(
    model: nn.Module,
    ds: Dataset,
    ground_truth: None,
    background: Background,
    seed: int,
    batch_size: int = ...,
    device: torch.device | str = ...,
) -> None: ...


@overload
def dataset_reliance(
    model: nn.Module,
    ds: Dataset,
    ground_truth: GroundTruth | None,
    background: Background,
    seed: int,
    batch_size: int = ...,
    device: torch.device | str = ...,
) -> Reliance | None: ...


def dataset_reliance(
    model: nn.Module,
    ds: Dataset,
    ground_truth: GroundTruth | None,
    background: Background,
    seed: int,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> Reliance | None:
    """:func:`truth_reliance` of ``model`` on a dataset (None when it has no ground truth).

    Parameters
    ----------
    ds : Dataset
        The explained sequences (their ``y`` is the truth's class).
    ground_truth : GroundTruth, optional
        Of ``ds``.
    """
    if ground_truth is None:
        return None
    X, mask = ds.X.to(device), ds.mask.to(device)
    return truth_reliance(
        model, X, mask, ds.y, ground_truth, background, seed=seed, batch_size=batch_size
    )


def reliance_extra(r: Reliance) -> dict[str, Any]:
    """The fields a reliance record keeps beside its mean and interval."""
    return {
        "share_truth_class": r.share,
        "used": r.used,
        "threshold": RELIANCE_LOW,
        "draws": RELIANCE_DRAWS,
    }


def reliance_from_record(record: Record | None) -> Reliance | None:
    """The :class:`Reliance` a ``truth_reliance`` record holds (None for a non-ok record)."""
    if record is None or record.status != "ok":
        return None
    nan = math.nan
    return Reliance(
        record.value if record.value is not None else nan,
        record.low if record.low is not None else nan,
        record.high if record.high is not None else nan,
        record.n_scored,
        record.extra.get("share_truth_class", nan),
    )


# --------------------------------------------------------------------------- columns of records

#: The method whose rows are the random control of every column.
RANDOM_METHOD = "random"
#: Sanity checks: shown as PASS / FAIL beside the method, never ranked.
SANITY_METRICS = ("randomization", "completeness")


@dataclass(frozen=True)
class ColumnCheck:
    """What a column of one (task, model) table rests on, from its records.

    ``random``: the random control's mean; ``best``: the best method other than
    the control; ``separation``: its paired distance from the control in standard
    errors; ``tau``: :func:`rank_stability`; ``verdict``: informative or why not.
    ``checked`` is False when the records keep no per-sequence values or the
    column has no random row (then it counts, unchecked).
    """

    metric: str
    random: float
    best: str | None
    separation: float
    tau: float
    verdict: Verdict
    checked: bool
    n: int
    best_mean: float = math.nan


def _main_column(metric: str) -> str | None:
    """The main column of a registered multi-column metric (records keep columns sorted by name)."""
    from attrbench.core.plugin import METRICS

    return (
        METRICS.get(metric).columns[0]
        if metric in METRICS and METRICS.get(metric).columns
        else metric
    )


def _values(record: Record, sub: str | None) -> dict[str, float] | None:
    """Per-sequence values {id: value} of a record's main column (or ``sub``)."""
    sv = record.sequence_values()
    if sv is None or not sv.columns:
        return None
    name = sub or _main_column(record.key.metric) or next(iter(sv.columns))
    if name not in sv.columns and len(sv.columns) == 1:
        name = next(iter(sv.columns))
    if name not in sv.columns:
        return None
    return dict(zip(sv.ids, sv.columns[name], strict=True))


def column_check(records: list[Record], sub: str | None = None, seed: int = 0) -> ColumnCheck:
    """The :class:`ColumnCheck` of one metric column from its records (one per method).

    Parameters
    ----------
    records : list of Record
        The records of one (task, model, metric), one per method; n/a and failed
        records are skipped.
    sub : str, optional
        The column of a multi-column metric (default: the main one).
    """
    ok = [r for r in records if r.status == "ok"]
    metric = records[0].key.metric if records else ""
    hib = bool(next((r.higher_is_better for r in ok), True))
    values = {r.key.method: _values(r, sub) for r in ok}
    control = values.pop(RANDOM_METHOD, None)
    if control is None or not values or any(v is None for v in values.values()):
        return ColumnCheck(
            metric, math.nan, None, math.nan, math.nan, Verdict(True, "unchecked"), False, 0
        )
    # every method's values (none is None: checked above), of those that scored every sequence
    full = _full_n({m: v for m, v in values.items() if v is not None}, control)
    ids = sorted(set(control).intersection(*[set(v) for v in full.values()]))
    ctrl = np.array([control[i] for i in ids])
    per = {m: np.array([v[i] for i in ids]) for m, v in full.items()}
    means = {m: float(np.nanmean(a)) if np.isfinite(a).any() else math.nan for m, a in per.items()}
    finite = {m: v for m, v in means.items() if math.isfinite(v)}
    best = (max if hib else min)(finite, key=finite.__getitem__) if finite else None
    sep = separation(per[best], ctrl, hib) if best else math.nan
    tau = rank_stability(per, seed=seed)
    rnd = float(np.nanmean(ctrl)) if np.isfinite(ctrl).any() else math.nan
    verdict = _record_verdict(
        finite, sep, tau, _control_level(per[best] if best else None, ctrl, hib, ids, seed)
    )
    return ColumnCheck(
        metric, rnd, best, sep, tau, verdict, True, len(ids), finite[best] if best else math.nan
    )


def _control_level(
    best: np.ndarray | None, control: np.ndarray, higher_is_better: bool, ids: list[Any], seed: int
) -> str:
    """How the random control stands against the best method, as the tables mark it.

    ``"leads"`` when its mean is at least as good as the best method's, ``"tied"``
    when the paired bootstrap interval of their difference (the one that marks
    ties with the best in :mod:`attrbench.reporting.tables`) contains 0, else ``""``.
    """
    from attrbench.reporting.stats import paired_difference

    if best is None:
        return ""
    both = np.isfinite(best) & np.isfinite(control)
    if not both.any():
        return ""
    gap = float(np.mean(best[both]) - np.mean(control[both]))
    if (gap <= 0) if higher_is_better else (gap >= 0):
        return "leads"
    return "tied" if paired_difference(ids, best, ids, control, seed=seed).tied else ""


def _full_n(
    values: dict[str, dict[str, float]], control: dict[str, float]
) -> dict[str, dict[str, float]]:
    """The methods that scored every sequence the control did (a costly method capped on a
    seeded subset would shrink the shared sequences to its few); all of them if none did."""
    full = {m: v for m, v in values.items() if set(control) <= set(v)}
    return full or values


def _record_verdict(means: dict[str, float], sep: float, tau: float, control: str = "") -> Verdict:
    """:func:`column_verdict` without an oracle: floor/ceiling is 'every method equal'.

    ``control``: :func:`_control_level` -- a column the random control leads or
    ties with the best method is uninformative whatever its separation.
    """
    vals = list(means.values())
    if len(vals) >= 2 and max(vals) - min(vals) < 1e-12:
        return Verdict(False, "every method scores the same (floor or ceiling)")
    if not (sep >= SEPARATION_SE):
        return Verdict(False, f"no method separates from random ({sep:.1f} SE < {SEPARATION_SE:g})")
    if control == "leads":
        return Verdict(False, "the random control scores at least as well as every method")
    if control == "tied":
        return Verdict(False, "the random control is tied with the best method (paired bootstrap)")
    if tau < TAU_MIN:  # NaN (fewer than 3 methods or 4 sequences): not judged
        return Verdict(False, f"method ranking unstable (Kendall tau {tau:.2f} < {TAU_MIN:g})")
    return Verdict(True)


def ranked(metric: str, check: ColumnCheck | None) -> bool:
    """Whether a column enters a summary: not a sanity check, and informative (or unchecked)."""
    if metric in SANITY_METRICS:
        return False
    return check is None or check.verdict.informative


# --------------------------------------------------------------------------- the metrics view


def oracle_values(
    metric: Metric,
    options: dict[str, Any],
    ds: Dataset,
    ground_truth: GroundTruth,
    classes: tuple[Any, ...] = (),
    seed: int = 0,
) -> np.ndarray:
    """Per-sequence values (N,) of ``metric``'s main column on the oracle map of ``ds``.

    The oracle map (:func:`oracle_scores`) explains each sequence for the truth's
    class; NaN where the metric scores no value, all NaN when the metric does not
    apply.

    Parameters
    ----------
    metric : Metric
    options : dict
        The metric's options as in its records (resource hashes are dropped).
    ds : Dataset
        The scored sequences.
    ground_truth : GroundTruth
        Of ``ds``.
    """
    from attrbench.core.plugin import Explanation, Method, NotApplicable

    X, mask = ds.X, ds.mask
    scores = oracle_scores(ground_truth, mask, seed).float()
    N, A, L = X.shape
    # never called: the oracle's attributions are given, and there is no model to explain
    never: Any = lambda *a, **k: None  # noqa: E731
    method = Method("oracle", never, complete=False, position_level=True)
    ex = Explanation(
        X=X,
        mask=mask,
        y=ds.y,
        target=ds.y,
        attributions=scores[:, None, :].expand(N, A, L).clone(),
        model=None,  # type: ignore[arg-type]  # the oracle map explains no model
        explain=None,  # type: ignore[arg-type]  # (metrics that need one refuse it)
        method=method,
        background=None,  # type: ignore[arg-type]  # nor has a background
        generator=torch.Generator().manual_seed(seed),
        dataset=ds,
        ground_truth=ground_truth,
        classes=tuple(classes),
    )
    opts = {k: v for k, v in options.items() if k != "resources"}
    try:
        v = metric(ex, **opts)
    except NotApplicable:
        return np.full(N, math.nan)
    values: np.ndarray = v.reshape(N, -1)[:, 0].double().cpu().numpy()
    return values


def oracle_value(
    metric: Metric,
    options: dict[str, Any],
    ds: Dataset,
    ground_truth: GroundTruth,
    classes: tuple[Any, ...] = (),
    seed: int = 0,
) -> float:
    """The mean of :func:`oracle_values` (NaN when no sequence has a value)."""
    v = oracle_values(metric, options, ds, ground_truth, classes, seed)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan


def scored_ids(records: list[Any]) -> list[str]:
    """The sequences a column's oracle row is computed on: those its random control scored.

    Without a random control (or its per-sequence values), the sequences any ``ok``
    record of the column scored. A sequence is scored where its value is finite
    (a sequence explained for another class than the truth's is not).

    Parameters
    ----------
    records : list of Record
        The records of one (task, model, metric).
    """
    ok = [r for r in records if r.status == "ok"]
    control = [r for r in ok if r.key.method == RANDOM_METHOD]
    for group in (control, ok):
        ids: dict[str, None] = {}
        for r in group:
            values = _values(r, None)
            ids.update(dict.fromkeys(i for i, v in (values or {}).items() if math.isfinite(v)))
        if ids:
            return list(ids)
    return []


class TaskOracle:
    """The oracle rows of ground-truth columns, computed on the tasks' own test splits.

    ``oracle(records)`` takes the records of one (task, model, metric) column and
    gives the per-sequence oracle values of that metric, with the records'
    options, on the sequences :func:`scored_ids` names (in that order), or None
    when there is none: the task or metric is not registered here, the metric
    needs no ground truth or scores a whole set, or the test split here is not
    the one the records were made on (a record's ``data_hash`` is checked). The
    oracle map does not depend on the model. Each task's data is loaded once.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._data: dict[str, tuple[Any, ...] | None] = {}

    def _task_data(self, task_name: str) -> tuple[Any, ...] | None:
        """(task, test split, its ground truth, id -> row) of a registered task, else None."""
        if task_name not in self._data:
            from attrbench.core.plugin import TASKS

            if task_name not in TASKS.names():
                self._data[task_name] = None
                return None
            task = TASKS.get(task_name)
            test = task.data("test")
            gt = test.ground_truth or (task.ground_truth(test) if task.ground_truth else None)
            rows = {i: k for k, i in enumerate(test.ids)}
            self._data[task_name] = None if gt is None else (task, test, gt, rows)
        return self._data[task_name]

    @staticmethod
    def _same_data(test: Dataset, rows: dict[str, Any], record: Record) -> bool:
        """Whether ``record`` explained sequences of this ``test`` split (its data hash)."""
        sv = record.sequence_values()
        if sv is None or not all(i in rows for i in sv.ids):
            return False
        return bool(test.subset([rows[i] for i in sv.ids]).hash == record.key.data_hash)

    def __call__(self, records: list[Any]) -> np.ndarray | None:
        from attrbench.core.plugin import METRICS

        ok = [r for r in records if r.status == "ok"]
        ids = scored_ids(ok)
        if not ids:
            return None
        key = ok[0].key
        if key.metric not in METRICS.names():
            return None
        spec = METRICS.get(key.metric)
        if not spec.needs_ground_truth or spec.set_level:
            return None
        data = self._task_data(key.task)
        if data is None:
            return None
        task, test, gt, rows = data
        control = next((r for r in ok if r.key.method == RANDOM_METHOD), ok[0])
        if not self._same_data(test, rows, control):
            return None
        index = [rows[i] for i in ids]
        return oracle_values(
            spec,
            dict(key.metric_options),
            test.subset(index),
            gt.subset(index),
            tuple(task.classes),
            self.seed,
        )


def _oracle_mean(values: np.ndarray | float | None) -> float:
    """The mean of an oracle callable's answer (an array of per-sequence values, a number or None)."""
    if values is None:
        return math.nan
    v = np.atleast_1d(np.asarray(values, dtype=float))
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else math.nan


def metrics_view(
    records: list[Record], task: str, model: str | None = None, oracle: Oracle | None = None
) -> list[dict[str, Any]]:
    """Per (model, metric column) of a task: what the column rests on and its verdict, as plain data.

    Parameters
    ----------
    records : list of Record
    task : str
    model : str, optional
        One model (default: every model with records).
    oracle : callable, optional
        ``oracle(records)`` of one column: its per-sequence oracle values on the
        sequences :func:`scored_ids` names, or a number, or None when unknown (e.g.
        a :class:`TaskOracle`); without it oracle values are NaN.

    Returns
    -------
    rows : list of dict
        Keys: model, metric, applicable, reason, reliance, random, oracle, best,
        best_normalised ((best - random) / (oracle - random)), separation_se, tau, n,
        informative, verdict, sanity.
    """
    from attrbench.core.plugin import METRICS

    recs = [r for r in records if r.key.task == task and (model is None or r.key.model == model)]
    rel = {r.key.model: reliance_from_record(r) for r in recs if r.key.metric == RELIANCE_METRIC}
    grid: dict[tuple[str, str], list[Record]] = {}
    for r in recs:
        if r.key.method.startswith("(") or r.key.metric in (
            RELIANCE_METRIC,
            "seconds_per_seq",
            "seqs_per_second",
        ):
            continue
        grid.setdefault((r.key.model, r.key.metric), []).append(r)
    rows = []
    for (m, metric), group in grid.items():
        spec = METRICS.get(metric) if metric in METRICS.names() else None
        gt = bool(spec and spec.needs_ground_truth)
        rows.append(_view_row(m, metric, group, gt, rel.get(m), oracle))
    return rows


def _column_reason(group: list[Record]) -> str:
    """Why a column has no value: the random control's reason (it applies to every model, so
    its reason is the column's), else the reason most of the column's records give."""
    reasons = [r.reason for r in group if r.reason]
    control = [r.reason for r in group if r.reason and r.key.method == RANDOM_METHOD]
    if control:
        return control[0]
    return Counter(reasons).most_common(1)[0][0] if reasons else "no value"


def _view_row(
    model: str,
    metric: str,
    group: list[Record],
    gt: bool,
    reliance: Reliance | None,
    oracle: Oracle | None,
) -> dict[str, Any]:
    """One row of :func:`metrics_view`."""
    ok = [r for r in group if r.status == "ok"]
    reason = "" if ok else _column_reason(group)
    check = column_check(group) if ok else None
    orc = math.nan
    if gt and ok and oracle is not None:
        orc = _oracle_mean(oracle(ok))
    sanity = metric in SANITY_METRICS
    informative = bool(ok) and not sanity and (check is None or check.verdict.informative)
    verdict = (
        "sanity check (PASS/FAIL, not ranked)"
        if sanity
        else reason
        if not ok
        else "informative"
        if informative
        else check.verdict.reason
        if check
        else ""
    )
    return {
        "model": model,
        "metric": metric,
        "applicable": bool(ok),
        "reason": reason,
        "reliance": str(reliance) if (gt and reliance) else "",
        "reliance_n": reliance.n if (gt and reliance) else 0,
        "reliance_share": reliance.share if (gt and reliance) else math.nan,
        "reliance_used": bool(gt and reliance and reliance.used),
        "random": check.random if check else math.nan,
        "oracle": orc,
        "best": check.best if check else None,
        "best_normalised": normalised(check.best_mean, check.random, orc) if check else math.nan,
        "separation_se": check.separation if check else math.nan,
        "tau": check.tau if check else math.nan,
        "n": check.n if check else 0,
        "informative": informative,
        "verdict": verdict,
        "sanity": sanity,
    }


def render_metrics_view(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`metrics_view` as a markdown table."""
    head = (
        "| model | column | applicable | truth reliance | random | oracle | best | best normalised "
        "| best - random (SE) | tau | n | verdict |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )

    def f(x: float) -> str:
        return "" if x is None or not math.isfinite(x) else f"{x:.3f}"

    lines = [head]
    for r in rows:
        reliance = r["reliance"]
        if reliance and math.isfinite(r.get("reliance_share", math.nan)):
            reliance += f" (n={r['reliance_n']}, {r['reliance_share']:.0%} in the truth's class)"
        lines.append(
            f"| {r['model']} | {r['metric']} | {'yes' if r['applicable'] else 'no'} | "
            f"{reliance} | {f(r['random'])} | {f(r['oracle'])} | {r['best'] or ''} | "
            f"{f(r['best_normalised'])} | "
            f"{f(r['separation_se'])} | {f(r['tau'])} | {r['n'] or ''} | {r['verdict']} |"
        )
    return "\n".join(lines) + "\n"
