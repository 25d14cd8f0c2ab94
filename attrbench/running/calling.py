"""The one way a method is called: its options resolved, its reference drawn, its output checked.

Every caller of an attribution method goes through these two functions: the
runner's workers (:mod:`attrbench.running.cell`), ``attrbench explain``
(:mod:`attrbench.reporting.explain`), ``attrbench bench`` (:mod:`attrbench.running.bench`) and the
contract tests. So a scored record, a cost record and an explain figure of the
same (task, model, method) run the method with the same options and the same
kind of baseline.

:func:`resolve_method_options` layers a method's options: the method's
``defaults``, then the task's (``Task.method_options``), then the user's
(``--option``). :func:`call_method` draws the method's reference (for complete
methods), calls it with the run's context (background, generator, fitted state)
and validates the attributions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from attrbench.core.contract import validate_attributions
from attrbench.core.data import Background
from attrbench.core.plugin import Method, Task, validate_options

__all__ = ["Attributed", "resolve_method_options", "call_method"]


class Attributed(NamedTuple):
    """What :func:`call_method` returns.

    Attributes
    ----------
    attributions : torch.Tensor, shape=(N, A, L), float32
        Detached, on the device of ``X``.
    baseline : torch.Tensor or None
        The reference the method was given, shape (N, A, L) or (N, B, A, L); None
        for methods without a reference.
    """

    attributions: torch.Tensor
    baseline: torch.Tensor | None


def resolve_method_options(
    task: Task | None,
    method: Method,
    user: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A method's options as every caller runs it: method defaults < task defaults < user's.

    Parameters
    ----------
    task : Task or None
        Its ``method_options[method.name]`` apply between the method's defaults and
        the user's options. None (a model outside any task): no task layer.
    method : Method
    user : mapping, optional
        The user's options for this method (``--option METHOD.KEY=VALUE``).

    Returns
    -------
    options : dict
        A new dict; these options enter cell keys, so they must be the ones the
        method runs with.

    Examples
    --------
    >>> m = Method("toy", lambda model, X, target, mask, **o: X, defaults={"a": 1, "b": 2})
    >>> resolve_method_options(None, m, {"b": 3})
    {'a': 1, 'b': 3}
    """
    task_layer = task.method_options.get(method.name, {}) if task is not None else {}
    options = {**method.defaults, **task_layer, **(user or {})}
    # Validated here, once, against the method's declared options: every caller
    # (runner, bench, explain, the Python API) resolves through this line.
    validate_options(method, options)
    return options


def call_method(
    model: nn.Module,
    method: Method,
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    *,
    options: Mapping[str, Any],
    background: Background,
    generator: torch.Generator,
    state: Any = None,
) -> Attributed:
    """Call ``method`` on a batch as the runner does: reference drawn first, output checked.

    Parameters
    ----------
    model : nn.Module
        In eval mode, on the device of ``X``.
    method : Method
    X : torch.Tensor, shape=(N, A, L), float32
    target : torch.Tensor, shape=(N,), int64
    mask : torch.Tensor, shape=(N, L), bool
    options : mapping
        Resolved options (:func:`resolve_method_options`).
    background : Background
        The task's background distribution.
    generator : torch.Generator
        Seeded by the caller; the reference is drawn from it before the method runs.
    state : object, optional
        A learned method's fitted state (``Method.fit``'s result).

    Returns
    -------
    result : Attributed
    """
    options = dict(options)
    kwargs = {**options, "background": background, "generator": generator, "state": state}
    baseline = None
    if method.reference is not None:
        baseline = kwargs["baseline"] = method.reference(X, background, generator, **options)
    attr = method(model, X, target, mask, **kwargs).detach()
    validate_attributions(attr, X, method.name)
    return Attributed(attr, baseline)
