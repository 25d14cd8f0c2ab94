"""Render result records as leaderboard tables (markdown, html, latex, csv).

One table per (task, model): methods as rows, metrics as columns, each cell the
mean with its 95% bootstrap interval; the best cell of each column (by the
metric's direction) is in bold and the cells statistically tied with it carry
``≈``; not-applicable, failed, missing and INVALID cells carry a footnote mark,
one footnote per distinct reason. A model-quality table per task lists accuracy
and F1 of every model, and a summary ranks methods across tasks and models.
``csv`` is long form: one row per record.

The tables themselves are data (:func:`attrbench.reporting.tables.tables`); this module
only renders them. ``width`` narrows a markdown rendering for a terminal:
intervals as ``mean±half-width`` and, where still too wide, the columns split
into several tables that repeat the method column.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import textwrap
from typing import Any

from tabulate import tabulate

from attrbench.reporting.tables import Cell, Table, latest, quality_tables, summary, tables
from attrbench.reporting.validity import Oracle
from attrbench.running.results import Record

__all__ = ["render", "render_table", "cell_text", "html_page", "FORMATS", "TERMINAL_WIDTH"]

FORMATS = ("markdown", "html", "latex", "csv")
#: Width a terminal rendering fits by default (``attrbench leaderboard`` without ``--wide``).
TERMINAL_WIDTH = 160
_TABLEFMT = {"markdown": "github", "latex": "latex_raw"}
_LEGEND = (
    "bold: best of its column; ≈: tied with the best (the 95% paired-bootstrap interval "
    "of the difference on the sequences both scored contains 0)"
)
_REFERENCE_LEGEND = (
    "random (floor) and oracle (ceiling) are reference rows, not methods: never bold, never "
    "ranked. random: the random control (uniform position scores); oracle: a map that is 1 on "
    "the ground-truth positions and 0 elsewhere (ties broken at random, seed 0, one occurrence of "
    "each motif kind first), scored on the sequences the random control scored; ≈ on the random "
    "row: the best method is tied with it"
)
_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:0.5em 0 0.5em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.5em;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0}td.best{font-weight:bold;background:#e6f4e6}
td.tied{background:#f3f9f3}td.na,td.missing,td.failed{color:#888}
tr.reference td{font-style:italic;color:#555;background:#fafafa}
p.notes{font-size:0.85em;color:#444}"""


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "nan"
    return f"{x:.3g}" if abs(x) < 1e-3 and x != 0 else f"{x:.3f}"


def format_value(x: float | None, signed: bool = False) -> str:
    """A value as the tables write it (3 decimals; ``signed``: with its sign, for differences)."""
    text = _fmt(x)
    return f"+{text}" if signed and x is not None and x >= 0 and text != "nan" else text


def interval_text(mean: float, low: float | None, high: float | None, signed: bool = False) -> str:
    """``mean [low, high]`` as in a table cell (just ``mean`` without an interval)."""
    if low is None or high is None:
        return format_value(mean, signed)
    return (
        f"{format_value(mean, signed)} [{format_value(low, signed)}, {format_value(high, signed)}]"
    )


def record_text(rec: Record, column: str | None = None, notes: dict[str, int] | None = None) -> str:
    """The table text of one record (or of one of its columns), for reports built on records.

    ``notes`` collects footnotes (reason -> number) that :func:`notes_text` renders.
    """
    from attrbench.reporting.tables import _cell, _Notes

    collected = _Notes()
    cell = _cell(rec, collected, column)
    if notes is not None:
        marks = {n.mark: notes.setdefault(n.text, len(notes) + 1) for n in collected.notes()}
        cell.notes = [marks[m] for m in cell.notes]
    return cell_text(cell)


def notes_text(notes: dict[str, int], fmt: str = "markdown") -> str:
    """The footnotes collected by :func:`record_text`, one line each."""
    return _lines([f"[{k}] {reason}" for reason, k in notes.items()], fmt)


def _marks(cell: Cell) -> str:
    return "".join(f" [{m}]" for m in cell.notes)


