"""Build the static site from result records (and, for oracle rows, the tasks' data).

``index.html`` lists the tasks, each with its model-quality table and links per
model; ``<task>/index.html`` shows every model of the task with its description above
its method table (:mod:`attrbench.site.taskpage`); ``<task>/<model>.html`` holds the
method table (mean [95% CI], best marked, n / n/a / INVALID reasons on hover, the
random (floor) and oracle (ceiling) reference rows last), the cost table of
``attrbench bench`` records, the model-quality table, a cost-versus-quality plot (SVG),
example attribution logos per method (SVG, from ``extra["examples"]`` of the records)
and the motifs TF-MoDISco discovered from each method's maps beside their best matches
(inline SVG, :mod:`attrbench.site.logos`); ``<task>/<model>.metrics.html`` is the
``metrics`` report of the (task, model): per column whether it applies, its truth
reliance, random and oracle rows, the best method's separation from random, rank
stability and verdict. Every page links the one stylesheet and script of the site root
(``site.css``, ``site.js``) and nothing but relative files.
"""

from __future__ import annotations

import html
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

from attrbench.core.examples import Examples, unpack_examples
from attrbench.reporting.plots import Track, cost_quality_plot, draw_tracks, focus_window
from attrbench.reporting.tables import BENCH_METRIC
from attrbench.reporting.validity import Oracle
from attrbench.running.results import Record
from attrbench.site.assets import CSS, JS
from attrbench.site.logos import CSS as MOTIF_CSS
from attrbench.site.logos import motif_section
from attrbench.site.tables import (
    COST,
    QUALITY,
    SiteCell,
    Table,
    latest,
    method_table,
    quality_table,
)
from attrbench.site.taskpage import task_page_body

__all__ = ["build_site", "main_metric", "metrics_page", "metrics_page_name", "STYLESHEET", "SCRIPT"]

#: The site root's stylesheet and script, linked by every page.
STYLESHEET, SCRIPT = "site.css", "site.js"


def _page(title: str, body: str, up: str = "") -> str:
    nav = f'<nav><a href="{up}index.html">all tasks</a></nav>' if up else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}'
        f'</title><link rel="stylesheet" href="{up}{STYLESHEET}"><script src="{up}{SCRIPT}"></script>'
        f"</head>\n<body>{nav}"
        f"<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def _td(cell: SiteCell) -> str:
    cls = " ".join(
        c
        for c in ("best" if cell.best else "", "tied" if cell.tied else "", cell.status)
        if c and c != "ok"
    )
    attrs = f' class="{cls}"' if cls else ""
    if cell.value is not None:
        attrs += f' data-v="{cell.value!r}"'
    if cell.title:
        attrs += f' title="{html.escape(cell.title)}"'
    return f"<td{attrs}>{html.escape(cell.text)}</td>"


def _tr(row: list[SiteCell]) -> str:
    """A row's opening tag: reference rows (random floor, oracle ceiling) carry a class."""
    return '<tr class="reference">' if row and row[0].status == "reference" else "<tr>"


def table_html(table: Table, table_id: str) -> str:
    """A sortable ``<table>`` of ``table`` with its footnotes."""
    dirs = table.directions or [None] * len(table.header)
    ths = "".join(
        f'<th data-dir="{"up" if d else "down" if d is False else ""}">{html.escape(h)}</th>'
        for h, d in zip(table.header, dirs, strict=True)
    )
    body = "\n".join(_tr(row) + "".join(map(_td, row)) + "</tr>" for row in table.rows)
    notes = "".join(f"<div>{html.escape(n)}</div>" for n in table.notes)
    return (
        f'<table class="sortable" id="{table_id}"><thead><tr>{ths}</tr></thead>'
        f'<tbody>\n{body}\n</tbody></table><div class="notes">{notes}</div>'
    )


def main_metric(records: list[Record]) -> str | None:
    """The metric with the most ``ok`` method rows (first in registry order on ties)."""
    counts: dict[str, int] = defaultdict(int)
    for rec in records:
        if rec.key.metric not in (COST, BENCH_METRIC) and rec.key.method != QUALITY:
            counts[rec.key.metric] += rec.status == "ok" and rec.value is not None
    best = max(counts.values(), default=0)
    return next((m for m, c in counts.items() if c == best), None) if best else None


