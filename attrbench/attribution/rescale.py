"""The DeepLIFT rescale rule, batched: the engine of ``deeplift`` and ``deepshap``.

The rescale rule is implemented here once (:func:`rescale_attributions`),
batched: one no-grad forward pass of the references
records the input and output of every supported nonlinear module; one
forward/backward pass of the inputs (each repeated once per reference, in chunks
of ``batch_size`` pairs) replaces, through forward hooks, the local derivative
of those modules by the DeepLIFT multiplier ``(f(x) - f(x0)) / (x - x0)``, with
the local derivative kept where ``|x - x0| < eps`` (for ReLU, whose ratio is
exact, only where ``x = x0``). The hooks change gradients
only, never forward values, and are removed afterwards. References shared by all
sequences of a chunk are run through the model once. The result agrees with shap's
``DeepExplainer`` and with captum's ``DeepLiftShap`` where captum is right
(captum 0.9 is wrong when two hooked modules are adjacent, e.g. conv -> ReLU ->
MaxPool, captum issue #1104), and is 2-4x faster than captum (benchmarks/).

Supported modules (anything else must be linear in its input: Conv, Linear,
BatchNorm in eval mode, AvgPool, Dropout in eval mode, Flatten, residual sums...):

- elementwise nonlinearities (rescale rule): ReLU, ReLU6, LeakyReLU, PReLU, ELU,
  SELU, CELU, GELU, SiLU, Mish, Sigmoid, Tanh, Softplus, Hardtanh, Hardsigmoid,
  Hardswish, LogSigmoid, Softsign, Tanhshrink; a module may be called several
  times in a forward pass and may be in-place;
- MaxPool1d/2d/3d and AdaptiveMaxPool1d/2d/3d (the rule of shap and captum:
  the difference of the window maximum is split between the input's and the
  reference's argmax; gathered rather than unpooled, so overlapping windows are
  exact too).

Recurrent layers, attention, softmax, LayerNorm/GroupNorm/InstanceNorm and
embeddings are refused with :class:`~attrbench.core.plugin.NotApplicable`. A
nonlinearity the hooks cannot see (``F.relu`` in ``forward``, a product of
activations) is caught afterwards: DeepLIFT must satisfy summation-to-delta for
every (input, reference) pair, and when it does not the method raises
``NotApplicable`` instead of returning a wrong number (``check=True``).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.hooks import RemovableHandle

from attrbench.core.plugin import NotApplicable

__all__ = [
    "RESCALE_MODULES",
    "MAXPOOL_MODULES",
    "rescale_why_not",
    "check_summation",
    "rescale_attributions",
]

RESCALE_MODULES: tuple[type[nn.Module], ...] = (
    nn.ReLU,
    nn.LeakyReLU,
    nn.PReLU,
    nn.ELU,
    nn.SELU,
    nn.CELU,
    nn.GELU,
    nn.SiLU,
    nn.Mish,
    nn.Sigmoid,
    nn.Tanh,
    nn.Softplus,
    nn.Hardtanh,
    nn.Hardsigmoid,
    nn.Hardswish,
    nn.LogSigmoid,
    nn.Softsign,
    nn.Tanhshrink,
)  # nn.ReLU6 is a Hardtanh
MAXPOOL_MODULES: tuple[type[nn.Module], ...] = (
    nn.MaxPool1d,
    nn.MaxPool2d,
    nn.MaxPool3d,
    nn.AdaptiveMaxPool1d,
    nn.AdaptiveMaxPool2d,
    nn.AdaptiveMaxPool3d,
)
_REFUSED: tuple[tuple[tuple[type[nn.Module], ...], str], ...] = (
    (
        (nn.RNNBase, nn.RNNCellBase),
        "a recurrent layer: the rescale rule does not "
        "apply to gated recurrences (captum's DeepLift is known to be wrong on LSTM/GRU)",
    ),
    ((nn.MultiheadAttention,), "attention multiplies activations; no rescale rule for products"),
    (
        (nn.Softmax, nn.Softmin, nn.LogSoftmax, nn.Softmax2d),
        "a softmax couples units; no exact rescale rule",
    ),
    (
        (nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm, nn.modules.instancenorm._InstanceNorm),
        "normalisation by the input's own statistics is not linear",
    ),
    ((nn.Embedding, nn.EmbeddingBag), "a token embedding: the model does not take one-hot input"),
    ((nn.Bilinear,), "a bilinear layer multiplies its inputs"),
)


#: Every module type whose presence needs a closer look (refused, or a max pool).
_FLAGGED: tuple[type[nn.Module], ...] = (
    tuple(k for kinds, _ in _REFUSED for k in kinds) + MAXPOOL_MODULES
)


#: The module types the rescale hooks attach to.
_HOOKED: tuple[type[nn.Module], ...] = RESCALE_MODULES + MAXPOOL_MODULES


@functools.cache
def _flagged(kind: type) -> bool:
    return issubclass(kind, _FLAGGED)


def rescale_why_not(model: nn.Module) -> str | None:
    """The reason the rescale rule cannot explain ``model`` (a refused module), or None."""
    if not any(map(_flagged, map(type, model.modules()))):  # the usual case, one pass
        return None
    for name, module in model.named_modules():
        for kinds, why in _REFUSED:
            if isinstance(module, kinds):
                return f"module {name or 'model'!r} is {type(module).__name__}: {why}"
        if isinstance(module, MAXPOOL_MODULES) and module.return_indices:
            return f"module {name or 'model'!r} is a max pool that returns its indices"
    return None


def check_summation(
    total: torch.Tensor, f_x: torch.Tensor, f_ref: torch.Tensor, method: str, rtol: float = 1e-3
) -> None:
    """Raise NotApplicable when ``total != f_x - f_ref`` beyond ``rtol`` of the logit scale.

    Parameters
    ----------
    total : torch.Tensor, shape=(M,)
        Sums of attributions, one per (input, reference) pair.
    f_x, f_ref : torch.Tensor, shape=(M,)
        Target logits of the inputs and of the references.
    """
    err = (total - (f_x - f_ref)).abs()
    scale = torch.maximum(f_x.abs(), f_ref.abs()).clamp_min(1.0)
    if bool((err > rtol * scale).any()):
        worst = float((err / scale).max())
        raise NotApplicable(
            f"{method}: summation-to-delta fails (relative error {worst:.2g}): the model has a "
            "nonlinearity the rescale rule does not see (a functional op such as F.relu or "
            "torch.exp in forward, a product of activations, or an unsupported module)"
        )


def _pool_indices(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    name = type(module).__name__  # MaxPool1d ... AdaptiveMaxPool3d
    d = name[-2]
    idx: torch.Tensor
    if name.startswith("Adaptive"):
        idx = getattr(F, f"adaptive_max_pool{d}d")(x, module.output_size, return_indices=True)[1]
        return idx
    idx = getattr(F, f"max_pool{d}d")(
        x,
        module.kernel_size,
        module.stride,
        module.padding,
        module.dilation,
        ceil_mode=module.ceil_mode,
        return_indices=True,
    )[1]
    return idx


def _derivative(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Elementwise derivative of ``module`` at ``x`` (autograd on its forward, hooks bypassed)."""
    with torch.enable_grad():
        z = x.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(module.forward(z.clone()).sum(), z)
    return grad


