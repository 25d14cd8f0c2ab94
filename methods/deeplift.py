"""``deeplift``: DeepLIFT with the rescale rule, against one reference per sequence.

Two implementations of the same rule:

- ``implementation="attrbench"`` (default): the batched engine of
  :mod:`attrbench.attribution.rescale` with one reference. It agrees with captum's
  ``DeepLift`` wherever captum is right, and with shap's ``DeepExplainer``.
- ``implementation="captum"``: captum's ``DeepLift``. captum 0.9 breaks
  summation-to-delta when two hooked modules are adjacent (conv -> ReLU ->
  MaxPool1d: relative error ~0.3 on a toy CNN; MaxPool -> ELU too; captum issue
  #1104), its MaxPool fallback reuses the first sample's gradient (#1276), it
  fails on a module called twice, and passes the plain gradient through
  activations it has no rule for. Those models are refused
  with :class:`~attrbench.core.plugin.NotApplicable` (up front when the module types
  show it, otherwise by the summation check), never returned as numbers.
  captum attaches hooks and attributes to the model's modules while it runs;
  :func:`leave_clean` removes whatever it left, also when it fails.

Both refuse what the rescale rule cannot explain (recurrent layers, attention,
softmax, normalisation layers, embeddings; see :func:`rescale_why_not`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from attrbench.attribution.gradients import target_logits
from attrbench.attribution.paths import ig_baseline, ig_reference
from attrbench.attribution.rescale import (
    MAXPOOL_MODULES,
    RESCALE_MODULES,
    check_summation,
    rescale_attributions,
    rescale_why_not,
)
from attrbench.core.data import Background
from attrbench.core.plugin import POSITIVE_INT, NotApplicable, Option, register_method
from attrbench.core.shuffle import hypothetical as hypothetical_map

__all__ = ["deeplift", "leave_clean", "CAPTUM_NONLINEAR"]

#: The module types captum 0.9's DeepLift has a rule for (exact types, not subclasses).
CAPTUM_NONLINEAR: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.ELU,
    nn.LeakyReLU,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
)
_HOOK_DICTS = (
    "_forward_hooks",
    "_forward_pre_hooks",
    "_backward_hooks",
    "_backward_pre_hooks",
    "_forward_hooks_with_kwargs",
    "_forward_pre_hooks_with_kwargs",
    "_forward_hooks_always_called",
)


_CAPTUM_ATTRS = ("input", "output", "input_ref")  # what captum's DeepLift sets on modules


@contextmanager
def leave_clean(model: nn.Module) -> Iterator[None]:
    """Remove the hooks added inside the block, and the module attributes captum adds."""
    modules = list(model.modules())
    hooks = [{d: set(getattr(m, d, {})) for d in _HOOK_DICTS} for m in modules]
    attrs = [set(vars(m)) for m in modules]
    try:
        yield
    finally:
        for m, before, names in zip(modules, hooks, attrs, strict=True):
            for d, keys in before.items():
                table = getattr(m, d, {})
                for key in set(table) - keys:
                    del table[key]
            for name in set(_CAPTUM_ATTRS) & (set(vars(m)) - names):
                delattr(m, name)


def _captum_why_not(model: nn.Module) -> str | None:
    reason = rescale_why_not(model)
    if reason:
        return reason
    for name, module in model.named_modules():
        hooked = isinstance(module, RESCALE_MODULES + MAXPOOL_MODULES)
        if hooked and type(module) not in CAPTUM_NONLINEAR:
            return (
                f"module {name!r} is {type(module).__name__}: captum's DeepLift has no rule "
                "for it and would pass the plain gradient (deepshap supports it)"
            )
    return None


@register_method(
    "deeplift",
    complete=True,
    deterministic=True,
    reference=ig_reference,
    applicable=rescale_why_not,
    defaults={"baseline": "zeros", "implementation": "attrbench"},
    option_schema={
        "baseline": Option(
            (str, torch.Tensor), choices=("zeros", "background", "dinucleotide_shuffle")
        ),
        "hypothetical": Option(bool),
        "implementation": Option(str, choices=("attrbench", "captum")),
        "batch_size": POSITIVE_INT,
        "check": Option(bool),
    },
    floor=lambda options, length, letters: (1, 1),
)
def deeplift(
    model: nn.Module,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    baseline: str | torch.Tensor = "zeros",
    implementation: str = "attrbench",
    background: Background | None = None,
    check: bool = True,
    batch_size: int | None = 512,
    hypothetical: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """DeepLIFT with the rescale rule (multiplied by ``X - x0``).

    Completeness: ``attr.sum((1, 2)) = f_t(X) - f_t(x0)`` exactly (summation-to-delta).

    Parameters
    ----------
    model : nn.Module
        Every nonlinearity must be its own module (see the module docstring).
    X : torch.Tensor, shape=(N, A, L)
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    baseline : {"zeros", "background"} or torch.Tensor, shape=(N, A, L)
        The reference, see :func:`attrbench_methods.ig.ig_baseline`.
    implementation : {"attrbench", "captum"}
    background : Background, optional
        Needed for ``baseline="background"``.
    check : bool
        Refuse (NotApplicable) when summation-to-delta fails by more than 1e-3
        of the logit scale.
    batch_size : int, optional
        Sequences per pass (``"attrbench"`` only).

    Returns
    -------
    attributions : torch.Tensor, shape=(N, A, L)

    References
    ----------
    Shrikumar, A., Greenside, P. & Kundaje, A. (2017). Learning important features
    through propagating activation differences. ICML.
    """
    if implementation not in ("attrbench", "captum"):
        raise ValueError(f"unknown implementation {implementation!r}: use 'attrbench' or 'captum'")
    reason = rescale_why_not(model) if implementation == "attrbench" else _captum_why_not(model)
    if reason:
        raise NotApplicable(f"deeplift: {reason}")
    x0 = ig_baseline(X, baseline, background, generator)
    if hypothetical and implementation == "attrbench":
        m = rescale_attributions(
            model,
            X,
            x0[:, None],
            target,
            check=check,
            batch_size=batch_size,
            method="deeplift",
            multipliers=True,
        )[:, 0]
        return hypothetical_map(m, x0) * mask[:, None, :].to(m)
    if implementation == "attrbench":
        attr = rescale_attributions(
            model, X, x0[:, None], target, check=check, batch_size=batch_size, method="deeplift"
        )[:, 0]
    else:
        attr = _captum_deeplift(model, X, x0, target.to(X.device), check)
    return attr * mask[:, None, :].to(attr)


def _captum_deeplift(model, X, x0, target, check: bool) -> torch.Tensor:
    from captum.attr import DeepLift

    with leave_clean(model), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            attr = DeepLift(model, multiply_by_inputs=True).attribute(X.detach(), x0, target=target)
        except RuntimeError as exc:
            if "more than once" not in str(exc):
                raise
            raise NotApplicable(
                f"deeplift: a nonlinear module is called more than once: {exc}"
            ) from exc
    attr = attr.detach()
    if check:
        fx, f0 = target_logits(model, X, target), target_logits(model, x0, target)
        check_summation(attr.sum((1, 2)), fx, f0, "deeplift")
    return attr
