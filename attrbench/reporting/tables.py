"""Leaderboard tables as data, shared by every renderer (markdown, html, latex, the site).

:func:`tables` turns result records into one :class:`Table` per (task, model):
methods as rows, metrics as columns, each :class:`Cell` a mean with its interval
and n, or not applicable / failed / missing with a footnote. Per column the best
cell (by the metric's direction) is marked, and so are the cells statistically
tied with it (paired bootstrap of the difference on the sequences both scored,
95% interval containing 0; records without per-sequence values are not marked).

Tidy rules: a column with no value in any row is left out (``Table.omitted_columns``
says which and why); a method that applies to no column is left out
(``Table.omitted_methods``); footnotes are one per distinct reason, the method
names that differ between otherwise equal reasons gathered into one note.

:func:`quality_tables` gives the model-quality table of each task and
:func:`summary` the mean rank of each method across tasks and models.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from attrbench.reporting import validity
from attrbench.reporting.stats import average_ranks, bootstrap_mean, paired_difference
from attrbench.running.results import Record

__all__ = [
    "Cell",
    "Column",
    "Row",
    "Note",
    "Table",
    "tables",
    "method_table",
    "quality_tables",
    "summary",
    "latest",
    "sequence_column",
    "QUALITY",
    "COST",
    "BENCH_METRIC",
    "FLOOR_LABEL",
    "CEILING_LABEL",
    "ORACLE_METHOD",
    "NORMALISED_COLUMN",
]

#: Method name of model-quality records and metric name of cost records.
QUALITY, COST = "(model)", "seconds_per_seq"
#: Metric of the cost records ``attrbench bench`` writes (their own table; not a method-table column).
BENCH_METRIC = "seqs_per_second"
_MISSING = (
    "no record for this cell: not run yet or unfinished "
    "(run the same `attrbench run` command again to finish it)"
)
#: Metrics of records that are no method-table column (cost benchmarks; truth reliance, which
#: the metrics view shows).
_NOT_COLUMNS = (BENCH_METRIC, validity.RELIANCE_METRIC)
#: Labels of the reference rows and the method name of the oracle row.
FLOOR_LABEL, CEILING_LABEL, ORACLE_METHOD = "random (floor)", "oracle (ceiling)", "(oracle)"
_NO_ORACLE = "no oracle row: not a ground-truth column (or its oracle needs the task's data)"
_AMORTISED = (
    "seconds per sequence include the learned method's one fit on the training split, "
    "amortised over the explained sequences (a shipped or cached fit counts the time it took "
    "when it was fitted)"
)
_CAPPED = (
    "a costly method the task caps on its default n: it explained a seeded subset "
    "of the sequences (run with --n to set n for every method)"
)


@dataclass
class Cell:
    """One cell. ``kind``: ``value``, ``n/a`` (not applicable), ``failed`` or ``missing``.

    ``mean``/``low``/``high``/``n`` are set for values (``low``/``high`` None when
    the record has no interval); ``notes`` are the footnote marks of the cell
    (its reason, or INVALID); ``reason`` the full reason of a non-value cell.
    ``check`` is ``PASS`` or ``FAIL`` on a sanity check's cell (randomization,
    completeness), which is never marked best; ``show_n`` says the cell rests on
    another n than the table's header.
    """

    kind: str
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    n: int | None = None
    n_missing: int = 0
    higher_is_better: bool | None = None
    invalid: bool = False
    check: str = ""
    show_n: bool = False
    best: bool = False
    tied: bool = False
    reason: str = ""
    notes: list[int] = field(default_factory=list)
    record: Record | None = field(default=None, repr=False, compare=False)

    @property
    def has_value(self) -> bool:
        """A finite mean."""
        return self.kind == "value" and self.mean is not None and math.isfinite(self.mean)


@dataclass(frozen=True)
class Column:
    """A column: a metric, or one column ``sub`` of a multi-column metric (``None``: its main one).

    ``normalised``: its cells show ``(value - random) / (oracle - random)``.
    ``informative`` False (``verdict`` says why, see
    :func:`attrbench.reporting.validity.column_check`): no cell is marked best, the column
    is not ranked and its header carries the reason as a footnote.
    """

    metric: str
    sub: str | None
    header: str
    higher_is_better: bool | None
    normalised: bool = False
    informative: bool = True
    verdict: str = ""
    notes: tuple[int, ...] = ()

    @property
    def title(self) -> str:
        """The header with its footnote marks."""
        return self.header + "".join(f" [{m}]" for m in self.notes)


@dataclass
class Row:
    """A row: its label (method, plus options where a method has several) and one cell per column.

    ``reference`` is ``floor`` on the random control's row and ``ceiling`` on the
    oracle row: reference rows are shown beside the methods but are never marked
    best and never ranked.
    """

    label: str
    method: str
    cells: list[Cell]
    notes: list[int] = field(default_factory=list)
    reference: str = ""

    @property
    def is_method(self) -> bool:
        """A method's row (not a reference row: the random floor or the oracle ceiling)."""
        return not self.reference


