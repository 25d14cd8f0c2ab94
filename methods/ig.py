"""``ig``: integrated gradients, batched over the interpolation steps.

All ``n_steps`` interpolated copies of a batch go through the model in one (or,
with ``internal_batch_size``, a few) forward/backward passes, in the same order
and with the same quadrature as captum's ``IntegratedGradients`` so the two
agree to float rounding. :func:`ig_baseline` is the one definition of the
reference used by ``ig`` and ``deeplift``; the completeness metric should use it
(or receive its result) to get ``f(baseline)``.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from attrbench import ops
from attrbench.data import Background
from attrbench.plugin import register_method
from attrbench.shuffle import hypothetical as hypothetical_map
from attrbench.shuffle import shuffled_references

from .gradients import target_gradient

__all__ = ["ig", "ig_baseline", "ig_reference", "quadrature"]


def ig_baseline(
    X: torch.Tensor, baseline: str | torch.Tensor = "zeros", background: Background | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The reference sequence of ``ig`` and ``deeplift``, shaped like ``X``.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
    baseline : {"zeros", "background", "dinucleotide_shuffle"} or torch.Tensor, shape=(N, A, L) or (N, 1, A, L)
        ``"zeros"``: all-zero sequences; ``"background"``: the expected background
        sequence ``background.mean(X)`` (zero on padding); ``"dinucleotide_shuffle"``:
        one dinucleotide shuffle of each sequence (:mod:`attrbench.shuffle`, drawn
        from ``generator``); a tensor is used as given.
    background : Background, optional
        Needed for ``"background"``.
    generator : torch.Generator, optional
        Draws the shuffle of ``"dinucleotide_shuffle"``.

    Returns
    -------
    baseline : torch.Tensor, shape=(N, A, L), on the device and dtype of ``X``
    """
    if isinstance(baseline, torch.Tensor):
        if baseline.dim() == 4 and baseline.shape[1] == 1:  # the (N, B, A, L) of ig_reference
            baseline = baseline[:, 0]
        if baseline.shape != X.shape:
            raise ValueError(f"baseline has shape {tuple(baseline.shape)}, X {tuple(X.shape)}")
        return baseline.to(X)
    if baseline == "zeros":
        return torch.zeros_like(X)
    if baseline == "background":
        if background is None:
            raise ValueError("baseline='background' needs the task background (background=...)")
        return background.mean(X).to(X)
    if baseline == "dinucleotide_shuffle":
        return shuffled_references(X, 1, generator)[:, 0]
    raise ValueError(
        f"unknown baseline {baseline!r}: use 'zeros', 'background', 'dinucleotide_shuffle' or a tensor"
    )


def ig_reference(
    X: torch.Tensor, background: Background | None = None,
    generator: torch.Generator | None = None, baseline: str | torch.Tensor = "zeros", **options,
) -> torch.Tensor:
    """The reference of ``ig`` and ``deeplift`` for these options (their ``Method.reference``).

    The runner calls it with the method's options, passes the result back to
    the method as ``baseline=`` and gives it to the completeness metric, so
    both use the same tensor.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
    background : Background, optional
    generator : torch.Generator, optional
        Draws the shuffle of ``baseline="dinucleotide_shuffle"`` (otherwise unused).
    baseline : {"zeros", "background"} or torch.Tensor
        The method's option, see :func:`ig_baseline`.
    **options
        The method's other options, ignored.

    Returns
    -------
    baseline : torch.Tensor, shape=(N, A, L)
    """
    return ig_baseline(X, baseline, background, generator)


def quadrature(n_steps: int, method: str = "gausslegendre") -> tuple[np.ndarray, np.ndarray]:
    """Nodes in [0, 1] and weights of the path integral, as captum computes them.

    Parameters
    ----------
    n_steps : int
    method : {"gausslegendre", "riemann_trapezoid"}

    Returns
    -------
    alphas : np.ndarray, shape=(n_steps,)
    weights : np.ndarray, shape=(n_steps,)
    """
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return 0.5 * (1 + nodes), 0.5 * weights
    if method == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError("riemann_trapezoid needs n_steps >= 2")
        weights = np.full(n_steps, 1.0 / n_steps)
        weights[[0, -1]] /= 2
        return np.linspace(0.0, 1.0, n_steps), weights
    raise ValueError(f"unknown method {method!r}: use 'gausslegendre' or 'riemann_trapezoid'")


@register_method(
    "ig", complete=True, deterministic=True, reference=ig_reference,
    defaults={"n_steps": 50, "baseline": "zeros", "method": "gausslegendre"},
    floor=lambda options, length, letters: (options["n_steps"], options["n_steps"]),
)
def ig(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
    n_steps: int = 50, baseline: str | torch.Tensor = "zeros", method: str = "gausslegendre",
    internal_batch_size: int | None = 512, background: Background | None = None,
    hypothetical: bool = False, generator: torch.Generator | None = None,
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
        :data:`attrbench.ops.MAX_POSITIONS` positions per sequence explained
        (psl, 64 proteins of 1000 positions: one step of all 64 per pass, 80 MB
        less peak memory than 8 steps, at the same CPU time).
    background : Background, optional
        Needed for ``baseline="background"``.
    hypothetical : bool
        Return the per-letter map of the path-averaged gradients
        (:func:`attrbench.shuffle.hypothetical`) instead of ``(X - x0) * grad``.
    generator : torch.Generator, optional
        Draws the shuffle of ``baseline="dinucleotide_shuffle"`` when no tensor is given.

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