def _cost_points(records: list[Record], metric: str) -> tuple[list[Any], bool | None]:
    by_method: dict[str, dict[str, Any]] = defaultdict(dict)
    for rec in records:
        if rec.status == "ok" and rec.value is not None and rec.key.metric in (COST, metric):
            by_method[rec.key.method][rec.key.metric] = rec
    points = [
        (m, d[COST].value, d[metric].value)
        for m, d in by_method.items()
        if COST in d and metric in d and d[COST].value > 0 and not math.isnan(d[metric].value)
    ]
    hib = next((d[metric].higher_is_better for d in by_method.values() if metric in d), None)
    return points, hib


def _examples(records: list[Record]) -> dict[str, Examples]:
    """Method -> unpacked examples, from its cost record (else any record that has them)."""
    found: dict[str, tuple[int, Any]] = {}
    for rec in records:
        packed = rec.extra.get("examples") if rec.status == "ok" else None
        rank = 0 if rec.key.metric == COST else 1
        if packed and (rec.key.method not in found or rank < found[rec.key.method][0]):
            found[rec.key.method] = (rank, packed)
    return {m: unpack_examples(p) for m, (_, p) in found.items()}


def _logo_files(records: list[Record], folder: Path) -> list[tuple[str, str]]:
    """(method, file name) of one SVG per method with its examples stacked."""
    out = []
    for method, ex in _examples(records).items():
        tracks = [
            Track(f"{ex.ids[i]}", ex.scores[i], ex.codes[i], ex.motifs[i]) for i in range(len(ex))
        ]
        window = focus_window(ex.scores[0], ex.codes[0], ex.motifs[0])
        name = f"logo_{_slug(method)}.svg"
        longest = max(ex.length(i) for i in range(len(ex)))
        fits = all(ex.length(i) >= window[1] for i in range(len(ex)))
        region = window if longest > window[1] - window[0] and fits else None
        draw_tracks(tracks, ex.letters, folder / name, title=method, region=region)
        out.append((method, name))
    return out


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


#: Columns of the cost table: (bench record column, header, higher is better).
COST_COLUMNS = (
    ("seqs_per_second", "seq/s", True),
    ("peak_mb", "peak MB", False),
    ("forward_per_seq", "forward/seq", False),
    ("backward_per_seq", "backward/seq", False),
    ("floor_ratio", "× floor", False),
)


def cost_table(records: list[Record]) -> Table:
    """Methods × devices as rows, the ``attrbench bench`` figures as columns."""
    rows = []
    for rec in sorted(records, key=lambda r: (r.key.method, r.device)):
        label = f"{rec.key.method} ({rec.device})"
        if rec.status != "ok":
            reason = SiteCell("n/a", None, False, f"{rec.status}: {rec.reason}", "not_applicable")
            rows.append([SiteCell(label, title=label)] + [reason] * len(COST_COLUMNS))
            continue
        cells = [SiteCell(label, title=label)]
        for name, _, _ in COST_COLUMNS:
            v = rec.columns.get(name, {}).get("mean")
            text = "" if v is None else (f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}")
            cells.append(
                SiteCell(
                    text,
                    v,
                    False,
                    f"n = {rec.key.n} sequences, batch "
                    f"{rec.key.metric_options.get('batch_size', '?')}",
                )
            )
        rows.append(cells)
    header = ["method (device)"] + [h for _, h, _ in COST_COLUMNS]
    return Table(header, rows, [None] + [d for *_, d in COST_COLUMNS])


#: Columns of the metrics view on the site: (header, row key of :func:`validity.metrics_view`).
METRICS_COLUMNS = (
    ("column", "metric"),
    ("applicable", "applicable"),
    ("why not", "reason"),
    ("truth reliance", "reliance"),
    ("random", "random"),
    ("oracle", "oracle"),
    ("best method", "best"),
    ("best, normalised", "best_normalised"),
    ("best - random (SE)", "separation_se"),
    ("Kendall tau", "tau"),
    ("n", "n"),
    ("verdict", "verdict"),
)


def _view_text(key: str, value: Any) -> str:
    """The text of one field of a metrics-view row."""
    if key == "applicable":
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.3f}"
    return "" if value in (None, 0) and key == "n" else str(value or "")