def cell_text(cell: Cell, narrow: bool = False, cost: bool = False) -> str:
    """The text of a cell without best/tied styling.

    Parameters
    ----------
    narrow : bool
        ``mean±h`` (h the larger half of the interval) instead of ``mean [low, high]``.
    cost : bool
        A seconds-per-sequence cell (scientific notation, no interval).
    """
    if cell.kind != "value":
        word = {"n/a": "n/a", "failed": "failed", "missing": "missing"}[cell.kind]
        return word + _marks(cell) if cell.notes or cell.kind != "missing" else "-"
    assert cell.mean is not None, "a value cell has a mean"
    if cost:
        return f"{cell.mean:.2e}"
    if cell.low is None or cell.high is None:
        text = (
            _fmt(cell.mean)
            if cell.n is None or cell.record is not None
            else f"{cell.mean:.2f} ({cell.n})"
        )
    elif narrow:
        half = max(cell.high - cell.mean, cell.mean - cell.low)
        text = f"{_fmt(cell.mean)}±{half:#.2g}"
    else:
        text = f"{_fmt(cell.mean)} [{_fmt(cell.low)}, {_fmt(cell.high)}]"
    if cell.n_missing or cell.show_n:
        text += f" (n={cell.n})"
    if cell.invalid:
        text += " INVALID"
    if cell.check:
        text += f" {cell.check}"
    return text + _marks(cell)


def _style(cell: Cell, text: str, fmt: str) -> str:
    if fmt == "html":
        text = html.escape(text)
    if cell.tied:
        text = "≈" + text
    if not cell.best:
        return text
    return {"markdown": f"**{text}**", "html": f"<b>{text}</b>", "latex": f"\\textbf{{{text}}}"}[
        fmt
    ]


def _grid(table: Table, fmt: str, narrow: bool) -> tuple[list[str], list[list[str]]]:
    header = [table.row_header] + [c.title for c in table.columns]
    body = [
        [row.label + "".join(f" [{m}]" for m in row.notes)]
        + [
            _style(c, cell_text(c, narrow, col.metric == "seconds_per_seq"), fmt)
            for c, col in zip(row.cells, table.columns, strict=True)
        ]
        for row in table.rows
    ]
    if fmt == "html":
        body = [[html.escape(r[0]), *r[1:]] for r in body]
    return header, body


def _tabulate(header: list[str], body: list[list[str]], fmt: str) -> str:
    if fmt == "latex":
        header = [
            h.replace("↑", "$\\uparrow$").replace("↓", "$\\downarrow$").replace("_", "\\_")
            for h in header
        ]
        body = [
            [c.replace("_", "\\_").replace("≈", "$\\approx$").replace("±", "$\\pm$") for c in row]
            for row in body
        ]
    return tabulate(body, headers=header, tablefmt=_TABLEFMT[fmt], disable_numparse=True)


def _fit(header: list[str], body: list[list[str]], width: int) -> str:
    """Markdown tables of at most ``width`` characters, splitting columns where needed."""
    whole = _tabulate(header, body, "markdown")
    if max(map(len, whole.splitlines())) <= width:
        return whole
    parts, start = [], 1
    while start < len(header):
        stop = start + 1
        while stop < len(header):
            trial = _tabulate(
                [header[0], *header[start : stop + 1]],
                [[r[0], *r[start : stop + 1]] for r in body],
                "markdown",
            )
            if max(map(len, trial.splitlines())) > width:
                break
            stop += 1
        parts.append(
            _tabulate(
                [header[0], *header[start:stop]], [[r[0], *r[start:stop]] for r in body], "markdown"
            )
        )
        start = stop
    return "\n\n".join(parts)


