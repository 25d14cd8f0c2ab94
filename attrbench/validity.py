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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import torch
from torch import nn

from attrbench import ops
from attrbench.data import Background, Dataset, GroundTruth
from attrbench.metrics._common import top_k_mask
from attrbench.stats import bootstrap_mean

if TYPE_CHECKING:
    from attrbench.plugin import Metric
    from attrbench.results import Record

#: ``oracle(model, metric_name, options, ids) -> float``: the oracle row of a ground-truth column.
Oracle = Callable[[str, str, dict[str, Any], list[str]], float]

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

    The tie-break is a uniform draw below 1e-6 (seeded), so the order within the
    truth and within the background is random while every truth position ranks
    above every background one.

    Parameters
    ----------
    gt : GroundTruth
    mask : torch.Tensor, shape=(N, L), bool

    Returns
    -------
    scores : torch.Tensor, shape=(N, L), float64; zero on padding.
    """
    gen = torch.Generator().manual_seed(int(seed))
    truth = gt.positions(mask.shape[1]).double()
    jitter = torch.rand(mask.shape, generator=gen, dtype=torch.float64) * 1e-6
    return (truth + jitter) * mask.cpu()


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
        in the half means).
    splits : int
        Seeded random halvings.

    Returns
    -------
    tau : float
        NaN with fewer than 3 methods or 4 sequences.
    """
    from scipy import stats as sps  # a dev dependency: imported where used

    matrix = np.stack([np.asarray(v, float) for v in per_method.values()])
    if matrix.shape[0] < 3 or matrix.shape[1] < 4:
        return math.nan
    rng = np.random.default_rng(seed)
    taus = []
    for _ in range(splits):
        order = rng.permutation(matrix.shape[1])
        half = matrix.shape[1] // 2
        a = np.nanmean(matrix[:, order[:half]], 1)
        b = np.nanmean(matrix[:, order[half : 2 * half]], 1)
        tau = sps.kendalltau(a, b).statistic
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
    if not (tau >= TAU_MIN):
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
    from attrbench.plugin import METRICS

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
    full = {m: v for m, v in values.items() if v is not None}  # all of them (checked above)
    ids = sorted(set(control).intersection(*[set(v) for v in full.values()]))
    ctrl = np.array([control[i] for i in ids])
    per = {m: np.array([v[i] for i in ids]) for m, v in full.items()}
    means = {m: float(np.nanmean(a)) if np.isfinite(a).any() else math.nan for m, a in per.items()}
    finite = {m: v for m, v in means.items() if math.isfinite(v)}
    best = (max if hib else min)(finite, key=finite.__getitem__) if finite else None
    sep = separation(per[best], ctrl, hib) if best else math.nan
    tau = rank_stability(per, seed=seed)
    rnd = float(np.nanmean(ctrl)) if np.isfinite(ctrl).any() else math.nan
    verdict = _record_verdict(finite, sep, tau)
    return ColumnCheck(
        metric, rnd, best, sep, tau, verdict, True, len(ids), finite[best] if best else math.nan
    )


def _record_verdict(means: dict[str, float], sep: float, tau: float) -> Verdict:
    """:func:`column_verdict` without an oracle: floor/ceiling is 'every method equal'."""
    vals = list(means.values())
    if len(vals) >= 2 and max(vals) - min(vals) < 1e-12:
        return Verdict(False, "every method scores the same (floor or ceiling)")
    if not (sep >= SEPARATION_SE):
        return Verdict(False, f"no method separates from random ({sep:.1f} SE < {SEPARATION_SE:g})")
    if not (tau >= TAU_MIN):
        return Verdict(False, f"method ranking unstable (Kendall tau {tau:.2f} < {TAU_MIN:g})")
    return Verdict(True)


def ranked(metric: str, check: ColumnCheck | None) -> bool:
    """Whether a column enters a summary: not a sanity check, and informative (or unchecked)."""
    if metric in SANITY_METRICS:
        return False
    return check is None or check.verdict.informative


# --------------------------------------------------------------------------- the metrics view


def oracle_value(
    metric: Metric,
    options: dict[str, Any],
    ds: Dataset,
    ground_truth: GroundTruth,
    classes: tuple[Any, ...] = (),
    seed: int = 0,
) -> float:
    """The mean of ``metric`` on the oracle map of ``ds`` (explained for the truth's class).

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
    from attrbench.plugin import Explanation, Method, NotApplicable

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
        v = metric(ex, **opts)[:, 0].double()
    except NotApplicable:
        return math.nan
    v = v[torch.isfinite(v)]
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
        ``oracle(model, metric_name, options, ids) -> float``: the oracle row of a
        ground-truth column (NaN when unknown); without it oracle values are NaN.

    Returns
    -------
    rows : list of dict
        Keys: model, metric, applicable, reason, reliance, random, oracle, best,
        best_normalised ((best - random) / (oracle - random)), separation_se, tau, n,
        informative, verdict, sanity.
    """
    from attrbench.plugin import METRICS

    recs = [r for r in records if r.key.task == task and (model is None or r.key.model == model)]
    rel = {r.key.model: reliance_from_record(r) for r in recs if r.key.metric == RELIANCE_METRIC}
    grid: dict[tuple[str, str], list[Record]] = {}
    for r in recs:
        if r.key.method.startswith("(") or r.key.metric in (RELIANCE_METRIC, "seconds_per_seq"):
            continue
        grid.setdefault((r.key.model, r.key.metric), []).append(r)
    rows = []
    for (m, metric), group in grid.items():
        spec = METRICS.get(metric) if metric in METRICS.names() else None
        gt = bool(spec and spec.needs_ground_truth)
        rows.append(_view_row(m, metric, group, gt, rel.get(m), oracle))
    return rows


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
    reason = "" if ok else next((r.reason for r in group if r.reason), "no value")
    check = column_check(group) if ok else None
    orc = math.nan
    if gt and ok and oracle is not None:
        sv = ok[0].sequence_values()
        orc = oracle(model, metric, dict(ok[0].key.metric_options), sv.ids if sv else [])
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
        lines.append(
            f"| {r['model']} | {r['metric']} | {'yes' if r['applicable'] else 'no'} | "
            f"{r['reliance']} | {f(r['random'])} | {f(r['oracle'])} | {r['best'] or ''} | "
            f"{f(r['best_normalised'])} | "
            f"{f(r['separation_se'])} | {f(r['tau'])} | {r['n'] or ''} | {r['verdict']} |"
        )
    return "\n".join(lines) + "\n"
