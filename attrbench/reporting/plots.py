"""Figures of attributions: stacked sequence logos, heatmaps, cost-versus-quality.

One track is one sequence's position scores under one method. Logos draw each
real position's letter with height equal to its score (negative below the
axis, logomaker); a heatmap draws the same scores as one colored row per track,
for sequences too long for letters. Ground-truth motifs are shaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from attrbench.core.data import Motif

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["Track", "draw_tracks", "focus_window", "cost_quality_plot", "LOGO_MAX"]

#: Windows longer than this are drawn as a heatmap unless a logo is asked for.
LOGO_MAX = 150
_LOGO_COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839", "U": "#D62839"}
_MOTIF_COLOR = "#ffd54f"


@dataclass
class Track:
    """One row of a figure.

    Parameters
    ----------
    label : str
    scores : np.ndarray, shape=(L,)
        Position scores.
    codes : np.ndarray, shape=(L,), int
        Letter codes, -1 on padding.
    motifs : list of Motif
    note : str
        Drawn instead of the scores (e.g. why a method cannot explain the model).
    letter_scores : np.ndarray, shape=(A, L), optional
        A score for every letter at every position (hypothetical contributions):
        drawn as a full logo (positive letters stacked up, negative down) or as
        one heatmap row per letter, instead of ``scores``.
    """

    label: str
    scores: np.ndarray
    codes: np.ndarray
    motifs: list[Motif] = field(default_factory=list)
    note: str = ""
    letter_scores: np.ndarray | None = None


def _colors(letters: str) -> dict[str, str]:
    """A color per letter: the usual logo colors of A, C, G, T and U, else a qualitative colormap."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if set(letters) <= set(_LOGO_COLORS):
        return {c: _LOGO_COLORS[c] for c in letters}
    cmap = colormaps["tab20"]
    return {c: to_hex(cmap(i % 20)) for i, c in enumerate(letters)}