def metrics_section(task: str, model: str, recs: list[Record], oracle: Oracle | None = None) -> str:
    """The `metrics` view of one (task, model) (:func:`attrbench.reporting.validity.metrics_view`) as HTML:
    per column whether it applies and why not, its truth reliance, random and oracle rows (the
    oracle needs ``oracle``, e.g. :class:`~attrbench.reporting.validity.TaskOracle`), the best method's
    normalised score and paired distance from random, rank stability and verdict."""
    from attrbench.reporting import validity

    rows = validity.metrics_view(recs, task, model, oracle)
    if not rows:
        return ""
    body = "".join(
        f'<tr class="{"informative" if r["informative"] else "uninformative"}">'
        + "".join(f"<td>{html.escape(_view_text(k, r[k]))}</td>" for _, k in METRICS_COLUMNS)
        + "</tr>"
        for r in rows
    )
    header = "".join(f"<th>{html.escape(h)}</th>" for h, _ in METRICS_COLUMNS)
    return (
        "<h2>Metric columns: what each rests on (uninformative columns never count in a "
        f'summary)</h2>\n<table id="metrics"><thead><tr>{header}</tr></thead><tbody>{body}'
        "</tbody></table>"
    )


def _reliance_text(recs: list[Record]) -> str:
    """The truth reliance of a (task, model) in words (empty without its record)."""
    from attrbench.reporting import validity

    rec = next((r for r in recs if r.key.metric == validity.RELIANCE_METRIC), None)
    rel = validity.reliance_from_record(rec)
    if rel is None:
        return "No truth-reliance record: ground-truth columns of these records are not gated."
    gate = validity.reliance_gate(rel)
    share = f"{rel.share:.0%}" if math.isfinite(rel.share) else "?"
    return (
        f"Truth reliance: {rel} (log-probability of the truth's class, truth positions "
        f"resampled minus as many random positions resampled, 95% bootstrap interval; n={rel.n} "
        f"truth-carrying sequences, {share} predicted into the truth's class). "
        + (f"Ground-truth columns are n/a: {gate}." if gate else "Ground-truth columns apply.")
    )


def metrics_page_name(model: str) -> str:
    """The file name of a model's metrics page, beside its model page in the task folder."""
    return f"{_slug(model)}.metrics.html"


def metrics_page(task: str, model: str, recs: list[Record], oracle: Oracle | None = None) -> str:
    """The site page of ``attrbench report --task T --model M metrics``: one row per column."""
    from attrbench.reporting import validity

    rules = (
        f"A ground-truth column applies when the lower end of the model's truth-reliance interval "
        f"is above {validity.RELIANCE_LOW:g}. A column is informative when its best method sits at "
        f"least {validity.SEPARATION_SE:g} standard errors (paired, per sequence) above the random "
        f"control, the random control neither leads nor ties the best method, not every method is "
        f"at the floor or ceiling, and Kendall's tau between the method rankings on two disjoint "
        f"random halves of the sequences (median over {validity.SPLITS} seeded splits) is at least "
        f"{validity.TAU_MIN:g}. best, normalised: (best - random) / (oracle - random). "
        "Sanity checks (randomization, completeness) are PASS/FAIL and never ranked."
    )
    section = metrics_section(task, model, recs, oracle)
    parts = [
        f'<p class="about">{html.escape(_reliance_text(recs))}</p>',
        section or '<p class="notes">No metric records.</p>',
        f'<p class="notes">{html.escape(rules)}</p>',
        f'<p><a href="{_slug(model)}.html">the {html.escape(model)} tables</a></p>',
    ]
    return _page(f"{task} / {model}: metric columns", "\n".join(parts), up="../")


def model_description(task: str, model: str) -> str:
    """The registered zoo description of ``task``/``model`` (empty when either is not registered)."""
    from attrbench.core.plugin import TASKS

    try:
        return TASKS.get(task).models[model].description
    except Exception:  # records of a task or model this installation does not have
        return ""


