"""References and path quadrature of integrated gradients and DeepLIFT.

:func:`ig_baseline` is the one definition of the reference of ``ig``,
``layer_ig`` and ``deeplift`` (:func:`ig_reference` is their
``Method.reference``, so the completeness metric gets the same tensor);
:func:`quadrature` gives the nodes and weights of the path integral as captum
computes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from attrbench.core.data import Background
from attrbench.core.shuffle import shuffled_references

__all__ = ["ig_baseline", "ig_reference", "quadrature"]


def ig_baseline(
    X: torch.Tensor,
    baseline: str | torch.Tensor = "zeros",
    background: Background | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """The reference sequence of ``ig`` and ``deeplift``, shaped like ``X``.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
    baseline : {"zeros", "background"} or torch.Tensor, shape=(N, A, L) or (N, 1, A, L)
        ``"zeros"``: all-zero sequences; ``"background"``: the expected background
        sequence ``background.mean(X)`` (zero on padding); a tensor is used as given.
    background : Background, optional
        Needed for ``"background"``.

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
    X: torch.Tensor,
    background: Background | None = None,
    generator: torch.Generator | None = None,
    baseline: str | torch.Tensor = "zeros",
    **options: Any,
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
        Unused: the reference is deterministic.
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