@dataclass(frozen=True)
class Note:
    """Footnote ``mark`` with its text."""

    mark: int
    text: str


@dataclass
class Table:
    """One table. ``omitted_columns`` / ``omitted_methods``: (header or methods, reason) pairs."""

    task: str
    model: str
    n: int
    title: str
    columns: list[Column]
    rows: list[Row]
    notes: list[Note] = field(default_factory=list)
    omitted_columns: list[tuple[str, str]] = field(default_factory=list)
    omitted_methods: list[tuple[str, str]] = field(default_factory=list)
    row_header: str = "method"


class _Notes:
    """Footnotes keyed by reason template: equal reasons that differ only by the method gather."""

    def __init__(self) -> None:
        self.methods: dict[str, list[str]] = {}

    def mark(self, reason: str, method: str | None = None) -> int:
        template = _template(reason, method)
        names = self.methods.setdefault(template, [])
        if method and "{}" in template and method not in names:
            names.append(method)
        return list(self.methods).index(template) + 1

    def notes(self) -> list[Note]:
        return [Note(i + 1, _gathered(t, m)) for i, (t, m) in enumerate(self.methods.items())]


def _template(reason: str, method: str | None) -> str:
    if not method:
        return reason
    return re.sub(
        rf"(?<![\w-]){re.escape(method)}(?![\w-])",
        "{}",
        reason.replace("{", "(").replace("}", ")"),
        count=1,
    )


def _gathered(template: str, methods: list[str]) -> str:
    if "{}" not in template:
        return template
    if len(methods) == 1:
        return template.replace("{}", methods[0])
    return f"{template.replace('{}', 'the method')} ({', '.join(methods)})"


def latest(records: list[Record]) -> list[Record]:
    """Of records of the same (task, model, method, options, metric, options), the newest."""
    keep: dict[tuple[str, ...], Record] = {}
    for rec in sorted(records, key=lambda r: r.date):
        k = rec.key
        keep[
            (
                k.task,
                k.model,
                k.method,
                json.dumps(k.method_options, sort_keys=True),
                k.metric,
                json.dumps(k.metric_options, sort_keys=True),
            )
        ] = rec
    return list(keep.values())