def _derivative_where_equal(m: torch.Tensor, y: torch.Tensor, scratch: torch.Tensor) -> None:
    """Set the ReLU multipliers ``m`` that are 0/0 (input equals reference) to the derivative
    ``x > 0``, i.e. ``y > 0`` for the output ``y``, in place.

    Float passes only (comparisons to bool are several times slower on the CPU):
    ``m - m`` is NaN exactly where ``m`` is, so ``nan_to_num(m - m, nan=1) * y``
    is ``y`` there and 0 elsewhere; its sign is the derivative. ``m``, ``y``,
    ``scratch``: same shape; ``scratch`` is overwritten.
    """
    at = torch.sub(m, m, out=scratch).nan_to_num_(nan=1.0).mul_(y).sign_()
    m.nan_to_num_(nan=0.0).add_(at)


class _Multiplier(torch.autograd.Function):
    """Forward: the module's output ``y``; backward: ``grad * m`` to the module's input ``x``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(m)
        return y.view_as(y)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (m,) = ctx.saved_tensors
        return grad * m, None, None


class _Rescale:
    """Forward hooks of one DeepLIFT pass: record the references, then rescale the inputs.

    In the input pass a tensor of ``n * b`` rows pairs input ``i`` with reference
    ``j`` at row ``i * b + j``; the recorded reference tensors have ``b`` rows
    (shared references) or ``n * b`` rows.
    """

    def __init__(self, model: nn.Module, n: int, b: int, eps: float, method: str) -> None:
        self.model, self.n, self.b, self.eps, self.method = model, n, b, eps, method
        self.records: list[tuple[nn.Module, torch.Tensor, torch.Tensor]] = []
        self.stash: list[torch.Tensor] = []
        self.recording, self.k = True, 0
        self.handles: list[RemovableHandle] = []

    def __enter__(self) -> _Rescale:
        for module in self.model.modules():
            if isinstance(module, _HOOKED):
                if getattr(module, "inplace", False):  # its input must be kept before it runs
                    self.handles.append(module.register_forward_pre_hook(self._pre))
                self.handles.append(module.register_forward_hook(self._post))
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self.handles:
            handle.remove()
        self.records.clear()

    def _pre(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """An in-place module: stash its input and let it work on a copy."""
        self.stash.append(args[0])
        return (args[0].clone(), *args[1:])

    def _post(
        self, module: nn.Module, args: tuple[Any, ...], y: torch.Tensor
    ) -> torch.Tensor | None:
        x = self.stash.pop() if getattr(module, "inplace", False) else args[0]
        if self.recording:
            self.records.append((module, self._as_ref(x.detach()), self._as_ref(y.detach())))
            return None
        ref_module, xr, yr = self.records[self.k]
        self.k += 1
        if ref_module is not module:
            raise NotApplicable(
                f"{self.method}: the model calls different modules for inputs and references"
            )
        if isinstance(module, MAXPOOL_MODULES):
            return self._maxpool(module, x, y, xr, yr)
        return self._elementwise(module, x, y, xr, yr)

    def _pair(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(self.n, self.b, *t.shape[1:])

    def _ref(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(-1, self.b, *t.shape[1:])

    def _as_ref(self, t: torch.Tensor) -> torch.Tensor:
        """A recorded reference tensor in the form that broadcasts against the input pass:
        as it is with one row per pair or with B = 1; ``(1, B, ...)`` for B > 1 shared
        references, against inputs viewed as ``(N, B, ...)``."""
        return t if self.b == 1 or t.shape[0] != self.b else t.reshape(1, self.b, *t.shape[1:])

    def _full(self, t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """A recorded reference tensor expanded to the input pass's ``shape``."""
        return t if t.shape == shape else t.expand(self.n, *t.shape[1:]).reshape(shape)

    def _elementwise(
        self,
        module: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        xr: torch.Tensor,
        yr: torch.Tensor,
    ) -> torch.Tensor:
        x0, y0 = x.detach(), y.detach()
        paired = xr.dim() > x0.dim()
        if paired:
            x0, y0 = self._pair(x0), self._pair(y0)
        dx, m = x0 - xr, y0 - yr
        if type(module) is nn.ReLU:  # exact ratio unless x == x0, where 0/0 -> derivative
            m.div_(dx)
            if not math.isfinite(m.sum().item()):  # some x == x0 (one cheap pass finds out)
                _derivative_where_equal(m, y0, dx)
        else:
            small = dx.abs() < self.eps
            m.div_(dx.masked_fill_(small, 1.0))
            if bool(small.any()):
                d = _derivative(module, x.detach())
                m = torch.where(small, self._pair(d) if paired else d, m)
        # torch types Function.apply as untyped; it returns _Multiplier.forward's tensor
        out: torch.Tensor = _Multiplier.apply(  # type: ignore[no-untyped-call]
            x, y.detach(), m.view(y.shape) if paired else m
        )
        return out

    def _maxpool(
        self,
        module: nn.Module,
        x: torch.Tensor,
        y: torch.Tensor,
        xr: torch.Tensor,
        yr: torch.Tensor,
    ) -> torch.Tensor:
        xr, yr = self._full(xr, x.shape), self._full(yr, y.shape)
        x0, y0 = x.detach(), y.detach()
        cross = torch.maximum(y0, yr)
        dx, sx, out = (x0 - xr).flatten(2), (x - x0).flatten(2), y0.flatten(2)
        for owner, mass in ((x0, cross - yr), (xr, y0 - cross)):
            idx = _pool_indices(module, owner).flatten(2)
            d = dx.gather(2, idx)
            small = d.abs() < self.eps
            ratio = torch.where(small, 0.0, mass.flatten(2) / torch.where(small, 1.0, d))
            out = out + sx.gather(2, idx) * ratio
        return out.reshape(y.shape)


