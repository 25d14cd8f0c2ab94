"""Sequence logos as inline SVG, and the site's section of discovered motifs.

:func:`logo_svg` draws a (4, w) matrix of letter heights (positive above the
baseline, negative below) with one filled glyph per letter: A, C, G and T are
drawn as paths in a unit box and scaled to their height, so a letter's height is
exactly its value and the page needs no font. :func:`motif_section` reads the
``motif_discovery`` records of one (task, model) (``extra["motif_discovery"]``,
:func:`attrbench.metrics.motif_discovery.discovery_details`) and shows, per
method, every discovered pattern (its contribution-weight and letter logos) beside
the logos of its best task motif and best JASPAR matrix with their q-values.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np

from attrbench.running.results import Record

__all__ = ["CSS", "GLYPHS", "COLORS", "information", "logo_svg", "pattern_row", "motif_section"]

#: Letter outlines in a unit box (x right, y down), filled with the even-odd rule.
GLYPHS = {
    "A": "M0 1L0.4 0H0.6L1 1H0.79L0.69 0.72H0.31L0.21 1Z M0.375 0.56H0.625L0.5 0.2Z",
    "C": "M0.883 0.179A0.5 0.5 0 1 0 0.883 0.821L0.745 0.706A0.32 0.32 0 1 1 0.745 0.294Z",
    "G": "M0.883 0.179A0.5 0.5 0 1 0 1 0.5H0.55V0.62H0.797A0.32 0.32 0 1 1 0.745 0.294Z",
    "T": "M0 0H1V0.16H0.59V1H0.41V0.16H0V0Z",
}
#: Style of the motif tables, appended to the site's stylesheet.
CSS = """
table.motifs td, table.motifs th { vertical-align: bottom; text-align: center; }
table.motifs td:first-child { text-align: left; vertical-align: middle; }
table.motifs td.match { background: #e6f4ea; }
table.motifs .q { font-size: 12px; color: #555; }
.motif-method h3 { font-size: 1em; margin-bottom: .2em; }
svg.logo { display: block; margin: 0 auto; }
"""
#: The usual nucleotide colors.
COLORS = {"A": "#109648", "C": "#255c99", "G": "#f7b32b", "T": "#d62839"}


def information(ppm: np.ndarray) -> np.ndarray:
    """Letter heights (4, w) of an information-content logo: ``p * (2 - H)`` bits per column.

    Parameters
    ----------
    ppm : array, shape=(4, w)
        Letter frequencies per column (normalised here; all-zero columns give zero height).
    """
    m = np.clip(np.asarray(ppm, dtype=np.float64), 0, None)
    total = m.sum(0, keepdims=True)
    p = np.divide(m, total, out=np.zeros_like(m), where=total > 0)
    h = -(p * np.log2(np.where(p > 0, p, 1))).sum(0)
    heights: np.ndarray = p * np.where(total[0] > 0, 2.0 - h, 0.0)
    return heights


def _glyphs(column: np.ndarray, x: float, width: float, base: float, scale: float) -> list[str]:
    """The glyphs of one column: positive letters stacked up from ``base``, negative down."""
    out = []
    for sign in (1, -1):
        y = base
        for i in sorted(range(4), key=lambda i: sign * column[i]):
            v = sign * float(column[i])
            if v <= 0:
                continue
            h = v * scale
            if h < 0.2:
                y -= sign * h
                continue
            letter = "ACGT"[i]
            top = y - h if sign > 0 else y
            out.append(
                f'<path d="{GLYPHS[letter]}" fill="{COLORS[letter]}" fill-rule="evenodd" '
                f'transform="translate({x:.2f} {top:.2f}) scale({width:.2f} {h:.2f})"/>'
            )
            y -= sign * h
    return out


def logo_svg(
    heights: np.ndarray,
    title: str = "",
    column_width: float = 14.0,
    height: float = 48.0,
    limit: float | None = None,
    shift: int = 0,
    columns: int | None = None,
) -> str:
    """An inline ``<svg>`` logo of ``heights`` (4, w): letter height = value, rows A, C, G, T.

    Parameters
    ----------
    heights : array, shape=(4, w)
        Positive values stack above the baseline, negative ones below it.
    title : str
        The logo's ``<title>`` (shown on hover, read by screen readers).
    limit : float, optional
        The value of the full drawing height (default: the largest column sum), so
        logos drawn with the same ``limit`` share a scale.
    shift, columns : int
        Draw column ``i`` at slot ``i + shift`` of ``columns`` slots (default ``w``), to
        align two logos.
    """
    m = np.asarray(heights, dtype=np.float64)
    up, down = np.clip(m, 0, None).sum(0), np.clip(-m, 0, None).sum(0)
    top = max(float(up.max(initial=0.0)), 1e-12)
    bottom = float(down.max(initial=0.0))
    span = limit if limit is not None else top + bottom
    scale = height / max(span, 1e-12)
    base = (span if limit is not None and bottom == 0 else top) * scale
    slots = columns if columns is not None else m.shape[1]
    total = max(base + bottom * scale, 1.0)
    body = [
        g
        for i in range(m.shape[1])
        for g in _glyphs(m[:, i], (i + shift) * column_width + 1, column_width - 2, base, scale)
    ]
    axis = f'<line x1="0" x2="{slots * column_width}" y1="{base:.2f}" y2="{base:.2f}" stroke="#999" stroke-width="0.5"/>'
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="logo" width="{slots * column_width:.0f}" '
        f'height="{math.ceil(total)}" viewBox="0 0 {slots * column_width:.0f} {math.ceil(total)}" '
        f'role="img"><title>{html.escape(title)}</title>{axis}{"".join(body)}</svg>'
    )


def _oriented(target: dict[str, Any]) -> np.ndarray:
    """A hit's target matrix as it faced the pattern (reverse complement on strand 1)."""
    ppm = np.asarray(target["ppm"], dtype=np.float64)
    return ppm[::-1, ::-1] if target.get("strand") == 1 else ppm


def _hit_cell(hit: dict[str, Any] | None, pattern_width: int) -> str:
    """A table cell with the best match's logo aligned to the pattern, its name and q-value."""
    if hit is None:
        return "<td>-</td>"
    ppm = _oriented(hit)
    offset = int(hit.get("offset", 0))
    # pattern column i faces target column i + offset: draw the target from slot -offset
    lo = min(0, -offset)
    slots = max(pattern_width, ppm.shape[1] - offset) - lo
    strand = " (reverse complement)" if hit.get("strand") == 1 else ""
    logo = logo_svg(
        information(ppm), f"{hit['name']}{strand}", limit=2.0, shift=-offset - lo, columns=slots
    )
    q = hit["q"]
    mark = ' class="match"' if q < 0.05 else ""
    return (
        f"<td{mark}>{logo}<div>{html.escape(hit['name'])}{strand}</div>"
        f'<div class="q">q = {q:.2g}</div></td>'
    )


def pattern_row(index: int, pattern: dict[str, Any]) -> str:
    """One ``<tr>``: the pattern's CWM and letter logos, its best task motif and JASPAR match."""
    cwm = np.asarray(pattern["cwm"], dtype=np.float64)
    ppm = np.asarray(pattern["ppm"], dtype=np.float64)
    sign = "+" if pattern["sign"] > 0 else "−"
    label = f"pattern {index} ({sign}, {pattern['seqlets']} seqlets)"
    matched = ", ".join(pattern.get("matched", [])) or "none"
    return (
        f"<tr><td>{html.escape(label)}<div>matches: {html.escape(matched)}</div></td>"
        f"<td>{logo_svg(cwm, label + ': contribution weights')}</td>"
        f"<td>{logo_svg(information(ppm), label + ': letters (bits)', limit=2.0)}</td>"
        f"{_hit_cell(pattern.get('known'), ppm.shape[1])}"
        f"{_hit_cell(pattern.get('jaspar'), ppm.shape[1])}</tr>"
    )


_HEADER = (
    "<tr><th>pattern</th><th>contribution weights</th><th>letters (bits)</th>"
    "<th>best task motif (q)</th><th>best JASPAR match (q)</th></tr>"
)


def _run_table(run: dict[str, Any]) -> str:
    patterns = run.get("patterns", [])
    if not patterns:
        return f'<p class="notes">No patterns ({run.get("seqlets", 0)} seqlets).</p>'
    rows = "".join(pattern_row(i, p) for i, p in enumerate(patterns))
    return f'<table class="motifs"><thead>{_HEADER}</thead><tbody>{rows}</tbody></table>'


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _method_block(rec: Record) -> str:
    d = rec.extra["motif_discovery"]
    hyp, proj = d.get("hypothetical", {}), d.get("projected", {})
    recall = rec.columns.get("recall", {}).get("mean", rec.value)
    found = (
        f"{_count(len(hyp.get('patterns', [])), 'pattern')} from "
        f"{_count(hyp.get('seqlets', 0), 'seqlet')} (hypothetical map)"
    )
    if recall is not None and not math.isnan(recall):
        found = f"recall {recall:.2f}, {found}"
    return (
        f'<div class="motif-method"><h3>{html.escape(rec.key.method)}: '
        f"{html.escape(found)}</h3>{_run_table(hyp)}"
        f"<details><summary>projected map: {_count(len(proj.get('patterns', [])), 'pattern')} "
        f"from {_count(proj.get('seqlets', 0), 'seqlet')}</summary>{_run_table(proj)}</details></div>"
    )


def motif_section(records: list[Record]) -> str:
    """The discovered-motifs section of one (task, model) page ("" without such records).

    Parameters
    ----------
    records : list of Record
        The page's records (newest per configuration); those of ``motif_discovery``
        with patterns in ``extra`` are drawn, one block per method in record order.
    """
    found = [
        r
        for r in records
        if r.key.metric == "motif_discovery" and r.status == "ok" and "motif_discovery" in r.extra
    ]
    if not found:
        return ""
    release = found[0].extra["motif_discovery"].get("jaspar_release", "JASPAR")
    head = (
        "<h2>Discovered motifs (TF-MoDISco on each method's maps; TOMTOM against the task's "
        f"motifs and {html.escape(release)}; best matches aligned, green: q &lt; 0.05)</h2>"
    )
    return head + "\n".join(_method_block(r) for r in found)