def _cell(rec: Record, notes: _Notes, sub: str | None) -> Cell:
    """The cell of one record (or of its column ``sub``)."""
    if rec.status != "ok":
        kind = "n/a" if rec.status == "not_applicable" else "failed"
        reason = rec.reason or rec.status
        return Cell(kind, reason=reason, notes=[notes.mark(reason, rec.key.method)], record=rec)
    col = rec.columns.get(sub) if sub else None
    if col:
        mean, low, high, n, miss = col["mean"], col["low"], col["high"], col["n"], col["n_missing"]
    else:
        mean, low, high, n, miss = rec.value, rec.low, rec.high, rec.n_scored, rec.n_missing
    hib = (col or {}).get("higher_is_better", rec.higher_is_better)
    if rec.key.metric == COST:
        low = high = None
    cell = Cell("value", mean, low, high, n, miss, hib, record=rec)
    if rec.key.metric == COST and (rec.extra or {}).get("fit_seconds"):
        cell.notes.append(notes.mark(_AMORTISED))
    if rec.extra.get("invalid"):
        cell.invalid = True
        cell.notes.append(
            notes.mark(
                f"INVALID: the mean {rec.key.metric} is above its tolerance "
                f"({rec.extra.get('invalid_above', float('nan')):g}); the method fails the check "
                "this metric makes"
            )
        )
    if rec.key.metric in validity.SANITY_METRICS:
        cell.check = _sanity_check(rec)
    return cell


def _sanity_check(rec: Record) -> str:
    """PASS / FAIL of a sanity-check record (randomization: :func:`~attrbench.metrics.randomization.verdict`
    of its ``drop`` interval; completeness: not INVALID)."""
    if rec.key.metric == "completeness":
        return "FAIL" if rec.extra.get("invalid") else "PASS"
    drop = rec.columns.get("drop")
    if not drop:
        return ""
    from attrbench.metrics.randomization import verdict

    return verdict(drop["low"] if drop.get("low") is not None else float("nan"))


def _row_labels(records: list[Record]) -> dict[int, str]:
    """Row label per record: the method, plus its options where a method has several option sets."""
    sets = defaultdict(set)
    for rec in records:
        sets[rec.key.method].add(json.dumps(rec.key.method_options, sort_keys=True))
    labels = {}
    for rec in records:
        label = rec.key.method
        if len(sets[label]) > 1:
            opts = ",".join(f"{k}={v}" for k, v in sorted(rec.key.method_options.items()))
            label = f"{label}[{opts}]"
        labels[id(rec)] = label
    return labels


def _columns(records: list[Record], detail: bool) -> list[Column]:
    """Columns in first-seen order, cost last; with ``detail`` every column of multi-column metrics."""
    subs: dict[str, list[str]] = {}
    for rec in records:
        if detail and rec.status == "ok" and len(rec.columns) > 1:
            subs.setdefault(rec.key.metric, list(rec.columns))
    keys: dict[tuple[str, str | None], None] = {}
    for rec in records:
        if rec.key.metric != COST:
            keys.update(
                dict.fromkeys((rec.key.metric, c) for c in subs.get(rec.key.metric, [None]))
            )
    cost = (
        [Column(COST, None, "s/seq ↓", False)] if any(r.key.metric == COST for r in records) else []
    )
    return [_column(records, m, s) for m, s in keys] + cost


def _column(records: list[Record], metric: str, sub: str | None) -> Column:
    hib = next(
        (
            (r.columns.get(sub, {}) if sub is not None else {}).get(
                "higher_is_better", r.higher_is_better
            )
            for r in records
            if r.key.metric == metric and r.status == "ok"
        ),
        None,
    )
    arrow = "" if hib is None else (" ↑" if hib else " ↓")
    return Column(metric, sub, (f"{metric}:{sub}" if sub else metric) + arrow, hib)


def sequence_column(rec: Record, sub: str | None) -> tuple[list[str], np.ndarray] | None:
    """(ids, values (N,)) of column ``sub`` of ``rec`` (its main column when None).

    None when the record keeps no per-sequence values (records made before they
    were kept) or not that column.
    """
    sv = rec.sequence_values()
    if sv is None:
        return None
    if sub is None:
        if len(sv.columns) == 1:
            sub = next(iter(sv.columns))
        else:
            sub = next((c for c, s in rec.columns.items() if s["mean"] == rec.value), None)
    return (sv.ids, sv.columns[sub]) if sub in sv.columns else None


