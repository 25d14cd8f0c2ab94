"""Paired comparison of two methods on one task and model, metric by metric.

For each metric column both methods have a record of, the difference ``A - B``
of their per-sequence scores on the sequences both scored (matched by sequence
id), with a percentile-bootstrap interval (:func:`attrbench.reporting.stats.paired_difference`).
"""

from __future__ import annotations

from dataclasses import dataclass

from tabulate import tabulate

from attrbench.core.registry import did_you_mean
from attrbench.reporting.stats import Difference, paired_difference
from attrbench.reporting.tables import COST, QUALITY, latest, sequence_column
from attrbench.running.results import Record

__all__ = ["Comparison", "compare", "render_comparison"]


@dataclass(frozen=True)
class Comparison:
    """One metric column: the paired difference, or why there is none (``note``)."""

    metric: str
    column: str | None
    higher_is_better: bool | None
    difference: Difference | None
    note: str = ""

    def favours(self, a: str, b: str) -> str:
        """``a``, ``b``, ``tie`` (the interval contains 0) or ``""`` without a difference."""
        d = self.difference
        if d is None or d.n == 0 or self.higher_is_better is None:
            return ""
        if d.tied:
            return "tie"
        return a if (d.mean > 0) == self.higher_is_better else b


def _by_metric(records: list[Record], model: str, method: str) -> dict[str, Record]:
    mine = [r for r in latest(records) if r.key.model == model and r.key.method != QUALITY]
    methods = {r.key.method: None for r in mine}
    did_you_mean(method, methods, f"method with records on model {model!r}")
    return {r.key.metric: r for r in mine if r.key.method == method and r.key.metric != COST}


def _columns(rec: Record, detail: bool) -> list[str | None]:
    return list(rec.columns) if detail and len(rec.columns) > 1 else [None]


def compare(
    records: list[Record], model: str, a: str, b: str, detail: bool = False, seed: int = 0
) -> list[Comparison]:
    """Paired differences ``a - b`` on every metric both methods have a record of.

    Parameters
    ----------
    records : list of Record
        Records of one task.
    model, a, b : str
        The model and the two methods; unknown names raise with close names.
    detail : bool
        Every column of multi-column metrics, not only the main one.
    seed : int
        Seed of the bootstrap.
    """
    models = {r.key.model: None for r in records}
    did_you_mean(model, models, "model with records")
    ra, rb = _by_metric(records, model, a), _by_metric(records, model, b)
    out = []
    for metric in [m for m in ra if m in rb]:
        x, y = ra[metric], rb[metric]
        for col in _columns(x if x.status == "ok" else y, detail):
            hib = (x.columns.get(col, {}) if col else {}).get(
                "higher_is_better", x.higher_is_better
            )
            if x.status != "ok" or y.status != "ok":
                why = x.reason if x.status != "ok" else y.reason
                out.append(Comparison(metric, col, hib, None, why or "not scored"))
                continue
            va, vb = sequence_column(x, col), sequence_column(y, col)
            if va is None or vb is None:
                out.append(
                    Comparison(
                        metric,
                        col,
                        hib,
                        None,
                        "a record keeps no per-sequence values (made before they were kept)",
                    )
                )
                continue
            out.append(Comparison(metric, col, hib, paired_difference(*va, *vb, seed=seed)))
    return out


def render_comparison(rows: list[Comparison], task: str, model: str, a: str, b: str) -> str:
    """A plain-text table: metric, direction, mean difference, 95% interval, n, favoured method."""
    body = []
    for r in rows:
        name = r.metric if r.column is None else f"{r.metric}:{r.column}"
        arrow = "" if r.higher_is_better is None else ("↑" if r.higher_is_better else "↓")
        d = r.difference
        if d is None:
            body.append([name, arrow, "-", "-", "-", r.note])
        elif d.n == 0:
            body.append([name, arrow, "-", "-", "0", "no sequence scored by both"])
        else:
            body.append(
                [
                    name,
                    arrow,
                    f"{d.mean:+.4g}",
                    f"[{d.low:+.4g}, {d.high:+.4g}]",
                    str(d.n),
                    r.favours(a, b),
                ]
            )
    head = (
        f"{task} / {model}: {a} - {b}, paired on the sequences both scored (95% bootstrap interval)"
    )
    table = tabulate(
        body,
        headers=["metric", "", f"{a} - {b}", "95% CI", "n", "better"],
        tablefmt="simple",
        disable_numparse=True,
    )
    return f"{head}\n\n{table}\n"