def render_table(table: Table, fmt: str = "markdown", width: int | None = None) -> str:
    """One table with its heading, the lines under it and its footnotes.

    Parameters
    ----------
    fmt : str
        ``markdown``, ``html`` or ``latex``.
    width : int, optional
        Markdown only: narrow intervals and split columns to fit this many characters.
    """
    header, body = _grid(table, fmt, narrow=width is not None)
    if fmt == "html":
        grid = _html_grid(table, header, body)
    elif width and fmt == "markdown":
        grid = _fit(header, body, width)
    else:
        grid = _tabulate(header, body, fmt)
    lines = [f"left out: {h} ({why})" for h, why in table.omitted_columns]
    lines += [f"not shown: {m}: applies to no column ({why})" for m, why in table.omitted_methods]
    if any(c.best or c.tied for r in table.rows for c in r.cells) and table.n:
        lines.append(_LEGEND)
    if any(not r.is_method for r in table.rows):
        lines.append(_REFERENCE_LEGEND)
    if any(c.normalised for c in table.columns):
        lines.append(
            "(normalised): (value - random) / (oracle - random): 0 at the random row, "
            "1 at the oracle row"
        )
    lines += [f"[{n.mark}] {n.text}" for n in table.notes]
    if width:
        lines = [textwrap.fill(line, width - 2, subsequent_indent="  ") for line in lines]
    return "\n\n".join(p for p in [_heading(table.title, fmt), grid, _lines(lines, fmt)] if p)


def _html_grid(table: Table, header: list[str], body: list[list[str]]) -> str:
    """An HTML table whose cells carry a class (best, tied, na, failed, missing) and their reason as title."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = []
    for row, texts in zip(table.rows, body, strict=True):
        tds = [f"<td>{texts[0]}</td>"]
        for cell, text in zip(row.cells, texts[1:], strict=True):
            kind = (
                cell.kind.replace("/", "")
                if cell.kind != "value"
                else ("best" if cell.best else "tied" if cell.tied else "")
            )
            attrs = (f' class="{kind}"' if kind else "") + (
                f' title="{html.escape(cell.reason, quote=True)}"' if cell.reason else ""
            )
            tds.append(f"<td{attrs}>{text}</td>")
        tr = f'<tr class="reference {row.reference}">' if row.reference else "<tr>"
        rows.append(tr + "".join(tds) + "</tr>")
    return (
        f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody>\n</table>"
    )


def _heading(text: str, fmt: str) -> str:
    return {
        "markdown": f"### {text}",
        "html": f"<h3>{html.escape(text)}</h3>",
        "latex": f"% {text}",
    }[fmt]


def _lines(lines: list[str], fmt: str) -> str:
    if not lines:
        return ""
    if fmt == "html":
        return '<p class="notes">' + "<br>\n".join(map(html.escape, lines)) + "</p>"
    if fmt == "latex":
        return "\n".join(f"% {line}" for line in lines)
    return "\n".join(f"- {line}" for line in lines)


def html_page(body: str, title: str = "attrbench leaderboard") -> str:
    """A complete standalone HTML page (doctype, charset, inline CSS, no external resource)."""
    return (
        f'<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n"
        f"<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def render(
    records: list[Record],
    fmt: str = "markdown",
    detail: bool = False,
    width: int | None = None,
    oracle: Oracle | None = None,
    normalised: bool = False,
) -> str:
    """Render ``records`` as tables in ``fmt`` (one of :data:`FORMATS`).

    Parameters
    ----------
    detail : bool
        Show every column of multi-column metrics (e.g. inclusion KL per fraction).
    width : int, optional
        Fit markdown tables to this many characters (see :func:`render_table`);
        None: the full tables, as files keep them.
    oracle : callable, optional
        The ceiling rows of ground-truth columns (e.g.
        :class:`attrbench.reporting.validity.TaskOracle`); see :func:`attrbench.reporting.tables.method_table`.
        In csv: one ``(oracle)`` row per ground-truth column.
    normalised : bool
        Ground-truth columns as ``(value - random) / (oracle - random)`` (needs ``oracle``).
        The csv has a ``normalised`` column either way (empty where unknown).

    Returns
    -------
    text : str
        ``html`` is a complete standalone page.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        return _csv(latest(records), _references(records, oracle))
    quality = {t.task: t for t in quality_tables(records)}
    parts, done = [], set()
    for table in tables(records, detail, oracle=oracle, normalised=normalised):
        if table.task not in done and table.task in quality:
            parts.append(render_table(quality[table.task], fmt, width))
        done.add(table.task)
        parts.append(render_table(table, fmt, width))
    parts += [render_table(q, fmt, width) for t, q in quality.items() if t not in done]
    ranked = summary(records, oracle)
    if ranked.rows:
        parts.append(render_table(ranked, fmt, width))
    text = "\n\n".join(parts) + "\n"
    return html_page(text) if fmt == "html" else text


