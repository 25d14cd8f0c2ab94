"""``deepshap``: DeepLIFT (rescale rule) averaged over background references.

The rescale rule (:func:`attrbench.attribution.rescale.rescale_attributions`,
shared with ``deeplift``) runs once per (sequence, reference) pair, batched; its
supported modules and refusal rules are described in
:mod:`attrbench.attribution.rescale`. References are one-hot draws from the task
background (:func:`deepshap_baselines`). The result agrees with shap's
``DeepExplainer`` and with captum's ``DeepLiftShap`` where captum is right.
"""

from __future__ import annotations

import torch
from torch import nn

from attrbench.attribution.rescale import (
    MAXPOOL_MODULES,
    RESCALE_MODULES,
    check_summation,
    rescale_attributions,
    rescale_why_not,
)
from attrbench.core.contract import mask_of
from attrbench.core.data import Background
from attrbench.core.plugin import POSITIVE_INT, NotApplicable, Option, register_method
from attrbench.core.shuffle import hypothetical as hypothetical_map
from attrbench.core.shuffle import shuffled_references

__all__ = [
    "RESCALE_MODULES",
    "MAXPOOL_MODULES",
    "rescale_why_not",
    "check_summation",
    "rescale_attributions",
    "deepshap_baselines",
    "deepshap_reference",
    "deepshap",
]


def deepshap_baselines(
    X: torch.Tensor,
    mask: torch.Tensor,
    background: Background,
    generator: torch.Generator,
    n_background: int = 20,
    shared: bool = True,
) -> torch.Tensor:
    """The references of ``deepshap``: one-hot draws from the task background.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
    mask : torch.Tensor, shape=(N, L), bool
        Padding columns of the references are zero, like those of ``X``.
    background : Background
    generator : torch.Generator
        A CPU generator (the background lives on the CPU).
    n_background : int
        B, references per sequence.
    shared : bool
        Draw B sequences once and use them for every sequence (the usual
        DeepExplainer set-up, and cheaper) or B fresh draws per sequence.

    Returns
    -------
    baselines : torch.Tensor, shape=(N, B, A, L), on the device and dtype of ``X``
    """
    if background is None or generator is None:
        raise ValueError(
            "deepshap draws its references from the background: pass background= and generator="
        )
    N, _, L = X.shape
    keep = mask.cpu()
    if shared:
        draws = background.sample(n_background, L, generator)
        if bool(keep.all()):  # one set for every sequence: a view, seen as shared for free
            return draws.to(X)[None].expand(N, -1, -1, -1)
        refs = draws[None] * keep[:, None, None, :].to(draws.dtype)
    else:
        rows = keep.repeat_interleave(n_background, 0)
        refs = background.sample(N * n_background, L, generator, rows).view(N, n_background, -1, L)
    return refs.to(X)


def deepshap_reference(
    X: torch.Tensor,
    background: Background | None = None,
    generator: torch.Generator | None = None,
    baseline: torch.Tensor | None = None,
    n_background: int = 20,
    shared: bool = True,
    references: str = "background",
    **options,
) -> torch.Tensor:
    """The references ``deepshap`` uses with these options (its ``Method.reference``).

    The runner calls it with the method's options and the cell's generator and
    passes the result as ``baseline=``, so the method draws nothing itself; the
    completeness metric compares ``attr.sum((1, 2))`` with
    ``f_t(X) - mean_b f_t(reference[:, b])``.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
        Its padding (all-zero columns) is the references' padding.
    background, generator, n_background, shared :
        See :func:`deepshap_baselines`.
    baseline : torch.Tensor, shape=(N, B, A, L) or (N, A, L), optional
        Explicit references, returned as (N, B, A, L).
    **options
        The method's other options, ignored.

    Returns
    -------
    reference : torch.Tensor, shape=(N, B, A, L)
    """
    if baseline is not None:
        return (baseline[:, None] if baseline.dim() == 3 else baseline).to(X)
    if references == "dinucleotide_shuffle":
        return shuffled_references(X, n_background, generator)
    return deepshap_baselines(X, mask_of(X), background, generator, n_background, shared)


@register_method(
    "deepshap",
    complete=True,
    deterministic=False,
    reference=deepshap_reference,
    applicable=rescale_why_not,
    defaults={"n_background": 20, "shared": True},
    option_schema={
        "n_background": POSITIVE_INT,
        "shared": Option(bool),
        "batch_size": POSITIVE_INT,
        "eps": Option(float, low=0),
        "check": Option(bool),
        "references": Option(str, choices=("background", "dinucleotide_shuffle")),
        "hypothetical": Option(bool),
    },
    floor=lambda options, length, letters: (options["n_background"], options["n_background"]),
)
def deepshap(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    n_background: int = 20,
    shared: bool = True,
    baseline: torch.Tensor | None = None,
    background: Background | None = None,
    generator: torch.Generator | None = None,
    batch_size: int | None = 512,
    eps: float = 1e-6,
    check: bool = True,
    references: str = "background",
    hypothetical: bool = False,
) -> torch.Tensor:
    """DeepSHAP: DeepLIFT rescale attributions averaged over background references.

    Completeness: ``attr.sum((1, 2)) = f_t(X) - mean_j f_t(baseline[:, j])``.
    Supported models and the refusal rules are in the module docstring.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    n_background, shared :
        How references are drawn, see :func:`deepshap_baselines`.
    baseline : torch.Tensor, shape=(N, B, A, L) or (N, A, L), optional
        Explicit references instead of draws (a 3-d tensor is one per sequence).
    background : Background
    generator : torch.Generator
    batch_size : int, optional
        (sequence, reference) pairs per forward/backward pass; None: all at once.
    eps : float
        ``|x - x0|`` below which a smooth module's local derivative replaces the
        multiplier (ReLU: only where ``x = x0``).
    check : bool
        Refuse (NotApplicable) when summation-to-delta fails.

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)

    References
    ----------
    Lundberg, S. M. & Lee, S.-I. (2017). A unified approach to interpreting model
    predictions. NeurIPS. Shrikumar, A., Greenside, P. & Kundaje, A. (2017).
    Learning important features through propagating activation differences. ICML.
    """
    reason = rescale_why_not(model)
    if reason:
        raise NotApplicable(f"deepshap: {reason}")
    if baseline is None:
        baseline = deepshap_reference(
            X, background, generator, None, n_background, shared, references
        )
    refs = deepshap_reference(X, baseline=baseline)
    if hypothetical:
        m = rescale_attributions(model, X, refs, target, eps, check, batch_size, multipliers=True)
        phi = hypothetical_map(m, refs).mean(1)
    else:
        phi = rescale_attributions(model, X, refs, target, eps, check, batch_size).mean(1)
    return phi * mask[:, None, :].to(phi)
