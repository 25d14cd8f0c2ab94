"""``shift_smoothed``: shift-smoothed gradients (seed 003, eq. 2-3), a wrapper on any method.

The input is shifted by every ``s`` in ``-n..n``, each shifted copy is
attributed by the base method (all ``2n + 1`` copies in one batched call), and
each map is shifted back and averaged. Only real positions move: a sequence of
``m`` residues stays ``m`` residues long, its padding stays padding. The
columns a shift vacates are filled with the background mean (``fill=
"background"``: deterministic, and the expected input a random fill would give;
for a model whose first layer is linear it gives exactly the expected first-layer
activation) or with zeros. A position is averaged over the shifts that kept it
inside the sequence (always at least ``s = 0``), so no attribution of a filled
column is ever used. With ``n = 0`` the result is the base method's exactly.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.core import ops
from attrbench.core.data import Background
from attrbench.core.plugin import METHODS, Option, register_method

__all__ = ["shift_smoothed"]


@register_method(
    "shift_smoothed",
    complete=False,
    deterministic=True,
    defaults={"n": 2, "base": "saliency", "fill": "background"},
    option_schema={
        "n": Option(int, low=0),
        "base": Option(str),
        "fill": Option(str, choices=("background", "zeros")),
    },
    floor=lambda options, length, letters: (2 * options["n"] + 1, 2 * options["n"] + 1),
)
def shift_smoothed(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    n: int = 2,
    base: str = "saliency",
    fill: str = "background",
    base_options: dict | None = None,
    background: Background | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mean of the base attributions of ``X`` shifted by ``-n..n``, each shifted back.

    ``M*(x) = mean_s shift_{-s}(M(shift_s(x)))`` (seed 003 eq. 2-3), the mean at a
    position taken over the shifts that kept it in the sequence.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    n : int
        Largest shift; ``2n + 1`` shifted copies per sequence.
    base : str
        A registered gradient-like method (``saliency``, ``grad_x_input``, ``ig``...).
    fill : {"background", "zeros"}
        What enters the columns vacated by a shift (see the module docstring).
    base_options : dict, optional
        Options passed to the base method.
    background, generator :
        Passed on to the base method; ``background`` is needed for ``fill="background"``.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)
        Zero on padding.

    References
    ----------
    Nielsen, I. Locally smoothed attribution for genomic CNNs (shift smoothed
    gradients; seed 003, eq. 2-3).
    """
    if fill not in ("background", "zeros"):
        raise ValueError(f"unknown fill {fill!r}: use 'background' or 'zeros'")
    if fill == "background" and background is None:
        raise ValueError("fill='background' needs the task background (background=...)")
    filler = background.mean(X) if fill == "background" else torch.zeros_like(X)
    shifts = range(-n, n + 1)
    copies = []
    for s in shifts:
        moved, valid = ops.shift_real(X, mask, s)
        copies.append(torch.where(valid[:, None, :], moved, filler))
    S = len(copies)
    attr = METHODS.get(base)(
        model,
        torch.cat(copies),
        target.repeat(S),
        mask.repeat(S, 1),
        background=background,
        generator=generator,
        **(base_options or {}),
    ).view(S, *X.shape)
    total, count = torch.zeros_like(attr[0]), torch.zeros_like(mask, dtype=attr.dtype)
    for a, s in zip(attr, shifts, strict=True):
        back, valid = ops.shift_real(a, mask, -s)
        total, count = total + back, count + valid.to(attr.dtype)
    return total / count.clamp_min(1)[:, None, :]