#: (task, model, metric) -> (the random row's mean, the oracle row's cell).
References = dict[tuple[str, str, str], tuple[float, Cell]]


def _references(records: list[Record], oracle: Oracle | None) -> References:
    """(task, model, metric) -> (the random row's mean, the oracle row's cell) of every main
    ground-truth column that has both (none without ``oracle``)."""
    if oracle is None:
        return {}
    out: References = {}
    for table in tables(records, oracle=oracle):
        floor = next((r for r in table.rows if r.reference == "floor"), None)
        ceiling = next((r for r in table.rows if r.reference == "ceiling"), None)
        if floor is None or ceiling is None:
            continue
        for j, col in enumerate(table.columns):
            random = floor.cells[j].mean if floor.cells[j].has_value else None
            if col.sub is None and random is not None and ceiling.cells[j].has_value:
                out[(table.task, table.model, col.metric)] = (random, ceiling.cells[j])
    return out


def _main_column(metric: str, cols: dict[str, Any]) -> str:
    """The name of a record's main column among ``cols`` (its registered first column)."""
    from attrbench.reporting.validity import _main_column as registered

    name = registered(metric)
    return name if name in cols else next(iter(cols))


def _csv(records: list[Record], references: References | None = None) -> str:
    """Long form: one row per record column, ``normalised`` where the column has a random and an
    oracle row, and one ``(oracle)`` row per such column."""
    from attrbench.reporting.tables import ORACLE_METHOD
    from attrbench.reporting.validity import normalised

    references = references or {}
    out = io.StringIO()
    fields = [
        "task",
        "task_version",
        "model",
        "method",
        "method_options",
        "metric",
        "column",
        "status",
        "value",
        "low",
        "high",
        "n",
        "n_missing",
        "higher_is_better",
        "reason",
        "seed",
        "device",
        "checkpoint_hash",
        "data_hash",
        "git_commit",
        "date",
        "normalised",
    ]
    w = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    oracle_rows = {}
    for rec in sorted(records, key=lambda r: (r.key.task, r.key.model, r.key.method, r.key.metric)):
        k = rec.key
        base = {
            "task": k.task,
            "task_version": k.task_version,
            "model": k.model,
            "method": k.method,
            "method_options": json.dumps(k.method_options, sort_keys=True),
            "metric": k.metric,
            "status": rec.status,
            "higher_is_better": rec.higher_is_better,
            "reason": rec.reason,
            "seed": k.seed,
            "device": rec.device,
            "checkpoint_hash": k.checkpoint_hash,
            "data_hash": k.data_hash,
            "git_commit": rec.git_commit,
            "date": rec.date,
        }
        cols = rec.columns or {
            "": {
                "mean": rec.value,
                "low": rec.low,
                "high": rec.high,
                "n": rec.n_scored,
                "n_missing": rec.n_missing,
            }
        }
        ref = references.get((k.task, k.model, k.metric))
        main = _main_column(k.metric, cols)
        for name, c in cols.items():
            norm: float | str = ""
            oracle_mean = ref[1].mean if ref is not None else None  # (it has a value)
            if (
                ref is not None
                and oracle_mean is not None
                and name == main
                and c["mean"] is not None
            ):
                norm = normalised(c["mean"], ref[0], oracle_mean)
            w.writerow(
                {
                    **base,
                    "column": name,
                    "value": c["mean"],
                    "low": c["low"],
                    "high": c["high"],
                    "n": c["n"],
                    "n_missing": c["n_missing"],
                    "normalised": norm,
                }
            )
        if ref is not None and rec.key.method == "random":
            oracle_rows[(k.task, k.model, k.metric)] = (base, main, ref[1])
    for base, main, cell in oracle_rows.values():
        w.writerow(
            {
                **base,
                "method": ORACLE_METHOD,
                "method_options": "{}",
                "column": main,
                "status": "ok",
                "value": cell.mean,
                "low": cell.low,
                "high": cell.high,
                "n": cell.n,
                "n_missing": cell.n_missing,
                "reason": "oracle map: 1 on ground-truth positions, ties broken at random (seed 0)",
                "normalised": 1.0,
            }
        )
    return out.getvalue()
