"""The site's tables as data, built from records through :mod:`attrbench.reporting.leaderboard`.

This module is the one seam between the site and the leaderboard's table logic:
:func:`method_table` and :func:`quality_table` take records and return
:class:`Table` (cells with text, a sort value, best mark and a hover title).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from attrbench.reporting import tables as tb
from attrbench.reporting.leaderboard import cell_text
from attrbench.reporting.validity import Oracle
from attrbench.running.plan import COST, QUALITY
from attrbench.running.results import Record

__all__ = ["SiteCell", "Table", "method_table", "quality_table", "latest", "QUALITY", "COST"]


@dataclass
class SiteCell:
    """One table cell: ``text`` shown, ``value`` to sort by (None sorts last), ``title`` on hover."""

    text: str
    value: float | None = None
    best: bool = False
    title: str = ""
    status: str = "ok"
    tied: bool = False


@dataclass
class Table:
    """Header, rows of cells (first cell the row label) and the table's footnotes."""

    header: list[str]
    rows: list[list[SiteCell]]
    directions: list[bool | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def latest(records: list[Record]) -> list[Record]:
    """The newest record of each configuration, in registry order."""
    return tb._registry_order(tb.latest(records))


def _title(cell: tb.Cell, notes: dict[int, str]) -> str:
    """The hover text of a cell: its n and interval, or its reason; its footnotes."""
    if cell.kind != "value":
        word = {"n/a": "not applicable", "failed": "failed", "missing": "missing"}[cell.kind]
        return f"{word}: {cell.reason}" if cell.reason else word
    parts = [f"n = {cell.n}"] if cell.n is not None else []
    if cell.n_missing:
        parts.append(f"{cell.n_missing} sequences without a score")
    if cell.low is not None and cell.high is not None:
        parts.append(f"95% CI [{cell.low:.4g}, {cell.high:.4g}]")
    if cell.tied:
        parts.append("tied with the best (paired bootstrap)")
    parts += [notes[m] for m in cell.notes if m in notes]
    return "; ".join(parts)


def _site_cell(cell: tb.Cell, notes: dict[int, str], cost: bool = False) -> SiteCell:
    value = cell.mean if cell.has_value else None
    status = {
        "value": "invalid" if cell.invalid else "ok",
        "n/a": "not_applicable",
        "failed": "failed",
        "missing": "empty",
    }[cell.kind]
    text = ("≈ " if cell.tied else "") + cell_text(cell, cost=cost)
    return SiteCell(text, value, cell.best, _title(cell, notes), status, cell.tied)


#: Hover text of a reference row's label.
REFERENCE_TITLE = {
    "floor": "reference row, not a method (never best, never ranked): the random control",
    "ceiling": "reference row, not a method (never best, never ranked): the oracle map, 1 on "
    "the ground-truth positions, ties broken at random (seed 0, one occurrence of each motif kind "
    "first), on the sequences the random control scored",
}


def _label_cell(row: tb.Row) -> SiteCell:
    """The first cell of a row; a reference row's has status ``reference``."""
    if row.reference:
        return SiteCell(row.label, None, False, REFERENCE_TITLE[row.reference], "reference")
    return SiteCell(row.label, None, False, row.label)


def _site_table(table: tb.Table) -> Table:
    notes = {n.mark: n.text for n in table.notes}
    rows = [
        [_label_cell(row)]
        + [
            _site_cell(c, notes, col.metric == COST)
            for c, col in zip(row.cells, table.columns, strict=True)
        ]
        for row in table.rows
    ]
    lines = [f"[{n.mark}] {n.text}" for n in table.notes]
    if any(row.reference for row in table.rows):
        lines.append(
            "random (floor) and oracle (ceiling): reference rows, not methods (never best, never "
            "ranked); ≈ on the random row: the best method is tied with the random control"
        )
    lines += [f"{what}: {why}" for what, why in table.omitted_columns + table.omitted_methods]
    return Table(
        [table.row_header, *(c.title for c in table.columns)],
        rows,
        [None, *(c.higher_is_better for c in table.columns)],
        lines,
    )


def method_table(
    records: list[Record], oracle: Oracle | None = None, normalised: bool = False
) -> Table:
    """Methods as rows, metrics as columns (cost last) of one (task, model)'s records, the
    random (floor) and, given ``oracle``, oracle (ceiling) reference rows last
    (:func:`attrbench.reporting.tables.method_table`)."""
    return _site_table(tb.method_table(records, oracle=oracle, normalised=normalised))


def quality_table(records: list[Record]) -> Table:
    """Models as rows, accuracy / F1 micro / F1 macro as columns of a task's quality records."""
    return _site_table(tb.quality_tables(records)[0])
