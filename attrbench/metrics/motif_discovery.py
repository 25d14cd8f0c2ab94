"""``motif_discovery``: do the motifs TF-MoDISco finds in a method's maps match the known ones?

The genomics workflow (docs/genomics.md): attribution maps of the explained
sequences go to TF-MoDISco (modisco-lite), which cuts high-scoring seqlets,
clusters them and returns motif patterns; TOMTOM (memelite) compares each
pattern with

- the task's own motifs, one matrix per ground-truth kind, counted from the
  letters of the explained sequences at the kind's occurrences (utr5: start and
  stop codons; codon: ATG and TAA; promoter: the TATA boxes), and
- every CORE matrix of JASPAR 2024, read from the SQLite file ``pyjaspar`` ships
  (with ``sqlite3``; pyjaspar is never imported).

A pattern matches a target when the Benjamini-Hochberg q-value of its TOMTOM
p-value is below ``q``; the q-values of the task's motifs are taken over the
task's motifs only (they are the hypotheses the metric tests; pooled with the
~2,300 JASPAR matrices a 3-letter codon could never pass), those of JASPAR over
all targets. Scores of the cell:

- ``recall``: share of the task's motif kinds matched by at least one pattern;
- ``false_discoveries``: share of patterns that match no target at all;
- ``patterns``, ``seqlets``: how many MoDISco found;
- ``recall_projected``, ``false_discoveries_projected``: the same with the
  projected map (``attributions * X``) given to MoDISco as its hypothetical
  contributions, i.e. what the usual leaderboard map supports.

The hypothetical map is the method's ``hypothetical=True`` output when the method
offers it (deepshap, deeplift, ig, grad_x_input) and its ordinary map
otherwise (ism and saliency are per-letter maps already).

It is a *set-level* metric (``Metric.set_level``): the runner calls it once per
cell (never chunked) on all the cell's sequences, and it returns one
row with the scores followed by NaN rows, so the cell mean is the set score
and n = 1. Too few seqlets to cluster (fewer than ``min_seqlets``) in the
hypothetical map makes the cell n/a with the seqlet count in its reason (in the
projected map: NaN projected columns), never a crash. MoDISco's own seeds are fixed; the
cell is cached like every record.

The record keeps what the site draws (:func:`motif_details`, the metric's ``details``):
per map, every pattern's PPM and CWM, the task's motif kinds it matches and its best task
motif and JASPAR matrix with q-value, TOMTOM offset and strand and the target's PPM, as
JSON lists in ``extra["motif_discovery"]`` (:func:`discovery_details`).

References
----------
Shrikumar, A. et al. (2018). TF-MoDISco v0.5.6.5. arXiv:1811.00416.
Gupta, S. et al. (2007). Quantifying similarity between motifs. Genome Biology 8, R24.
Rauluseviciute, I. et al. (2024). JASPAR 2024. Nucleic Acids Research 52, D174-D182.
"""

from __future__ import annotations

import functools
import importlib.util
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from attrbench.core.data import GroundTruth
from attrbench.core.plugin import Explanation, NotApplicable, _accepted, register_metric

__all__ = [
    "TooFewSeqlets",
    "Pattern",
    "Hit",
    "Discovery",
    "jaspar_matrices",
    "known_motifs",
    "discover",
    "match",
    "motif_discovery",
    "discovery_details",
    "motif_details",
]

JASPAR_RELEASE = "JASPAR2024"
COLUMNS = (
    "recall",
    "false_discoveries",
    "patterns",
    "seqlets",
    "recall_projected",
    "false_discoveries_projected",
)


class TooFewSeqlets(ValueError):
    """MoDISco has too few seqlets to cluster; ``n`` is how many it found."""

    def __init__(self, n: int, why: str = "") -> None:
        super().__init__(f"{n} seqlets, too few to cluster{': ' + why if why else ''}")
        self.n = n


@dataclass(frozen=True)
class Pattern:
    """One discovered motif: its letter frequencies (4, w), contribution weights (4, w), seqlets."""

    ppm: np.ndarray
    cwm: np.ndarray
    n_seqlets: int
    sign: int


@dataclass(frozen=True)
class Hit:
    """A pattern's best TOMTOM match in one target set.

    ``q`` is the BH q-value over that set (the task's motifs, or all targets for JASPAR);
    ``strand`` 1 means the target's reverse complement matched, and column ``i`` of the
    pattern faces column ``i + offset`` of the (oriented) target.
    """

    name: str
    q: float
    offset: int
    strand: int


