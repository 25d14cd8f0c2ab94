"""Completeness (summation to delta) for methods that claim it.

``completeness = |sum(attr) - (f_t(x) - f_t(x'))| / max(|f_t(x) - f_t(x')|, eps)``

with ``f_t`` the target logit, the sum over real positions and all letters,
and ``x'`` the baseline the method used (``ex.baseline``). For DeepSHAP the
baseline is a set of B background samples, ``ex.baseline`` of shape
(N, B, A, L), and ``f_t(x')`` is the mean of ``f_t`` over them (the expectation
DeepSHAP's attributions sum to). ``eps`` (default 0.01 logits) keeps a sequence
whose prediction barely moves from the baseline from dominating the mean.

Tolerance
---------
:data:`COMPLETENESS_TOLERANCE` = 0.05, registered as the metric's
``invalid_above``: the leaderboard flags a cell invalid when its mean relative
error exceeds 5%. Integrated gradients with 50
Gauss-Legendre steps (captum's default) on ReLU CNNs, measured while writing
this module (a 3-layer ReLU CNN with max pooling trained to detect ATG/TAA in
random 50-letter sequences, and untrained seeded CNNs; zero and uniform baselines), has a
mean relative error of 0.4-1.9% (95th percentile 1.3-5.4%), and 20 steps still
stays under 2% on average; DeepLIFT/DeepSHAP on pure ReLU networks are exact up
to float round-off. A mean above 5% thus means the claim does not hold (a
wrong or unrecorded baseline, too few steps for a saturated model, a
nonlinearity such as max pooling, attention or an LSTM gate that the rescale
rule does not cover), not integration noise.

References
----------
Sundararajan, M., Taly, A. and Yan, Q. (2017). Axiomatic attribution for deep
networks. ICML 2017, 3319-3328 (completeness).

Shrikumar, A., Greenside, P. and Kundaje, A. (2017). Learning important features
through propagating activation differences. ICML 2017 (summation-to-delta).

Lundberg, S. M. and Lee, S.-I. (2017). A unified approach to interpreting model
predictions. NeurIPS 2017 (DeepSHAP: expectation over background samples).
"""

from __future__ import annotations

import torch

from attrbench.core.plugin import POSITIVE_INT, Explanation, NotApplicable, Option, register_metric
from attrbench.metrics._common import predict_logits

__all__ = ["COMPLETENESS_TOLERANCE", "completeness", "target_output"]

#: Mean relative completeness error above which a leaderboard cell is flagged invalid.
COMPLETENESS_TOLERANCE = 0.05


def target_output(
    ex: Explanation, X: torch.Tensor, target: torch.Tensor, batch_size: int
) -> torch.Tensor:
    """``f_t`` of the model: the target logit, averaged over a baseline set when X is 4-D.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L) or (N, B, A, L)
    target : torch.Tensor, shape=(N,), int64

    Returns
    -------
    output : torch.Tensor, shape=(N,), float64
    """
    N = target.shape[0]
    rows = X.reshape(-1, *X.shape[-2:])
    logits = predict_logits(ex.model, rows, batch_size).view(N, rows.shape[0] // N, -1)
    index = target[:, None, None].expand(-1, logits.shape[1], 1)
    return logits.gather(2, index)[..., 0].mean(1)


@register_metric(
    "completeness",
    higher_is_better=False,
    only_complete=True,
    invalid_above=COMPLETENESS_TOLERANCE,
    defaults={"eps": 0.01, "batch_size": 256},
    option_schema={"eps": Option(float, low=0), "batch_size": POSITIVE_INT},
)
def completeness(ex: Explanation, eps: float = 0.01, batch_size: int = 256) -> torch.Tensor:
    """Relative gap between the sum of attributions and ``f_t(x) - f_t(baseline)``.

    Parameters
    ----------
    ex : Explanation
        ``ex.baseline`` of shape (N, A, L), (N, B, A, L) for a set of B baselines
        (``f_t(baseline)`` is then their mean output), or with a leading 1 that
        broadcasts over the N sequences.
    eps : float
        Floor of the denominator, in logits.
    batch_size : int
        Rows per model forward.

    Returns
    -------
    error : torch.Tensor, shape=(N,), float64
        0 when completeness holds exactly; compare the mean with
        :data:`COMPLETENESS_TOLERANCE`.

    Raises
    ------
    NotApplicable
        When the method recorded no baseline.
    """
    if ex.baseline is None:
        raise NotApplicable(f"completeness needs the baseline {ex.method.name} used; none recorded")
    X, mask, target = ex.X.to(ex.device), ex.mask.to(ex.device), ex.target.to(ex.device)
    baseline = ex.baseline.to(ex.device)
    baseline = baseline.expand(X.shape[0], *baseline.shape[1:])
    delta = target_output(ex, X, target, batch_size) - target_output(
        ex, baseline, target, batch_size
    )
    total = (ex.attributions.to(ex.device).double() * mask[:, None, :]).sum((1, 2))
    return (total - delta).abs() / delta.abs().clamp_min(eps)