def _mark_best(
    cells: list[Cell], sub: str | None, seed: int = 0, references: Sequence[Cell] = ()
) -> None:
    """Mark the best cells of one column and those tied with the (first) best.

    ``references`` (the random control's cell) are never best; one is marked tied
    when the best method is tied with it.
    """
    values = [c for c in cells if c.has_value]
    if len(values) < 2:
        return
    best = (max if values[0].higher_is_better else min)(
        c.mean
        for c in values
        if c.mean is not None  # all of them: they have values
    )
    for c in values:
        c.best = c.mean == best
    top = next(c for c in values if c.best)
    ref = sequence_column(top.record, sub) if top.record is not None else None
    if ref is None:
        return
    for c in [*values, *references]:
        other = None
        if not c.best and c.has_value and c.record is not None:
            other = sequence_column(c.record, sub)
        if other is not None:
            c.tied = paired_difference(*ref, *other, seed=seed).tied


def _grid(records: list[Record], columns: list[Column], notes: _Notes) -> list[Row]:
    """One row per label with a cell per column (``missing`` where no record is)."""
    labels = _row_labels(records)
    by_label: dict[str, dict[int, Cell]] = defaultdict(dict)
    method_of: dict[str, str] = {}
    for rec in records:
        method_of[labels[id(rec)]] = rec.key.method
        for j, col in enumerate(columns):
            if col.metric == rec.key.metric and (
                col.sub is None or col.sub in rec.columns or rec.status != "ok"
            ):
                by_label[labels[id(rec)]][j] = _cell(rec, notes, col.sub)
    return [
        Row(
            label,
            method_of[label],
            [cells.get(j) or Cell("missing", reason=_MISSING) for j in range(len(columns))],
        )
        for label, cells in by_label.items()
    ]


def _reasons(cells: list[Cell], methods: list[str]) -> str:
    """The distinct reasons of non-value cells, the differing method names gathered."""
    gather = _Notes()
    for cell, method in zip(cells, methods, strict=True):
        gather.mark(cell.reason, method)
    return "; ".join(n.text for n in gather.notes())


def _omit_columns(
    columns: list[Column], rows: list[Row]
) -> tuple[list[int], list[tuple[str, str]]]:
    """Indices of the columns kept, and (header, why) of the columns with no value in any row.

    A value is a finite mean: a column whose records all scored no sequence (n = 0,
    e.g. no explained sequence carries a motif) is left out too. A column with a
    failed cell stays, so the failure shows where it happened.
    """
    keep, omitted = [], defaultdict(list)
    for j, col in enumerate(columns):
        cells = [r.cells[j] for r in rows]
        if col.metric == COST or any(c.has_value or c.kind == "failed" for c in cells):
            keep.append(j)
            continue
        others = [(c, r.method) for c, r in zip(cells, rows, strict=True) if c.kind != "value"]
        why = (
            ["no explained sequence has a score (n=0 in every row)"]
            if len(others) < len(cells)
            else []
        )
        if others:
            why.append(_reasons([c for c, _ in others], [m for _, m in others]))
        omitted["no value in any row: " + "; ".join(why)].append(
            col.metric if col.sub is None else col.header
        )
    return keep, [(", ".join(names), why) for why, names in omitted.items()]


def _omit_methods(
    columns: list[Column], rows: list[Row]
) -> tuple[list[Row], list[tuple[str, str]]]:
    """Rows kept, and (methods, why) of the methods not applicable to any metric column.

    Methods whose reasons differ only by their own name share one line.
    """
    kept, gone = [], defaultdict(list)
    for row in rows:
        cells = [c for c, col in zip(row.cells, columns, strict=True) if col.metric != COST]
        if cells and all(c.kind == "n/a" for c in cells):
            templates = tuple(dict.fromkeys(_template(c.reason, row.method) for c in cells))
            gone[templates].append(row)
        else:
            kept.append(row)
    out = []
    for templates, group in gone.items():
        methods = [r.method for r in group]
        text = [
            _gathered(t, methods) if len(group) == 1 else t.replace("{}", "the method")
            for t in templates
        ]
        out.append((", ".join(r.label for r in group), "; ".join(text)))
    return kept, out