@dataclass(frozen=True)
class Discovery:
    """What one MoDISco run found and how its patterns matched the targets.

    ``best`` holds, per pattern, its best JASPAR matrix (``"MA0108.3 TBP"``) and that q-value;
    ``known`` per pattern, the task's motif kinds it matches; ``jaspar_hits`` and
    ``known_hits`` per pattern, its best JASPAR matrix and best task motif as :class:`Hit`
    (None where there are no such targets).
    """

    patterns: list[Pattern]
    n_seqlets: int
    recall: float
    false_discoveries: float
    best: list[tuple[str, float]]
    known: Sequence[tuple[str, ...]] = ()
    jaspar_hits: Sequence[Hit | None] = ()
    known_hits: Sequence[Hit | None] = ()


@functools.cache
def jaspar_matrices(release: str = JASPAR_RELEASE) -> dict[str, np.ndarray]:
    """JASPAR CORE count matrices ``"MA0108.3 TBP" -> (4, w)`` from pyjaspar's shipped file."""
    spec = importlib.util.find_spec("pyjaspar")  # locates the package without importing it
    if spec is None or spec.origin is None:
        raise NotApplicable("motif_discovery needs the pyjaspar package's JASPAR database")
    db = Path(spec.origin).parent / "data" / f"{release}.sqlite"
    out: dict[str, np.ndarray] = {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        ids = con.execute("SELECT ID, BASE_ID, VERSION, NAME FROM MATRIX WHERE COLLECTION='CORE'")
        names = {i: f"{b}.{v} {n}" for i, b, v, n in ids.fetchall()}
        cells: dict[int, list[Any]] = {}
        for i, r, c, v in con.execute("SELECT ID, row, col, val FROM MATRIX_DATA"):
            if i in names:
                cells.setdefault(i, []).append((r, c, v))
    for i, rows in cells.items():
        m = np.zeros((4, max(c for _, c, _ in rows)))
        for r, c, v in rows:
            m["ACGT".index(r.upper()), c - 1] = v
        out[names[i]] = m
    return out


def known_motifs(X: torch.Tensor, gt: GroundTruth) -> dict[str, np.ndarray]:
    """One count matrix (A, w) per ground-truth motif kind, from the letters of ``X`` (N, A, L)
    at its occurrences (kinds of several widths use the most common width)."""
    found: dict[str, list[torch.Tensor]] = {}
    for i, motifs in enumerate(gt.motifs):
        for m in motifs:
            found.setdefault(m.kind, []).append(X[i, :, m.start : m.end].cpu())
    out = {}
    for kind, parts in found.items():
        widths = [p.shape[1] for p in parts]
        w = max(set(widths), key=widths.count)
        out[kind] = torch.stack([p for p in parts if p.shape[1] == w]).sum(0).double().numpy()
    return out


def _to_ppm(m: np.ndarray, pseudo: float = 0.01) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64) + pseudo
    ppm: np.ndarray = m / m.sum(0, keepdims=True)
    return ppm


