"""Render result records as leaderboard tables (markdown, html, latex, csv).

One table per (task, model): methods as rows, metrics as columns, each cell the
mean with its 95% bootstrap interval; the best cell of each column (by the
metric's direction) is marked; not-applicable, failed and invalid cells are
shown as such with their reasons as footnotes. A model-quality table per task
lists accuracy and F1 of every model. ``csv`` is long form: one row per record.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass

from tabulate import tabulate

from attrbench.results import Record

__all__ = ["render", "FORMATS", "cell_text", "interval_text", "format_value", "notes_text"]

FORMATS = ("markdown", "html", "latex", "csv")
_TABLEFMT = {"markdown": "github", "html": "unsafehtml", "latex": "latex_raw"}
_QUALITY, _COST = "(model)", "seconds_per_seq"


@dataclass
class _Cell:
    text: str
    value: float | None = None
    higher_is_better: bool | None = None
    best: bool = False


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    sign = "+" if signed else ""
    return f"{x:{sign}.3g}" if abs(x) < 1e-3 and x != 0 else f"{x:{sign}.3f}"


def format_value(x: float | None, signed: bool = False) -> str:
    """A value as the leaderboard writes it (3 decimals; ``signed``: with its sign, for differences)."""
    return _fmt(x, signed)


def interval_text(mean: float, low: float | None, high: float | None, signed: bool = False) -> str:
    """``mean [low, high]`` as in a leaderboard cell (just ``mean`` without an interval)."""
    if low is None:
        return _fmt(mean, signed)
    return f"{_fmt(mean, signed)} [{_fmt(low, signed)}, {_fmt(high, signed)}]"


def cell_text(rec: Record, column: str | None = None, notes: dict[str, int] | None = None) -> str:
    """The leaderboard's text of one record, or of one of its columns.

    Parameters
    ----------
    rec : Record
    column : str, optional
        A column of a multi-column metric (default: the record's main value).
    notes : dict, optional
        Footnotes collected so far (reason -> number); a not-applicable or failed
        cell adds its reason and is written ``n/a [k]`` (render them with :func:`notes_text`).

    Returns
    -------
    text : str
        ``mean [low, high]``, with ``(n=K)`` when some sequences have no score and
        ``INVALID`` when the record is flagged.
    """
    return _cell(rec, {} if notes is None else notes, column).text


def notes_text(notes: dict[str, int], fmt: str = "markdown") -> str:
    """The footnotes of :func:`cell_text` cells, one line each."""
    return _notes(notes, fmt)


def _cell(rec: Record, notes: dict[str, int], column: str | None = None) -> _Cell:
    """The text of one record (or one of its columns)."""
    if rec.status != "ok":
        mark = notes.setdefault(rec.reason or rec.status, len(notes) + 1)
        word = "n/a" if rec.status == "not_applicable" else rec.status
        return _Cell(f"{word} [{mark}]")
    col = rec.columns.get(column) if column else None
    mean, low, high = (col["mean"], col["low"], col["high"]) if col else (rec.value, rec.low, rec.high)
    if rec.key.metric == _COST:
        return _Cell(f"{mean:.2e}", mean, False)
    text = interval_text(mean, low, high)
    missing = (col or {}).get("n_missing", rec.n_missing)
    if missing:
        text += f" (n={(col or {}).get('n', rec.n_scored)})"
    if rec.extra.get("invalid"):
        text += " INVALID"
    return _Cell(text, mean, (col or {}).get("higher_is_better", rec.higher_is_better))


def _latest(records: list[Record]) -> list[Record]:
    """Of records of the same (task, model, method, options, metric, options), the newest."""
    keep: dict = {}
    for rec in sorted(records, key=lambda r: r.date):
        k = rec.key
        keep[(k.task, k.model, k.method, json.dumps(k.method_options, sort_keys=True),
              k.metric, json.dumps(k.metric_options, sort_keys=True))] = rec
    return list(keep.values())


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


def _columns(records: list[Record], detail: bool) -> list[tuple[str, str | None]]:
    """(metric, column) pairs in first-seen order, cost last."""
    cols: dict[tuple[str, str | None], None] = {}
    for rec in records:
        if rec.key.metric == _COST:
            continue
        names = list(rec.columns) if detail and len(rec.columns) > 1 else [None]
        for c in names:
            cols[(rec.key.metric, c)] = None
    return [*cols, (_COST, None)]


def _mark_best(grid: dict[str, dict], columns: list) -> None:
    for col in columns:
        cells = [row[col] for row in grid.values() if col in row and row[col].value is not None]
        cells = [c for c in cells if not math.isnan(c.value)]
        if len(cells) < 2:
            continue
        pick = max if cells[0].higher_is_better else min
        best = pick(c.value for c in cells)
        for c in cells:
            c.best = c.value == best


def _method_table(records: list[Record], detail: bool, notes: dict) -> tuple[list[str], list[list[_Cell]]]:
    labels = _row_labels(records)
    columns = _columns(records, detail)
    grid: dict[str, dict] = defaultdict(dict)
    for rec in records:
        for col in columns:
            if col[0] == rec.key.metric and (col[1] is None or col[1] in rec.columns):
                grid[labels[id(rec)]][col] = _cell(rec, notes, col[1])
    _mark_best(grid, columns)
    if any(c.text.endswith("INVALID") for row in grid.values() for c in row.values()):
        notes.setdefault("INVALID: completeness above tolerance; the attributions do not add "
                         "up to f(x) - f(baseline)", len(notes) + 1)
    header = ["method"] + [_header(records, col) for col in columns]
    shown = _capped_labels(records, labels, notes)
    rows = [[_Cell(shown.get(label, label))] + [row.get(col, _Cell("")) for col in columns]
            for label, row in grid.items()]
    return header, rows


def _capped_labels(records: list[Record], labels: dict[int, str], notes: dict) -> dict[str, str]:
    """Row labels of methods that explained fewer sequences than the table's n, with a note."""
    n_of: dict[str, int] = defaultdict(int)
    for rec in records:
        n_of[labels[id(rec)]] = max(n_of[labels[id(rec)]], rec.key.n)
    top = max(n_of.values(), default=0)
    shown = {}
    for label, n in n_of.items():
        if n < top:
            mark = notes.setdefault(
                "a costly method the task caps on its default n: it explained a seeded subset "
                "of the sequences (run with --n to set n for every method)", len(notes) + 1)
            shown[label] = f"{label} (n={n}) [{mark}]"
    return shown


def _header(records: list[Record], col: tuple[str, str | None]) -> str:
    metric, sub = col
    if metric == _COST:
        return "s/seq ↓"
    hib = next((r.columns.get(sub, {}).get("higher_is_better", r.higher_is_better)
                for r in records if r.key.metric == metric and r.status == "ok"), None)
    arrow = "" if hib is None else (" ↑" if hib else " ↓")
    return (f"{metric}:{sub}" if sub else metric) + arrow


def _style(cell: _Cell, fmt: str) -> str:
    text = html.escape(cell.text) if fmt == "html" else cell.text
    if not cell.best:
        return text
    return {"markdown": f"**{text}**", "html": f"<b>{text}</b>",
            "latex": f"\\textbf{{{text}}}"}[fmt]


def _table(header: list[str], rows: list[list[_Cell]], fmt: str) -> str:
    body = [[_style(c, fmt) for c in row] for row in rows]
    if fmt == "latex":
        header = [h.replace("↑", "$\\uparrow$").replace("↓", "$\\downarrow$").replace("_", "\\_") for h in header]
        body = [[c.replace("_", "\\_") for c in row] for row in body]
    return tabulate(body, headers=header, tablefmt=_TABLEFMT[fmt], disable_numparse=True)


def _heading(text: str, fmt: str) -> str:
    return {"markdown": f"### {text}", "html": f"<h3>{text}</h3>", "latex": f"% {text}"}[fmt]


def _notes(notes: dict[str, int], fmt: str) -> str:
    if not notes:
        return ""
    lines = [f"[{i}] {reason}" for reason, i in notes.items()]
    if fmt == "html":
        return "<p>" + "<br>".join(map(html.escape, lines)) + "</p>"
    if fmt == "latex":
        return "\n".join(f"% {line}" for line in lines)
    return "\n".join(f"- {line}" for line in lines)


def _quality_table(records: list[Record], fmt: str) -> str:
    grid: dict[str, dict] = defaultdict(dict)
    notes: dict[str, int] = {}
    for rec in records:
        grid[rec.key.model][rec.key.metric] = _cell(rec, notes)
    metrics = ["accuracy", "f1_micro", "f1_macro"]
    _mark_best(grid, metrics)
    rows = [[_Cell(m)] + [row.get(q, _Cell("")) for q in metrics] for m, row in grid.items()]
    return _table(["model", *metrics], rows, fmt)


def _registry_order(records: list[Record]) -> list[Record]:
    """Records ordered by method, then metric, as registered (unknown names last, by name)."""
    from attrbench.plugin import METHODS, METRICS

    methods = {n: i for i, n in enumerate(METHODS.names())}
    metrics = {n: i for i, n in enumerate(METRICS.names())}
    far = len(methods) + len(metrics)
    return sorted(records, key=lambda r: (methods.get(r.key.method, far), r.key.method,
                                          metrics.get(r.key.metric, far), r.key.metric))


def render(records: list[Record], fmt: str = "markdown", detail: bool = False) -> str:
    """Render ``records`` as tables in ``fmt`` (one of :data:`FORMATS`).

    Parameters
    ----------
    detail : bool
        Show every column of multi-column metrics (e.g. inclusion KL per fraction).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    records = _registry_order(_latest(records))
    if fmt == "csv":
        return _csv(records)
    by_task: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        by_task[rec.key.task].append(rec)
    parts = []
    for task, recs in sorted(by_task.items()):
        quality = [r for r in recs if r.key.method == _QUALITY]
        if quality:
            parts += [_heading(f"{task}: model quality (held-out split, all its sequences)", fmt), _quality_table(quality, fmt)]
        by_model = defaultdict(list)
        for rec in recs:
            if rec.key.method != _QUALITY:
                by_model[rec.key.model].append(rec)
        for model, mrecs in by_model.items():
            notes: dict[str, int] = {}
            header, rows = _method_table(mrecs, detail, notes)
            n = max((r.key.n for r in mrecs), default=0)
            parts += [_heading(f"{task} / {model} (n={n}, mean [95% CI])", fmt),
                      _table(header, rows, fmt), _notes(notes, fmt)]
    return "\n\n".join(p for p in parts if p) + "\n"


def _csv(records: list[Record]) -> str:
    out = io.StringIO()
    fields = ["task", "task_version", "model", "method", "method_options", "metric", "column",
              "status", "value", "low", "high", "n", "n_missing", "higher_is_better", "reason",
              "seed", "device", "checkpoint_hash", "data_hash", "git_commit", "date"]
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for rec in sorted(records, key=lambda r: (r.key.task, r.key.model, r.key.method, r.key.metric)):
        k = rec.key
        base = {"task": k.task, "task_version": k.task_version, "model": k.model, "method": k.method,
                "method_options": json.dumps(k.method_options, sort_keys=True), "metric": k.metric,
                "status": rec.status, "higher_is_better": rec.higher_is_better, "reason": rec.reason,
                "seed": k.seed, "device": rec.device, "checkpoint_hash": k.checkpoint_hash,
                "data_hash": k.data_hash, "git_commit": rec.git_commit, "date": rec.date}
        cols = rec.columns or {"": {"mean": rec.value, "low": rec.low, "high": rec.high,
                                    "n": rec.n_scored, "n_missing": rec.n_missing}}
        for name, c in cols.items():
            w.writerow({**base, "column": name, "value": c["mean"], "low": c["low"], "high": c["high"],
                        "n": c["n"], "n_missing": c["n_missing"]})
    return out.getvalue()