def _renumber(rows: list[Row], notes: _Notes, columns: list[Column] | None = None) -> list[Note]:
    """Footnotes of the headers and cells shown only, renumbered in order of first use
    (``columns`` are renumbered in place)."""
    old = {n.mark: n.text for n in notes.notes()}
    new: dict[int, int] = {}
    cols = columns if columns is not None else []
    for j, col in enumerate(cols):
        if col.notes:
            marks = tuple(new.setdefault(m, len(new) + 1) for m in col.notes)
            cols[j] = replace(col, notes=marks)
    for row in rows:
        holders: list[Row | Cell] = [row, *row.cells]
        for holder in holders:
            holder.notes = [new.setdefault(m, len(new) + 1) for m in holder.notes]
    return [Note(m, old[o]) for o, m in new.items()]


def _capped(records: list[Record], rows: list[Row], notes: _Notes) -> None:
    """Note the rows of methods that explained fewer sequences than the table's n."""
    labels = _row_labels(records)
    n_of: dict[str, int] = defaultdict(int)
    for rec in records:
        n_of[labels[id(rec)]] = max(n_of[labels[id(rec)]], rec.key.n)
    top = max(n_of.values(), default=0)
    for row in rows:
        if n_of[row.label] < top:
            row.label = f"{row.label} (n={n_of[row.label]})"
            row.notes.append(notes.mark(_CAPPED))


def _mark_floor(rows: list[Row]) -> None:
    """Make the random control's row the floor reference row (labelled ``random (floor)``)."""
    for row in rows:
        if row.method == validity.RANDOM_METHOD:
            row.reference = "floor"
            row.label = row.label.replace(validity.RANDOM_METHOD, FLOOR_LABEL, 1)


def _oracle_row(
    records: list[Record], columns: list[Column], oracle: validity.Oracle
) -> Row | None:
    """The ceiling reference row: each ground-truth column's metric on the oracle map.

    ``oracle(records)`` gives the per-sequence oracle values of a column (its
    records) on the sequences its random control scored
    (:func:`attrbench.reporting.validity.scored_ids`), or None; the cell is their mean with
    its bootstrap interval. None when no column has an oracle value.
    """
    cells, found = [], False
    for col in columns:
        ok = [r for r in records if r.key.metric == col.metric and r.status == "ok"]
        values = None
        main = col.sub is None or col.sub == validity._main_column(col.metric)
        if ok and main and col.metric != COST:
            values = oracle(ok)
        if values is None or not np.isfinite(np.asarray(values, float)).any():
            cells.append(Cell("missing", reason=_NO_ORACLE))
            continue
        s = bootstrap_mean(np.asarray(values, float), seed=0)
        cells.append(Cell("value", s.mean, s.low, s.high, s.n, s.n_missing, col.higher_is_better))
        found = True
    return Row(CEILING_LABEL, ORACLE_METHOD, cells, reference="ceiling") if found else None


def _value(cell: Cell) -> float | None:
    """The mean of a cell that has a value (:attr:`Cell.has_value`), else None."""
    return cell.mean if cell.has_value else None


def _normalise(columns: list[Column], rows: list[Row]) -> list[Column]:
    """Rescale every column that has a floor and a ceiling to ``(value - random) / (oracle - random)``.

    The random row becomes 0, the oracle row 1, a better method a larger value
    (the column is higher-is-better whatever the metric's direction); a cell's
    interval is rescaled with it (the floor and ceiling are taken as exact).
    Ties with the best are unchanged (the rescaling is the same for every cell).
    """
    floor = next((r for r in rows if r.reference == "floor"), None)
    ceiling = next((r for r in rows if r.reference == "ceiling"), None)
    if floor is None or ceiling is None:
        return columns
    out = []
    for j, col in enumerate(columns):
        random, best = _value(floor.cells[j]), _value(ceiling.cells[j])
        if random is None or best is None or not abs(best - random) > 1e-12:
            out.append(col)
            continue
        for row in rows:
            c = row.cells[j]
            mean = _value(c)
            if mean is None:
                continue
            c.mean = validity.normalised(mean, random, best)
            if c.low is not None and c.high is not None:
                ends = sorted(validity.normalised(x, random, best) for x in (c.low, c.high))
                c.low, c.high = ends
            c.higher_is_better = True
        name = f"{col.metric}:{col.sub}" if col.sub else col.metric
        out.append(Column(col.metric, col.sub, f"{name} (normalised) ↑", True, normalised=True))
    return out


