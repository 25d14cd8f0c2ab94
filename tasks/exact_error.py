"""``exact_error``: a method's position scores against the exact attributions of a built model.

Applies to tasks that provide the resource ``exact_attributions`` (``exact``,
``exact_protein``): ``resource(model, X, target, probs) -> (N, L)``, the exact
Shapley values of the target logit per position. Per sequence, over its real
positions:

* ``spearman``, ``pearson``: rank and linear correlation (``scipy.stats``) of
  the method's position scores with the exact ones (NaN when either is constant);
* ``l2``: normalised L2 error ``||s - phi|| / ||phi||`` (0 is exact; lower is better);
* a sequence whose exact values are all but zero (``||phi|| < eps``, default
  1e-3 logits: e.g. a logic model's sequence without its motifs) has no score
  (NaN in every column): its correlations would rank noise and its ``l2`` divides
  by almost nothing;
* ``summed_spearman``, ``summed_pearson``, ``summed_l2``: the same for the
  letter-summed map ``attr.sum(1)``. For a method that attributes the one-hot
  features against a reference (IG, DeepLIFT, DeepSHAP) that sum is its value of
  the position as one player; the projected score ``(attr * X).sum(1)`` drops the
  reference's letters. For ISM (mean-centred) the sum is 0 and the projection is
  its value.

No method in attrbench exposes hypothetical (per-letter) contributions yet, so
the per-letter comparison the issue asks for is made on these two projections.
"""

from __future__ import annotations

import numpy as np
import torch

from attrbench.core.plugin import Explanation, register_metric

__all__ = ["exact_error", "correlations", "COLUMNS"]

COLUMNS = ("spearman", "pearson", "l2", "summed_spearman", "summed_pearson", "summed_l2")


def correlations(
    scores: np.ndarray, exact: np.ndarray, eps: float = 1e-3
) -> tuple[float, float, float]:
    """Spearman, Pearson and normalised L2 error of one sequence's scores (L,) against exact (L,).

    All NaN when ``||exact|| < eps``; the correlations are NaN when either map is constant.
    """
    from scipy import stats

    norm = float(np.linalg.norm(exact))
    if norm < eps:
        return float("nan"), float("nan"), float("nan")
    l2 = float(np.linalg.norm(scores - exact)) / norm
    if np.ptp(scores) == 0 or np.ptp(exact) == 0:
        return float("nan"), float("nan"), l2
    return float(stats.spearmanr(scores, exact)[0]), float(stats.pearsonr(scores, exact)[0]), l2


@register_metric(
    "exact_error",
    higher_is_better=True,
    columns=COLUMNS,
    column_directions={"l2": False, "summed_l2": False},
    needs_resources=("exact_attributions",),
    defaults={"eps": 1e-3},
)
def exact_error(ex: Explanation, eps: float = 1e-3) -> torch.Tensor:
    """Spearman / Pearson correlation and normalised L2 error of position scores against the exact
    Shapley values of a built model (projected and letter-summed maps).

    Returns
    -------
    scores : torch.Tensor, shape=(N, 6), float32
        Columns :data:`COLUMNS`.
    """
    probs = ex.background.probs_for(ex.X.shape[2])[:, 0]
    exact = ex.resources["exact_attributions"](ex.model, ex.X, ex.target, probs).double().numpy()
    projected = ex.scores.detach().cpu().double().numpy()
    summed = ex.attributions.detach().cpu().double().sum(1).numpy()
    mask = ex.mask.cpu().numpy()
    out = np.full((len(exact), len(COLUMNS)), np.nan)
    for n in range(len(exact)):
        real = mask[n]
        out[n, :3] = correlations(projected[n, real], exact[n, real], eps)
        out[n, 3:] = correlations(summed[n, real], exact[n, real], eps)
    return torch.tensor(out, dtype=torch.float32)
