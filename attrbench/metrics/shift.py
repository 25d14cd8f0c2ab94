"""Shift invariance of attribution maps (seed 003, Experiment 1).

A classifier of codons or motifs should not care where the motif sits, so an
attribution map should move with the input: attribute the input shifted by s,
shift the map back by s, and it should match the map of the unshifted input.

Shifts act on the real part of each sequence only: real positions are taken in
order (padding, wherever it is, never moves and never enters a score), the
content moves by s real positions, and the |s| vacated positions are drawn from
the task's background (default, with ``ex.generator``) or filled circularly by
the letters shifted out (``circular=True``). The shifted-back map is compared
with the unshifted map ``ex.scores`` by the Pearson correlation of position
scores on the overlap: the real positions whose letter came from the original
(``n_real - |s|`` of them; every real position when circular). The score of a
sequence is the mean over the shifts ``s = -n_shift..n_shift, s != 0``.

The shifted copies are explained by the method as it ran (``ex.explain``): a
learned method with its fitted state, never refitted, and without its per-input
optimisation (:attr:`~attrbench.core.plugin.Method.rerun_options`, e.g. the scramblers'
fine-tuning); ``refine_copies=True`` runs that optimisation on every copy too
(for a fine-tuned scrambler, 4 more fine-tunings per sequence at the default
``n_shift``).

References
----------
Nielsen, I. (2022). Locally smoothed attribution for genomic CNNs (Shift
Smoothed Gradients). https://github.com/nielseni6/ShiftSmoothedAttributions.
Experiment 1, "Shifting invariance".
"""

from __future__ import annotations

import torch

from attrbench.core import ops
from attrbench.core.plugin import POSITIVE_INT, Explanation, Option, register_metric
from attrbench.metrics._common import nan_where, position_scores_of

__all__ = ["shift_real", "masked_pearson", "shift_invariance"]


def shift_real(
    ex: Explanation, X: torch.Tensor, mask: torch.Tensor, s: int, circular: bool
) -> torch.Tensor:
    """``X`` (N, A, L) with its real part shifted by ``s``; vacated positions from the background.

    Returns
    -------
    X_shifted : torch.Tensor, shape=(N, A, L); padding stays padding.
    """
    shifted, valid = ops.shift_real(X, mask, s, circular)
    vacated = mask & ~valid
    if circular or not bool(vacated.any()):
        return shifted
    draw = ex.background.sample(X.shape[0], X.shape[2], ex.generator).to(X)
    return torch.where(vacated[:, None, :], draw, shifted)


def masked_pearson(a: torch.Tensor, b: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of ``a`` and ``b`` (..., L) over the positions where ``w`` is True.

    Returns
    -------
    r : torch.Tensor, shape=(...), float64
        NaN where fewer than two positions count or either vector is constant on them.
    """
    a, b, wf = a.double(), b.double(), w.double()
    n = wf.sum(-1, keepdim=True)
    da = (a - (a * wf).sum(-1, keepdim=True) / n.clamp_min(1)) * wf
    db = (b - (b * wf).sum(-1, keepdim=True) / n.clamp_min(1)) * wf
    r = (da * db).sum(-1) / ((da**2).sum(-1).sqrt() * (db**2).sum(-1).sqrt())
    invalid = (n[..., 0] < 2) | _constant(a, w) | _constant(b, w)
    return nan_where(r.clamp(-1, 1), invalid)


def _constant(v: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Whether ``v`` takes a single value over the positions marked by ``w``."""
    return v.masked_fill(~w, float("-inf")).amax(-1) == v.masked_fill(~w, float("inf")).amin(-1)


@register_metric(
    "shift_invariance",
    higher_is_better=True,
    # refine_copies is left out of the defaults (they enter cell keys): off unless asked
    defaults={"n_shift": 2, "circular": False, "batch_size": 32},
    option_schema={
        "n_shift": POSITIVE_INT,
        "circular": Option(bool),
        "batch_size": POSITIVE_INT,
        "refine_copies": Option(bool),
    },
)
def shift_invariance(
    ex: Explanation,
    n_shift: int = 2,
    circular: bool = False,
    batch_size: int = 32,
    refine_copies: bool = False,
) -> torch.Tensor:
    """Mean Pearson correlation between the unshifted map and the maps of shifted inputs shifted back.

    Parameters
    ----------
    ex : Explanation
    n_shift : int
        Shifts ``-n_shift..n_shift`` except 0.
    circular : bool
        Fill vacated positions circularly instead of from the background.
    batch_size : int
        Sequences per call of ``ex.explain``; one call attributes all their shifts.
    refine_copies : bool
        Run the method's per-input optimisation (scrambler fine-tuning) on every
        shifted copy; off: the copies are explained as the method ran, unrefined.

    Returns
    -------
    invariance : torch.Tensor, shape=(N,), float64
        NaN where a map is constant on the overlap (or a shift leaves < 2 positions).
    """
    if n_shift < 1:
        raise ValueError(f"n_shift must be at least 1, got {n_shift}")
    shifts = [s for s in range(-n_shift, n_shift + 1) if s != 0]
    X, mask = ex.X.to(ex.device), ex.mask.to(ex.device)
    target, reference = ex.target.to(ex.device), ex.scores.to(ex.device)
    out = torch.empty(X.shape[0], dtype=torch.float64, device=ex.device)
    for lo in range(0, X.shape[0], batch_size):
        part = slice(lo, lo + batch_size)
        r = _shift_correlations(
            ex, X[part], mask[part], target[part], reference[part], shifts, circular, refine_copies
        )
        out[part] = r.mean(0)
    return out


def _shift_correlations(
    ex: Explanation,
    X: torch.Tensor,
    mask: torch.Tensor,
    target: torch.Tensor,
    reference: torch.Tensor,
    shifts: list[int],
    circular: bool,
    refine: bool = False,
) -> torch.Tensor:
    """Correlations (n_shifts, B) of the shifted-back maps with ``reference`` (B, L).

    All shifts of the B sequences are attributed in one call of ``ex.explain``.
    """
    S, B = len(shifts), X.shape[0]
    X_all = torch.cat([shift_real(ex, X, mask, s, circular) for s in shifts])
    refined = {"refine": True} if refine else {}  # ex.explain(X, target, mask) is the contract
    attributions = ex.explain(X_all, target.repeat(S), mask.repeat(S, 1), **refined)
    scores = position_scores_of(ex, attributions, X_all).view(S, B, -1)
    rs = []
    for j, s in enumerate(shifts):
        index, overlap = ops.shift_index(mask, -s, circular)
        back = scores[j].gather(1, index)
        rs.append(masked_pearson(back, reference, overlap))
    return torch.stack(rs)