_UNINFORMATIVE = "uninformative column (no best marked, not ranked in the summary): "


def _verdicts(columns: list[Column], rows: list[Row], notes: _Notes) -> list[Column]:
    """Each ranked column with its :func:`attrbench.reporting.validity.column_check` verdict; an
    uninformative one gets a footnote mark on its header giving the reason."""
    out = []
    for j, col in enumerate(columns):
        recs = [rec for r in rows if (rec := r.cells[j].record) is not None]
        if col.metric == COST or col.metric in validity.SANITY_METRICS or not recs:
            out.append(col)
            continue
        check = validity.column_check(recs, col.sub)
        if not check.checked or check.verdict.informative:
            out.append(col)
            continue
        mark = notes.mark(_UNINFORMATIVE + check.verdict.reason)
        out.append(
            replace(col, notes=(*col.notes, mark), informative=False, verdict=check.verdict.reason)
        )
    return out


def method_table(
    records: list[Record],
    detail: bool = False,
    seed: int = 0,
    oracle: validity.Oracle | None = None,
    normalised: bool = False,
) -> Table:
    """The table of one (task, model): methods as rows, metrics as columns.

    The random control's row is the floor reference row ``random (floor)`` and,
    given ``oracle``, an ``oracle (ceiling)`` row follows it; reference rows come
    last and are never marked best (nor ranked by :func:`summary`).

    Parameters
    ----------
    records : list of Record
        Records of one task and model (no model-quality records), in row order.
    detail : bool
        Every column of multi-column metrics instead of their main column.
    seed : int
        Seed of the paired bootstraps that decide ties with the best.
    oracle : callable, optional
        ``oracle(records of one column) -> per-sequence values | None`` (e.g.
        :class:`attrbench.reporting.validity.TaskOracle`): the ceiling row of the
        ground-truth columns. Without it there is no oracle row.
    normalised : bool
        Ground-truth columns with both reference rows show
        ``(value - random) / (oracle - random)`` instead of the raw value.
    """
    notes = _Notes()
    columns = _columns(records, detail)
    rows = _grid(records, columns, notes)
    rows, omitted_methods = _omit_methods(columns, rows)
    keep, omitted_columns = _omit_columns(columns, rows)
    columns = [columns[j] for j in keep]
    for row in rows:
        row.cells = [row.cells[j] for j in keep]
    _capped(records, rows, notes)
    _mark_floor(rows)
    ceiling = _oracle_row(records, columns, oracle) if oracle is not None and rows else None
    rows = [r for r in rows if r.is_method] + [r for r in rows if not r.is_method]
    rows += [ceiling] if ceiling else []
    if normalised:
        columns = _normalise(columns, rows)
    columns = _verdicts(columns, rows, notes)
    for j, col in enumerate(columns):
        if col.metric != COST and col.metric not in validity.SANITY_METRICS and col.informative:
            _mark_best(
                [r.cells[j] for r in rows if r.is_method],
                col.sub,
                seed,
                [r.cells[j] for r in rows if not r.is_method],
            )
    n = max((r.key.n for r in records), default=0)
    for row in rows:
        for c in row.cells:
            if c.kind == "missing" and row.is_method:
                c.notes.append(notes.mark(_MISSING))
            c.show_n = c.kind == "value" and c.n is not None and (c.n != n or c.n_missing > 0)
    task, model = records[0].key.task, records[0].key.model
    return Table(
        task,
        model,
        n,
        f"{task} / {model} (n={n}, mean [95% CI])",
        columns,
        rows,
        _renumber(rows, notes, columns),
        omitted_columns,
        omitted_methods,
    )


