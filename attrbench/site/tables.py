"""The site's tables as data, built from records through :mod:`attrbench.leaderboard`.

This module is the one seam between the site and the leaderboard's table logic:
:func:`method_table` and :func:`quality_table` take records and return
:class:`Table` (cells with text, a sort value, best mark and a hover title).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from attrbench import leaderboard as lb
from attrbench.results import Record

__all__ = ["SiteCell", "Table", "method_table", "quality_table", "latest", "QUALITY", "COST"]

QUALITY, COST = lb._QUALITY, lb._COST
_INVALID = ("INVALID: completeness above tolerance; the attributions do not add up to "
            "f(x) - f(baseline)")


@dataclass
class SiteCell:
    """One table cell: ``text`` shown, ``value`` to sort by (None sorts last), ``title`` on hover."""

    text: str
    value: float | None = None
    best: bool = False
    title: str = ""
    status: str = "ok"


@dataclass
class Table:
    """Header, rows of cells (first cell the row label) and the table's footnotes."""

    header: list[str]
    rows: list[list[SiteCell]]
    directions: list[bool | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def latest(records: list[Record]) -> list[Record]:
    """The newest record of each configuration, in registry order."""
    return lb._registry_order(lb._latest(records))


def _title(rec: Record) -> str:
    if rec.status != "ok":
        word = "not applicable" if rec.status == "not_applicable" else rec.status
        return f"{word}: {rec.reason}"
    parts = [f"n = {rec.n_scored}"]
    if rec.n_missing:
        parts.append(f"{rec.n_missing} sequences without a score")
    if rec.low is not None:
        parts.append(f"95% CI [{rec.low:.4g}, {rec.high:.4g}]")
    if rec.extra.get("invalid"):
        parts.append(_INVALID)
    return "; ".join(parts)


def _site_cell(cell, rec: Record | None) -> SiteCell:
    value = cell.value if cell.value is not None and not math.isnan(cell.value) else None
    if rec is None:
        return SiteCell(cell.text, value, cell.best, "", "empty")
    status = "invalid" if rec.extra.get("invalid") else rec.status
    return SiteCell(cell.text, value, cell.best, _title(rec), status)


def method_table(records: list[Record]) -> Table:
    """Methods as rows, metrics as columns (cost last) of one (task, model)'s records."""
    notes: dict[str, int] = {}
    header, rows = lb._method_table(records, False, notes)
    labels = lb._row_labels(records)
    columns = lb._columns(records, False)
    by_cell = {(labels[id(r)], r.key.metric): r for r in records}
    order = list(dict.fromkeys(labels[id(r)] for r in records))
    out = []
    for label, row in zip(order, rows, strict=True):
        cells = [SiteCell(row[0].text, None, False, label)]
        cells += [_site_cell(c, by_cell.get((label, col[0]))) for c, col in zip(row[1:], columns, strict=True)]
        out.append(cells)
    directions = [None] + [next((c.higher_is_better for r in rows for c in r[1 + j:2 + j]
                                 if c.higher_is_better is not None), None) for j in range(len(columns))]
    return Table(header, out, directions, [f"[{i}] {reason}" for reason, i in notes.items()])


def quality_table(records: list[Record]) -> Table:
    """Models as rows, accuracy / F1 micro / F1 macro as columns of a task's quality records."""
    notes: dict[str, int] = {}
    metrics = ["accuracy", "f1_micro", "f1_macro"]
    grid: dict[str, dict] = {}
    recs: dict[tuple[str, str], Record] = {}
    for rec in records:
        grid.setdefault(rec.key.model, {})[rec.key.metric] = lb._cell(rec, notes)
        recs[(rec.key.model, rec.key.metric)] = rec
    lb._mark_best(grid, metrics)
    rows = [[SiteCell(model, None, False, model)]
            + [_site_cell(row[m], recs[(model, m)]) if m in row else SiteCell("", status="empty")
               for m in metrics] for model, row in grid.items()]
    return Table(["model", *metrics], rows, [None, True, True, True],
                 [f"[{i}] {reason}" for reason, i in notes.items()])