def _model_page(
    task: str,
    model: str,
    recs: list[Record],
    quality: list[Record],
    folder: Path,
    oracle: Oracle | None = None,
) -> str:
    bench = [r for r in recs if r.key.metric == BENCH_METRIC]
    scored = [r for r in recs if r.key.metric != BENCH_METRIC]
    n = max((r.key.n for r in scored), default=0)
    about = model_description(task, model)
    parts = [f'<p class="about">{html.escape(about)}</p>'] if about else []
    if scored:
        parts += [
            f"<h2>Methods (n={n}, mean [95% CI]; hover a cell for n or the reason)</h2>",
            table_html(method_table(scored, oracle), "methods"),
            f'<p><a href="{metrics_page_name(model)}">Metric columns: truth reliance, random '
            "and oracle rows, separation, rank stability and verdict of each column</a></p>",
        ]
    if bench:
        parts += ["<h2>Cost (attrbench bench)</h2>", table_html(cost_table(bench), "cost")]
    if quality:
        parts += ["<h2>Model quality</h2>", table_html(quality_table(quality), "quality")]
    metric = main_metric(scored)
    points, hib = _cost_points(scored, metric) if metric else ([], None)
    if points and metric:
        name = f"cost_quality_{_slug(model)}.svg"
        cost_quality_plot(points, metric, hib, folder / name, f"{task} / {model}: cost vs {metric}")
        parts += [
            f"<h2>Cost versus {html.escape(metric)}</h2>",
            f'<div class="plot"><a href="{name}"><img src="{name}" alt="cost versus {metric}"></a></div>',
        ]
    motifs = motif_section(scored)
    if motifs:
        parts.append(motifs)
    logos = _logo_files(scored + bench, folder / _slug(model))
    if logos:
        parts.append(
            "<h2>Example attributions (letter height = position score; shaded: ground truth)</h2>"
        )
        parts += [
            f'<div class="logos"><h3>{html.escape(m)}</h3><img src="{_slug(model)}/{f}" '
            f'alt="{html.escape(m)} logos"></div>'
            for m, f in logos
        ]
    else:
        parts.append('<p class="notes">No example attributions in these records.</p>')
    return _page(f"{task} / {model}", "\n".join(parts), up="../")


def _task_page(task: str, by_model: dict[str, list[Record]], folder: Path) -> Path:
    """Write ``folder/index.html``: every model of ``task`` with its description and table."""
    scored = {m: [r for r in recs if r.key.metric != BENCH_METRIC] for m, recs in by_model.items()}
    body = task_page_body(task, scored, model_description, table_html, _slug)
    page = folder / "index.html"
    page.write_text(_page(f"{task}: every model", body, up="../"))
    return page


def build_site(records: list[Record], out: Path | str, oracle: Oracle | None = None) -> list[Path]:
    """Write the site for ``records`` under ``out``; returns the pages written (index first).

    Parameters
    ----------
    records : list of Record
        Any records (e.g. ``ResultStore(dir).records()``); the newest of each configuration is used.
    out : Path
        The site folder (created); open ``out/index.html`` in a browser.
    oracle : callable, optional
        The oracle (ceiling) rows of ground-truth columns, e.g.
        :class:`attrbench.reporting.validity.TaskOracle` (it needs the tasks' data); without
        it the tables and metrics pages have no oracle values.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / STYLESHEET).write_text(CSS + MOTIF_CSS)
    (out / SCRIPT).write_text(JS)
    by_task: dict[str, list[Record]] = defaultdict(list)
    for rec in latest(records):
        by_task[rec.key.task].append(rec)
    pages, index = [], []
    for task, recs in sorted(by_task.items()):
        quality = [r for r in recs if r.key.method == QUALITY]
        by_model: dict[str, list[Record]] = defaultdict(list)
        for rec in recs:
            if rec.key.method != QUALITY:
                by_model[rec.key.model].append(rec)
        links = []
        for model, mrecs in by_model.items():
            folder = out / _slug(task)
            folder.mkdir(parents=True, exist_ok=True)
            page = folder / f"{_slug(model)}.html"
            page.write_text(_model_page(task, model, mrecs, quality, folder, oracle))
            checks = folder / metrics_page_name(model)
            checks.write_text(metrics_page(task, model, mrecs + quality, oracle))
            pages += [page, checks]
            links.append(
                f'<li><a href="{_slug(task)}/{_slug(model)}.html">{html.escape(model)}</a> '
                f'(<a href="{_slug(task)}/{metrics_page_name(model)}">metric columns</a>)</li>'
            )
        if by_model:
            pages.append(_task_page(task, by_model, out / _slug(task)))
            links.insert(
                0, f'<li><a href="{_slug(task)}/index.html">every model on one page</a></li>'
            )
        index += [f"<h2>{html.escape(task)}</h2>", f"<ul>{''.join(links)}</ul>"]
        if quality:
            index.append(table_html(quality_table(quality), f"quality-{_slug(task)}"))
    (out / "index.html").write_text(_page("attrbench leaderboard", "\n".join(index)))
    return [out / "index.html", *pages]
