"""Inclusion and occlusion benchmarks: KL divergence of predictions on resampled sequences.

For each fraction q, the top ``ceil(q * n_real)`` real positions by position
score (signed by default, ties to the lower position, padding never ranked) are
kept while every other real position is resampled from the task's background
(inclusion), or are themselves resampled while the rest is kept (occlusion).
The score is ``KL(p(x) || p(x_s))`` between the model's softmax distributions on
the original and on each of S samples, averaged over samples, per q and as the
mean over q. A good method keeps the prediction with few positions (inclusion,
lower is better) and destroys it by removing few (occlusion, higher is better).

All S samples of a chunk of ``batch_size`` sequences go through the model in one
forward; the prediction on the unperturbed sequences
is computed once per cell and shared by both metrics. The samples are drawn from ``ex.generator`` chunk by chunk, so the
values depend on the seed and on ``batch_size``.

References
----------
Linder, J., La Fleur, A., Chen, Z., Ljubetic, A., Baker, D., Kannan, S. and
Seelig, G. (2022). Interpreting neural networks for biological sequences by
learning stochastic masks. Nature Machine Intelligence 4, 41-54.
Supplementary Fig. S3C (inclusion and occlusion benchmark).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attrbench.core.plugin import POSITIVE_INT, Explanation, Option, register_metric
from attrbench.metrics._common import n_top, predict_logits, ranked_scores, top_k_mask

__all__ = [
    "FRACTIONS",
    "COLUMNS",
    "inclusion_kl",
    "occlusion_kl",
    "resampling_kl",
    "original_log_probs",
]

#: The fractions of seed 004 Fig. S3C: top 20, 10, 5 and 2 % of real positions.
FRACTIONS = (0.20, 0.10, 0.05, 0.02)
#: Column names: the mean over fractions first, then one column per fraction.
COLUMNS = ("mean", "q20", "q10", "q5", "q2")
_DEFAULTS = {"fractions": FRACTIONS, "n_samples": 32, "batch_size": 8, "absolute": False}


def _mean_kl(
    ex: Explanation, X: torch.Tensor, keep: torch.Tensor, log_p: torch.Tensor, n_samples: int
) -> torch.Tensor:
    """Mean over ``n_samples`` of KL(p || p_sample) when the real positions not kept are resampled.

    Parameters
    ----------
    X : torch.Tensor, shape=(B, A, L)
    keep : torch.Tensor, shape=(B, L), bool
    log_p : torch.Tensor, shape=(B, T)
        Log-probabilities on the original sequences.

    Returns
    -------
    kl : torch.Tensor, shape=(B,), float64
    """
    B = X.shape[0]
    X_rep = X.repeat_interleave(n_samples, 0)
    keep_rep = keep.repeat_interleave(n_samples, 0)
    samples = ex.background.fill(X_rep, keep_rep, ex.generator).to(X)
    logits = predict_logits(ex.model, samples, samples.shape[0])
    log_q = F.log_softmax(logits, -1).view(B, n_samples, -1)
    kl = (log_p.exp()[:, None] * (log_p[:, None] - log_q)).sum(-1)
    return kl.clamp_min(0).mean(1)  # KL >= 0; clamp float round-off only


def original_log_probs(ex: Explanation, part: slice, batch_size: int) -> torch.Tensor:
    """Log-probabilities (B, T) of the unperturbed sequences ``ex.X[part]``, computed once per cell.

    Kept in ``ex.cache`` so inclusion and occlusion (and every fraction) share the pass.
    """
    key = (
        "log_p",
        ex.X.data_ptr(),
        tuple(ex.X.shape),
        id(ex.model),
        part.start,
        part.stop,
        batch_size,
    )
    if key not in ex.cache:
        X = ex.X[part].to(ex.device)
        ex.cache[key] = F.log_softmax(predict_logits(ex.model, X, batch_size), -1)
    log_p: torch.Tensor = ex.cache[key]
    return log_p


def resampling_kl(
    ex: Explanation,
    occlude: bool,
    fractions: tuple[float, ...] = FRACTIONS,
    n_samples: int = 32,
    batch_size: int = 8,
    absolute: bool = False,
) -> torch.Tensor:
    """KL divergence after resampling all but (inclusion) or only (occlusion) the top positions.

    Parameters
    ----------
    ex : Explanation
    occlude : bool
        Resample the top positions (occlusion) instead of all the others (inclusion).
    fractions : tuple of float
        Fractions q of real positions; exactly ``len(COLUMNS) - 1`` of them, as
        the column names are fixed at registration.
    n_samples : int
        S, background samples per sequence and fraction.
    batch_size : int
        Sequences per chunk; one forward takes ``batch_size * n_samples`` rows.
    absolute : bool
        Rank positions by ``|score|`` instead of the signed score.

    Returns
    -------
    kl : torch.Tensor, shape=(N, 1 + len(fractions)), float64
        The mean over fractions, then one column per fraction.
    """
    if len(fractions) != len(COLUMNS) - 1:
        raise ValueError(f"give {len(COLUMNS) - 1} fractions (columns {COLUMNS}), got {fractions}")
    X, mask = ex.X.to(ex.device), ex.mask.to(ex.device)
    scores = ranked_scores(ex, absolute)
    n_real = mask.sum(1)
    out = torch.empty(X.shape[0], len(fractions), dtype=torch.float64, device=ex.device)
    for lo in range(0, X.shape[0], batch_size):
        part = slice(lo, lo + batch_size)
        log_p = original_log_probs(ex, part, batch_size)
        for j, q in enumerate(fractions):
            top = top_k_mask(scores[part], mask[part], n_top(q, n_real[part]))
            keep = ~top if occlude else top
            out[part, j] = _mean_kl(ex, X[part], keep, log_p, n_samples)
    return torch.cat([out.mean(1, keepdim=True), out], 1)


#: The type and range of the perturbation metrics' options.
_SCHEMA = {
    "n_samples": POSITIVE_INT,
    "batch_size": POSITIVE_INT,
    "absolute": Option(bool),
    "fractions": Option((list, tuple)),
}


@register_metric(
    "inclusion_kl",
    higher_is_better=False,
    columns=COLUMNS,
    defaults=dict(_DEFAULTS),
    option_schema=_SCHEMA,
)
def inclusion_kl(
    ex: Explanation,
    fractions: tuple[float, ...] = FRACTIONS,
    n_samples: int = 32,
    batch_size: int = 8,
    absolute: bool = False,
) -> torch.Tensor:
    """KL(p(x) || p(x_s)) when only the top-q positions are kept and the rest resampled (lower is better).

    Options are those of :func:`resampling_kl`: ``fractions`` (default 0.20,
    0.10, 0.05, 0.02), ``n_samples`` (32), ``batch_size`` (8), ``absolute`` (False).

    Returns
    -------
    kl : torch.Tensor, shape=(N, 5), float64
        Columns ``mean, q20, q10, q5, q2``.
    """
    return resampling_kl(ex, False, fractions, n_samples, batch_size, absolute)


@register_metric(
    "occlusion_kl",
    higher_is_better=True,
    columns=COLUMNS,
    defaults=dict(_DEFAULTS),
    option_schema=_SCHEMA,
)
def occlusion_kl(
    ex: Explanation,
    fractions: tuple[float, ...] = FRACTIONS,
    n_samples: int = 32,
    batch_size: int = 8,
    absolute: bool = False,
) -> torch.Tensor:
    """KL(p(x) || p(x_s)) when the top-q positions are resampled and the rest kept (higher is better).

    Options are those of :func:`resampling_kl`: ``fractions`` (default 0.20,
    0.10, 0.05, 0.02), ``n_samples`` (32), ``batch_size`` (8), ``absolute`` (False).

    Returns
    -------
    kl : torch.Tensor, shape=(N, 5), float64
        Columns ``mean, q20, q10, q5, q2``.
    """
    return resampling_kl(ex, True, fractions, n_samples, batch_size, absolute)