def rescale_attributions(
    model: nn.Module,
    X: torch.Tensor,
    baselines: torch.Tensor,
    target: torch.Tensor,
    eps: float = 1e-6,
    check: bool = True,
    batch_size: int | None = 512,
    method: str = "deepshap",
    multipliers: bool = False,
) -> torch.Tensor:
    """DeepLIFT rescale attributions of ``X`` against each of its references.

    Parameters
    ----------
    model : nn.Module
    X : torch.Tensor, shape=(N, A, L)
    baselines : torch.Tensor, shape=(N, B, A, L)
        ``B`` references per sequence; references shared by every sequence of
        a chunk are run through the model once.
    target : torch.Tensor, shape=(N,), int64
    eps : float
        Below this ``|x - x0|`` a smooth module's local derivative replaces the
        multiplier (ReLU: only where ``x = x0``).
    check : bool
        Raise NotApplicable when summation-to-delta fails (see :func:`check_summation`).
    batch_size : int, optional
        (sequence, reference) pairs per forward/backward pass; None: all at once.
    method : str
        Name used in error messages.
    multipliers : bool
        Return the multipliers ``m`` (attributions are ``m * (X - baseline)``).

    Returns
    -------
    attributions : torch.Tensor, shape=(N, B, A, L)
        Summing over (A, L) gives ``f_t(X[i]) - f_t(baselines[i, j])``.
    """
    N, B = baselines.shape[:2]
    step = max(1, (batch_size or N * B) // B)
    target = target.to(X.device)
    return torch.cat(
        [
            _rescale_chunk(
                model,
                X[s : s + step],
                baselines[s : s + step],
                target[s : s + step],
                eps,
                check,
                method,
                multipliers,
            )
            for s in range(0, N, step)
        ]
    )


def _rescale_chunk(
    model: nn.Module,
    X: torch.Tensor,
    baselines: torch.Tensor,
    target: torch.Tensor,
    eps: float,
    check: bool,
    method: str,
    multipliers: bool = False,
) -> torch.Tensor:
    N, B = baselines.shape[:2]
    shared = baselines.stride(0) == 0 or bool((baselines == baselines[:1]).all())
    refs = baselines[0] if shared else baselines.reshape(N * B, *X.shape[1:])
    with _Rescale(model, N, B, eps, method) as hooks:
        with torch.no_grad():
            f_ref = hooks._ref(model(refs)).expand(N, -1, -1)
        hooks.recording = False
        with torch.enable_grad():
            x = X.detach().repeat_interleave(B, 0).requires_grad_(True)
            f_x = model(x).gather(1, target.repeat_interleave(B)[:, None])[:, 0]
            (grad,) = torch.autograd.grad(f_x.sum(), x)
    phi = grad.view(N, B, *X.shape[1:]) * (X[:, None] - baselines)
    if check:
        f_r = f_ref.gather(2, target[:, None, None].expand(N, B, 1))[..., 0]
        check_summation(phi.sum((2, 3)).flatten(), f_x.detach(), f_r.flatten(), method)
    return grad.view(N, B, *X.shape[1:]) if multipliers else phi