def discover(
    X: torch.Tensor, hyp: torch.Tensor, min_seqlets: int = 20, **options: Any
) -> tuple[list[Pattern], int]:
    """TF-MoDISco patterns of hypothetical maps ``hyp`` (N, 4, L) of one-hot ``X`` (N, 4, L).

    Returns the patterns (positive and negative metaclusters) and the seqlet count;
    raises :class:`TooFewSeqlets` with the count when there are fewer than ``min_seqlets``.
    """
    from modiscolite import extract_seqlets, tfmodisco

    one_hot = X.detach().cpu().double().permute(0, 2, 1).numpy().astype(np.float32)
    h = hyp.detach().cpu().double().permute(0, 2, 1).numpy().astype(np.float32)
    L = one_hot.shape[1]
    window = min(options.pop("sliding_window_size", 7), max(3, L // 4))
    flank = min(options.pop("flank_size", 3), max(1, L // 10))
    contrib = (one_hot * h).sum(2)
    try:
        coords, _ = extract_seqlets.extract_seqlets(
            attribution_scores=contrib,
            window_size=window,
            flank=flank,
            suppress=int(0.5 * window) + flank,
            target_fdr=0.2,
            min_passing_windows_frac=0.03,
            max_passing_windows_frac=0.2,
            weak_threshold_for_counting_sign=0.8,
        )
    except (ValueError, IndexError) as exc:  # a degenerate map (e.g. all zero): no null
        raise TooFewSeqlets(0, str(exc)) from exc
    n = len(coords)
    if n < min_seqlets:
        raise TooFewSeqlets(n)
    pos, neg = tfmodisco.TFMoDISco(
        one_hot,
        h,
        sliding_window_size=window,
        flank_size=flank,
        min_metacluster_size=min_seqlets,
        final_min_cluster_size=options.pop("final_min_cluster_size", 10),
        n_leiden_runs=options.pop("n_leiden_runs", 4),
        trim_to_window_size=window + 2,
        initial_flank_to_add=flank,
        **options,
    )
    patterns = [
        Pattern(np.asarray(p.sequence).T, np.asarray(p.contrib_scores).T, len(p.seqlets), sign)
        for sign, group in ((1, pos), (-1, neg))
        for p in (group or [])
    ]
    return patterns, n


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of one row of p-values."""
    order = np.argsort(p)
    q = p[order] * len(p) / np.arange(1, len(p) + 1)
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty_like(q)
    out[order] = np.minimum(q, 1.0)
    return out


@dataclass(frozen=True)
class Matches:
    """:func:`match`'s result: the cell's recall and false discoveries, and per pattern its
    best JASPAR and task-motif :class:`Hit` and the task's motif kinds it matches."""

    recall: float
    false_discoveries: float
    jaspar: list[Hit | None]
    known: list[Hit | None]
    kinds: list[tuple[str, ...]]


def _best_hits(
    names: list[str], q: np.ndarray, offsets: np.ndarray, strands: np.ndarray
) -> list[Hit | None]:
    """Per row of ``q`` (patterns, targets), the :class:`Hit` of its smallest q-value."""
    if not names:
        return [None] * len(q)
    return [
        Hit(names[j], float(q[i, j]), int(offsets[i, j]), int(strands[i, j]))
        for i, j in enumerate(q.argmin(1))
    ]


def match(
    patterns: list[Pattern],
    known: dict[str, np.ndarray],
    jaspar: dict[str, np.ndarray],
    q: float = 0.05,
) -> Matches:
    """Recall of ``known``, share of unmatched patterns, and every pattern's best matches
    (one TOMTOM call against ``known`` and ``jaspar`` together; module notes)."""
    if not patterns:
        return Matches(0.0, float("nan"), [], [], [])
    from memelite import tomtom

    targets = [_to_ppm(m) for m in known.values()] + [_to_ppm(m) for m in jaspar.values()]
    queries = [_to_ppm(p.ppm) for p in patterns]
    pvals, _, offsets, _, strands = tomtom(queries, targets, n_jobs=1)
    pvals = np.nan_to_num(pvals, nan=1.0)
    qvals = np.stack([_bh(row) for row in pvals])
    k = len(known)
    known_q = np.stack([_bh(row[:k]) for row in pvals]) if k else np.zeros((len(queries), 0))
    hit_known = known_q < q
    recall = float(hit_known.any(0).mean()) if k else float("nan")
    false = float((~(hit_known.any(1) | (qvals < q).any(1))).mean())
    kinds = [tuple(n for n, h in zip(known, row, strict=True) if h) for row in hit_known]
    return Matches(
        recall,
        false,
        _best_hits(list(jaspar), qvals[:, k:], offsets[:, k:], strands[:, k:]),
        _best_hits(list(known), known_q, offsets[:, :k], strands[:, :k]),
        kinds,
    )


def hypothetical_map(ex: Explanation) -> torch.Tensor:
    """The method's per-letter map of ``ex``'s sequences (its ordinary map if it has none)."""
    if "hypothetical" not in _accepted(ex.method.fn):
        return ex.attributions
    kwargs = {
        **ex.method_options,
        "background": ex.background,
        "generator": ex.generator,
        "hypothetical": True,
    }
    if ex.baseline is not None:
        kwargs["baseline"] = ex.baseline
    return ex.method(ex.model, ex.X, ex.target, ex.mask, **kwargs).detach()


def run_discovery(
    X: torch.Tensor,
    hyp: torch.Tensor,
    known: dict[str, np.ndarray],
    q: float = 0.05,
    min_seqlets: int = 20,
    jaspar_release: str = JASPAR_RELEASE,
    **options: Any,
) -> Discovery:
    """MoDISco on ``hyp`` then TOMTOM against ``known`` and JASPAR (module notes).

    numba's OpenMP layer shares torch's OpenMP runtime and can raise its thread count
    (``NUMBA_NUM_THREADS``, which :func:`attrbench.running.threads.configure` sets, prevents it);
    torch's thread count is restored afterwards either way, so later cells keep theirs.
    """
    threads = torch.get_num_threads()
    try:
        patterns, n = discover(X, hyp, min_seqlets, **options)
        m = match(patterns, known, jaspar_matrices(jaspar_release), q)
    except TooFewSeqlets as exc:
        return Discovery([], exc.n, float("nan"), float("nan"), [])
    finally:
        torch.set_num_threads(threads)
    best = [(h.name, h.q) for h in m.jaspar if h is not None]
    return Discovery(patterns, n, m.recall, m.false_discoveries, best, m.kinds, m.jaspar, m.known)


def _rounded(m: np.ndarray, digits: int = 4) -> list[list[float]]:
    """A small matrix as JSON lists of floats with ``digits`` significant digits."""
    return [[float(f"{v:.{digits}g}") for v in row] for row in np.asarray(m, dtype=np.float64)]


def _hit_details(hit: Hit | None, matrices: dict[str, np.ndarray]) -> dict[str, Any] | None:
    if hit is None:
        return None
    return {
        "name": hit.name,
        "q": hit.q,
        "offset": hit.offset,
        "strand": hit.strand,
        "ppm": _rounded(_to_ppm(matrices[hit.name], pseudo=0.0)),
    }


def discovery_details(
    d: Discovery, known: dict[str, np.ndarray], jaspar: dict[str, np.ndarray]
) -> dict[str, Any]:
    """What the site draws of one MoDISco run, as JSON data.

    Returns
    -------
    details : dict
        ``{"seqlets": int, "patterns": [...]}``; each pattern holds ``sign``, ``seqlets``,
        its ``ppm`` and ``cwm`` (4 lists of w floats, rows A, C, G, T), ``matched`` (the task's
        motif kinds it matches) and its best ``known`` and ``jaspar`` match (``name``, ``q``,
        ``offset``, ``strand`` and the target's ``ppm``; None without such targets).
    """
    n = len(d.patterns)
    known_hits = list(d.known_hits) or [None] * n
    jaspar_hits = list(d.jaspar_hits) or [None] * n
    kinds = list(d.known) or [()] * n
    patterns = [
        {
            "sign": p.sign,
            "seqlets": p.n_seqlets,
            "ppm": _rounded(p.ppm),
            "cwm": _rounded(p.cwm),
            "matched": list(kind),
            "known": _hit_details(kh, known),
            "jaspar": _hit_details(jh, jaspar),
        }
        for p, kind, kh, jh in zip(d.patterns, kinds, known_hits, jaspar_hits, strict=True)
    ]
    return {"seqlets": d.n_seqlets, "patterns": patterns}


def motif_details(ex: Explanation) -> dict[str, Any]:
    """The record's ``extra`` of a scored cell (:attr:`attrbench.core.plugin.Metric.details`):
    ``{"motif_discovery": {"hypothetical": ..., "projected": ..., "jaspar_release": ...}}``
    with :func:`discovery_details` of each map's run."""
    found = ex.cache.get("motif_discovery")
    if not found:
        return {}
    known, release = found["known"], found["jaspar_release"]
    jaspar = jaspar_matrices(release)
    runs = {m: discovery_details(found[m], known, jaspar) for m in ("hypothetical", "projected")}
    return {"motif_discovery": {**runs, "jaspar_release": release, "q": found["q"]}}


@register_metric(
    "motif_discovery",
    higher_is_better=True,
    needs_ground_truth=True,
    set_level=True,
    columns=COLUMNS,
    column_directions={"false_discoveries": False, "false_discoveries_projected": False},
    defaults={"q": 0.05, "min_seqlets": 20},
    description="TF-MoDISco on the maps of the explained set, TOMTOM against the task's motifs "
    "and JASPAR 2024: recall of the known motifs, share of unmatched patterns",
    details=motif_details,
)
def motif_discovery(ex: Explanation, q: float = 0.05, min_seqlets: int = 20) -> torch.Tensor:
    """Set-level scores (module notes): row 0 holds them, the other N - 1 rows are NaN.

    Returns
    -------
    scores : torch.Tensor, shape=(N, 6), float64
        Columns :data:`COLUMNS`; the projected columns are NaN when the projected
        map has fewer than ``min_seqlets`` seqlets. Fewer than that in the
        hypothetical map: NotApplicable, its reason giving the count.
    """
    if ex.X.shape[1] != 4:
        raise NotApplicable(f"motif_discovery needs DNA (4 letters), not {ex.X.shape[1]}")
    if ex.ground_truth is None:
        raise NotApplicable("motif_discovery needs the task's motifs (ground truth)")
    known = known_motifs(ex.X, ex.ground_truth)
    hyp = run_discovery(ex.X, hypothetical_map(ex), known, q, min_seqlets)
    if not hyp.patterns and hyp.n_seqlets < min_seqlets:
        raise NotApplicable(
            f"motif_discovery: {hyp.n_seqlets} seqlets in {len(ex.X)} sequences, "
            f"too few to cluster (at least {min_seqlets})"
        )
    proj = run_discovery(ex.X, ex.attributions * ex.X, known, q, min_seqlets)
    out = torch.full((len(ex.X), len(COLUMNS)), float("nan"), dtype=torch.float64)
    out[0] = torch.tensor(
        [
            hyp.recall,
            hyp.false_discoveries,
            len(hyp.patterns),
            hyp.n_seqlets,
            proj.recall,
            proj.false_discoveries,
        ],
        dtype=torch.float64,
    )
    ex.cache["motif_discovery"] = {
        "hypothetical": hyp,
        "projected": proj,
        "known": known,
        "jaspar_release": JASPAR_RELEASE,
        "q": q,
    }
    return out