def focus_window(
    scores: np.ndarray, codes: np.ndarray, motifs: list[Motif], width: int = 60
) -> tuple[int, int]:
    """A ``width``-position window ``(start, end)`` around the first motif, else the top score."""
    length = int((codes >= 0).sum())
    if length <= width:
        return 0, length
    centre = (
        (motifs[0].start + motifs[0].end) // 2 if motifs else int(np.abs(scores[:length]).argmax())
    )
    start = min(max(0, centre - width // 2), length - width)
    return start, start + width


def _logo(ax: Axes, track: Track, letters: str, start: int, end: int) -> None:
    """One logomaker glyph per real position (height = its score), none for zero scores.

    Drawing only the sequence's own letter (not a full position x letter matrix)
    keeps a logo four to twenty times cheaper than ``logomaker.Logo``.
    """
    import logomaker

    colors = _colors(letters)
    codes, scores = track.codes[start:end], track.scores[start:end]
    for p in np.flatnonzero((codes >= 0) & (scores != 0)):
        s = float(scores[p])
        logomaker.Glyph(
            start + p,
            letters[codes[p]],
            min(0.0, s),
            max(0.0, s),
            ax=ax,
            color=colors[letters[codes[p]]],
            font_name="DejaVu Sans",
        )
    low, high = float(min(0.0, scores.min(initial=0.0))), float(max(0.0, scores.max(initial=0.0)))
    pad = 0.05 * ((high - low) or 1.0)
    ax.set_ylim(low - pad, high + pad)
    ax.axhline(0, color="black", lw=0.5)


def _letter_logo(ax: Axes, track: Track, letters: str, start: int, end: int) -> None:
    """Every letter of every real position, height = its score (``logomaker.Logo``)."""
    assert track.letter_scores is not None, "a letter view needs letter scores"
    import logomaker
    import pandas as pd

    real = track.codes[start:end] >= 0
    values = np.where(real[None, :], track.letter_scores[:, start:end], 0.0).T
    frame = pd.DataFrame(values, columns=list(letters), index=range(start, end))
    logomaker.Logo(
        frame, ax=ax, color_scheme=_colors(letters), font_name="DejaVu Sans", flip_below=False
    )
    ax.axhline(0, color="black", lw=0.5)


def _letter_heat(ax: Axes, track: Track, letters: str, start: int, end: int, limit: float) -> None:
    """One heatmap row per letter, colors symmetric in [-limit, limit]."""
    assert track.letter_scores is not None, "a letter view needs letter scores"
    real = track.codes[start:end] >= 0
    rows = np.where(real[None, :], track.letter_scores[:, start:end], np.nan)
    ax.imshow(
        rows,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        extent=(start - 0.5, end - 0.5, len(letters) - 0.5, -0.5),
        interpolation="nearest",
    )
    ax.set_yticks(range(len(letters)), list(letters), fontsize=6)


def _heat(ax: Axes, track: Track, start: int, end: int, limit: float) -> None:
    """One row of position scores, colors symmetric in [-limit, limit]."""
    row = np.where(track.codes[start:end] >= 0, track.scores[start:end], np.nan)[None, :]
    ax.imshow(
        row,
        aspect="auto",
        cmap="RdBu_r",
        vmin=-limit,
        vmax=limit,
        extent=(start - 0.5, end - 0.5, 0, 1),
        interpolation="nearest",
    )
    ax.set_yticks([])


def draw_tracks(
    tracks: list[Track],
    letters: str,
    out: Path | str,
    title: str = "",
    region: tuple[int, int] | None = None,
    heatmap: bool | None = None,
) -> Path:
    """Draw ``tracks`` stacked (one axis each) and save to ``out`` (format from its suffix).

    Parameters
    ----------
    tracks : list of Track
        All of the same length L.
    letters : str
        The alphabet of the codes.
    region : (int, int), optional
        Positions ``start:end`` (0-based, end exclusive) to draw; default all real positions.
    heatmap : bool, optional
        Force a heatmap (True) or logos (False); default: heatmap when the window
        is longer than :data:`LOGO_MAX`.

    Returns
    -------
    out : Path
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    length = max(int((t.codes >= 0).sum()) for t in tracks)
    start, end = region or (0, length)
    heat = (end - start > LOGO_MAX) if heatmap is None else heatmap
    width = min(18.0, max(6.0, 0.14 * (end - start) + 1.5)) if not heat else 14.0
    fig, axes = plt.subplots(
        len(tracks),
        1,
        figsize=(width, (0.9 if heat else 1.6) * len(tracks) + 0.8),
        sharex=True,
        squeeze=False,
    )
    for ax, track in zip(axes[:, 0], tracks, strict=True):
        for m in track.motifs:
            if m.end > start and m.start < end:
                style = (
                    {"fill": False, "edgecolor": "black", "lw": 1.2, "zorder": 3}
                    if heat
                    else {"color": _MOTIF_COLOR, "alpha": 0.5, "lw": 0, "zorder": 0}
                )
                ax.axvspan(m.start - 0.5, m.end - 0.5, **style)
        if track.note:
            ax.text(
                0.5, 0.5, track.note, transform=ax.transAxes, ha="center", va="center", fontsize=9
            )
            ax.set_yticks([])
        elif track.letter_scores is not None:
            own = float(np.nanmax(np.abs(track.letter_scores[:, start:end]))) or 1.0
            (
                _letter_heat(ax, track, letters, start, end, own)
                if heat
                else _letter_logo(ax, track, letters, start, end)
            )
        else:
            own = float(np.nanmax(np.abs(track.scores[start:end]))) or 1.0
            (_heat(ax, track, start, end, own) if heat else _logo(ax, track, letters, start, end))
        ax.set_ylabel(track.label, rotation=0, ha="right", va="center", fontsize=9)
        ax.set_xlim(start - 0.5, end - 0.5)
    marked = "boxed" if heat else "shaded"
    scale = "; color scaled per row" if heat else ""
    axes[-1, 0].set_xlabel(f"position (0-based; {marked}: ground truth{scale})")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, out)


def _save(fig: Figure, out: str | Path) -> Path:
    """Write ``fig`` to ``out`` (format from the suffix) byte-reproducibly, and close it.

    No creation date in the file, and SVG element ids from a fixed salt, so the same
    records give the same files.
    """
    import matplotlib.pyplot as plt

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = out.suffix.lstrip(".").lower()
    metadata = {"Date": None} if fmt in ("svg", "pdf") else None
    with plt.rc_context({"svg.hashsalt": "attrbench"}):
        fig.savefig(out, metadata=metadata)
    plt.close(fig)
    return out


def _label_offsets(points: list[tuple[str, float, float]]) -> list[float]:
    """Vertical label offsets (points) that move apart the labels of points close together."""
    xs = np.log10([max(c, 1e-12) for _, c, _ in points])
    ys = np.array([q for *_, q in points], dtype=float)
    span = np.ptp(ys) or 1.0
    offsets: list[tuple[int, float]] = []
    placed: list[int] = []
    for i in np.argsort(xs):
        near = [j for j in placed if abs(xs[j] - xs[i]) < 0.6 and abs(ys[j] - ys[i]) < 0.05 * span]
        offsets.append((i, (3.0, -10.0, 12.0, -19.0)[len(near) % 4]))
        placed.append(i)
    return [dy for _, dy in sorted(offsets)]


def cost_quality_plot(
    points: list[tuple[str, float, float]],
    metric: str,
    higher_is_better: bool | None,
    out: Path | str,
    title: str = "",
) -> Path:
    """Seconds per sequence (log x) against a quality metric, one labelled point per method.

    Parameters
    ----------
    points : list of (label, seconds_per_seq, quality)
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    offsets = _label_offsets(points)
    for (label, cost, quality), dy in zip(points, offsets, strict=True):
        ax.scatter([cost], [quality], s=24, color="#255C99")
        ax.annotate(
            label,
            (cost, quality),
            textcoords="offset points",
            xytext=(4, dy),
            fontsize=8,
            arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#888"} if abs(dy) > 3 else None,
        )
    ax.set_xscale("log")
    ax.margins(x=0.12, y=0.12)
    ax.set_xlabel("seconds per sequence (log scale)")
    arrow = (
        ""
        if higher_is_better is None
        else (" (higher is better)" if higher_is_better else " (lower is better)")
    )
    ax.set_ylabel(metric + arrow)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return _save(fig, out)