def _registry_order(records: list[Record]) -> list[Record]:
    """Records ordered by method, then metric, as registered (unknown names last, by name)."""
    from attrbench.core.plugin import METHODS, METRICS

    methods = {n: i for i, n in enumerate(METHODS.names())}
    metrics = {n: i for i, n in enumerate(METRICS.names())}
    far = len(methods) + len(metrics)
    return sorted(
        records,
        key=lambda r: (
            methods.get(r.key.method, far),
            r.key.method,
            metrics.get(r.key.metric, far),
            r.key.metric,
        ),
    )


def _by_task_model(records: list[Record]) -> dict[str, dict[str, list[Record]]]:
    out: dict[str, dict[str, list[Record]]] = defaultdict(lambda: defaultdict(list))
    for rec in _registry_order(latest(records)):
        out[rec.key.task][rec.key.model].append(rec)
    return {t: dict(m) for t, m in sorted(out.items())}


def tables(
    records: list[Record],
    detail: bool = False,
    seed: int = 0,
    oracle: validity.Oracle | None = None,
    normalised: bool = False,
) -> list[Table]:
    """One :class:`Table` per (task, model), tasks by name, models in first-seen order.

    Model-quality records are left out (see :func:`quality_tables`); of records of
    the same configuration only the newest counts. ``oracle`` and ``normalised``:
    see :func:`method_table`.
    """
    out = []
    for models in _by_task_model(records).values():
        for recs in models.values():
            recs = [r for r in recs if r.key.method != QUALITY and r.key.metric not in _NOT_COLUMNS]
            if recs:
                out.append(method_table(recs, detail, seed, oracle, normalised))
    return out


def quality_tables(records: list[Record]) -> list[Table]:
    """The model-quality table of each task with quality records: models as rows."""
    out = []
    for task, models in _by_task_model(records).items():
        recs = [r for m in models.values() for r in m if r.key.method == QUALITY]
        if not recs:
            continue
        notes = _Notes()
        metrics = list(
            dict.fromkeys(["accuracy", "f1_micro", "f1_macro"] + [r.key.metric for r in recs])
        )
        columns = [Column(m, None, m, True) for m in metrics]
        grid: dict[str, dict[str, Cell]] = {r.key.model: {} for r in recs}
        for rec in recs:
            grid[rec.key.model][rec.key.metric] = _cell(rec, notes, None)
        rows = [
            Row(m, QUALITY, [g.get(q) or Cell("missing", reason=_MISSING) for q in metrics])
            for m, g in grid.items()
        ]
        for j in range(len(columns)):
            _mark_best([r.cells[j] for r in rows], None)
        out.append(
            Table(
                task,
                "",
                0,
                f"{task}: model quality (held-out split, all its sequences)",
                columns,
                rows,
                _renumber(rows, notes),
                row_header="model",
            )
        )
    return out


def _ranks(table: Table) -> dict[tuple[str, str], float]:
    """(method label, metric) -> rank of the method in each main metric column (1 = best).

    Equal means share the mean of their ranks; only cells with a finite value are ranked.
    Sanity checks (randomization, completeness), columns that
    :func:`attrbench.reporting.validity.column_check` finds uninformative and the reference
    rows (random floor, oracle ceiling) are not ranked. A rank is the same on raw
    and on normalised values (the rescaling is the same for every cell of a column).
    """
    out = {}
    for j, col in enumerate(table.columns):
        if col.metric == COST or col.sub is not None or col.higher_is_better is None:
            continue
        if col.metric in validity.SANITY_METRICS or not col.informative:
            continue
        cells: list[tuple[str, Any]] = [
            (row.label.split(" (n=")[0], row.cells[j]) for row in table.rows if row.is_method
        ]
        cells = [(label, c.mean) for label, c in cells if c.has_value]
        if len(cells) < 2:
            continue
        values = np.array([v for _, v in cells])
        ranks = average_ranks(-values if col.higher_is_better else values)
        out.update(
            {(label, col.metric): float(r) for (label, _), r in zip(cells, ranks, strict=True)}
        )
    return out


