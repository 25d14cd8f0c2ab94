"""``ig``: integrated gradients, batched over the interpolation steps.

All ``n_steps`` interpolated copies of a batch go through the model in one (or,
with ``internal_batch_size``, a few) forward/backward passes, in the same order
and with the same quadrature as captum's ``IntegratedGradients`` so the two
agree to float rounding. The reference (:func:`ig_baseline`, shared with
``deeplift`` and ``layer_ig``) and the quadrature live in
:mod:`attrbench.attribution.paths`.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.attribution.gradients import target_gradient
from attrbench.attribution.paths import ig_baseline, ig_reference, quadrature
from attrbench.core import ops
from attrbench.core.data import Background
from attrbench.core.plugin import POSITIVE_INT, Option, register_method
from attrbench.core.shuffle import hypothetical as hypothetical_map

__all__ = ["ig", "ig_baseline", "ig_reference", "quadrature"]


@register_method(
    "ig",
    complete=True,
    deterministic=True,
    reference=ig_reference,
    defaults={"n_steps": 50, "baseline": "zeros", "method": "gausslegendre"},
    option_schema={
        "n_steps": POSITIVE_INT,
        "baseline": Option(
            (str, torch.Tensor), choices=("zeros", "background", "dinucleotide_shuffle")
        ),
        "hypothetical": Option(bool),
        "method": Option(str, choices=("gausslegendre", "riemann_trapezoid")),
        "internal_batch_size": Option(int, low=1, none=True),
    },
    floor=lambda options, length, letters: (options["n_steps"], options["n_steps"]),
)
def ig(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    n_steps: int = 50,
    baseline: str | torch.Tensor = "zeros",
    method: str = "gausslegendre",
    internal_batch_size: int | None = 512,
    background: Background | None = None,
    hypothetical: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Integrated gradients from ``baseline`` to ``X`` along the straight path.

    ``attr = (X - x0) * sum_k w_k grad f_t(x0 + a_k (X - x0))``; completeness
    ``attr.sum((1, 2)) = f_t(X) - f_t(x0)`` holds up to the quadrature error.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    n_steps : int
        Quadrature nodes.
    baseline : {"zeros", "background"} or torch.Tensor, shape=(N, A, L)
        See :func:`ig_baseline`; the runner passes the tensor of :func:`ig_reference`.
    method : {"gausslegendre", "riemann_trapezoid"}
        Captum's default and the trapezoid rule (same nodes and weights as captum).
    internal_batch_size : int, optional
        Model rows (interpolated sequences) per forward/backward pass, built a
        pass at a time; None: all ``n_steps * N`` rows in one pass, like captum's
        default. On CPU chunks of a few hundred rows stay in cache and run 2-3x
        faster than one pass. Either way a pass's interpolated rows hold at most
        :data:`attrbench.core.ops.MAX_POSITIONS` positions per sequence explained
        (psl, 64 proteins of 1000 positions: one step of all 64 per pass, 80 MB
        less peak memory than 8 steps, at the same CPU time).
    background : Background, optional
        Needed for ``baseline="background"``.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)
        Zero on padding columns.

    References
    ----------
    Sundararajan, M., Taly, A. & Yan, Q. (2017). Axiomatic attribution for deep
    networks. ICML.
    """
    x0 = ig_baseline(X, baseline, background, generator)
    alphas, weights = quadrature(n_steps, method)
    a = torch.as_tensor(alphas, dtype=X.dtype, device=X.device)[:, None, None, None]
    w = torch.as_tensor(weights, dtype=X.dtype, device=X.device)[:, None, None, None]
    delta, total = X - x0, torch.zeros_like(X)
    rows = ops.rows_per_pass(X, internal_batch_size or n_steps * X.shape[0])
    per_pass = max(1, rows // X.shape[0])  # path tensors of at most MAX_POSITIONS per sequence row
    for k in range(0, n_steps, per_pass):  # a few steps of every sequence per pass
        ak, wk = a[k : k + per_pass], w[k : k + per_pass]
        path = (x0[None] + ak * delta[None]).reshape(-1, *X.shape[1:])  # step-major, as captum
        grads = target_gradient(model, path, target.repeat(len(ak)), internal_batch_size)
        total += (grads.view(len(ak), *X.shape) * wk).sum(0)
    if hypothetical:
        return hypothetical_map(total, x0) * mask[:, None, :].to(X.dtype)
    return total * delta * mask[:, None, :].to(X.dtype)