def _normalised_scores(table: Table) -> dict[str, list[float]]:
    """Method label -> its normalised scores ``(value - random) / (oracle - random)`` in the
    informative main ground-truth columns of ``table`` that have both reference rows."""
    floor = next((r for r in table.rows if r.reference == "floor"), None)
    ceiling = next((r for r in table.rows if r.reference == "ceiling"), None)
    out: dict[str, list[float]] = defaultdict(list)
    if floor is None or ceiling is None:
        return out
    for j, col in enumerate(table.columns):
        lo, hi = _value(floor.cells[j]), _value(ceiling.cells[j])
        if col.sub is not None or not col.informative or lo is None or hi is None:
            continue
        for row in table.rows:
            mean = _value(row.cells[j])
            score = validity.normalised(mean, lo, hi) if mean is not None else math.nan
            if row.is_method and math.isfinite(score):
                out[row.label.split(" (n=")[0]].append(score)
    return out


#: The summary's column of mean normalised ground-truth scores.
NORMALISED_COLUMN = "ground truth, normalised"


def summary(records: list[Record], oracle: validity.Oracle | None = None) -> Table:
    """Mean rank of each method per main metric column across every task and model.

    A cell's ``mean`` is the method's mean rank over the (task, model) tables whose
    column ranks it, ``n`` the number of those tables; the column ``all`` averages
    every rank of the method. Rows are sorted by that overall mean rank (lower is
    better). Only informative columns count and reference rows are not ranked
    (see :func:`_ranks`).

    Given ``oracle`` (see :func:`method_table`), a last column averages the
    method's normalised scores ``(value - random) / (oracle - random)`` over every
    informative ground-truth column of every table (0 = the random control,
    1 = the oracle; higher is better): raw values of different metrics and tasks
    are not on one scale, normalised ones are.
    """
    per: dict[tuple[str, str], list[float]] = defaultdict(list)
    scores: dict[str, list[float]] = defaultdict(list)
    for table in tables(records, oracle=oracle):
        for key, rank in _ranks(table).items():
            per[key].append(rank)
        for label, values in _normalised_scores(table).items():
            scores[label] += values
    metrics = list(dict.fromkeys(m for _, m in per))
    labels = list(dict.fromkeys(label for label, _ in per))
    columns = [Column(m, None, f"{m} ↓", False) for m in [*metrics, "all"]]
    rows = []
    for label in labels:
        every = [r for (lab, _), ranks in per.items() if lab == label for r in ranks]
        cells = [
            Cell(
                "value",
                float(np.mean(per[(label, m)])),
                n=len(per[(label, m)]),
                higher_is_better=False,
            )
            if (label, m) in per
            else Cell("missing")
            for m in metrics
        ]
        cells.append(Cell("value", float(np.mean(every)), n=len(every), higher_is_better=False))
        if scores:
            cells.append(
                Cell(
                    "value",
                    float(np.mean(scores[label])),
                    n=len(scores[label]),
                    higher_is_better=True,
                )
                if scores.get(label)
                else Cell("missing")
            )
        rows.append(Row(label, label, cells))
    if scores:
        columns.append(Column(NORMALISED_COLUMN, None, f"{NORMALISED_COLUMN} ↑", True))
    rows.sort(key=lambda r: r.cells[len(metrics)].mean or 0.0)  # every one has a value
    for j in range(len(columns)):
        _mark_best([r.cells[j] for r in rows], None)
    return Table(
        "",
        "",
        0,
        "summary: mean rank across tasks and models (1 = best; (k) = the cells the rank rests on)"
        + (
            f"; {NORMALISED_COLUMN}: mean (value - random) / (oracle - random) over the informative "
            "ground-truth columns (0 = random control, 1 = oracle)"
            if scores
            else ""
        ),
        columns,
        rows,
    )
