"""The three plugin records (Task, Method, Metric), their registries and decorators.

A method is a function ``fn(model, X, target, mask, **options) -> attributions``
with its capabilities declared once at registration. A metric is a pure
function ``fn(ex: Explanation, **options) -> scores (N,) or (N, K)`` with its
direction and requirements declared once. A task is declared data plus the
functions that make its data, models and ground truth.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attrbench.contract import Alphabet, position_scores
from attrbench.data import Background, Dataset, GroundTruth
from attrbench.registry import Registry

__all__ = [
    "NotApplicable",
    "Method",
    "Metric",
    "Task",
    "ModelSpec",
    "Explanation",
    "Report",
    "TASKS",
    "METHODS",
    "METRICS",
    "register_method",
    "register_metric",
    "register_task",
]


class NotApplicable(Exception):
    """Raised by a method or metric that cannot handle a model or task; the message is the reason."""


# --------------------------------------------------------------------------- methods

#: Keyword arguments the runner can supply to a method that names them.
METHOD_CONTEXT = ("background", "generator", "state", "baseline")


@dataclass(frozen=True)
class Method:
    """An attribution method and its declared capabilities.

    Parameters
    ----------
    name : str
    fn : callable
        ``fn(model, X, target, mask, **kwargs) -> torch.Tensor (N, A, L)``. It may
        also accept any of ``background`` (:class:`Background`), ``generator``
        (``torch.Generator``), ``state`` (the result of ``fit``) and options.
    complete : bool
        Claims completeness: attributions sum to ``f(x) - f(baseline)``.
    deterministic : bool
        Same inputs give the same result without a generator.
    needs_attention : bool
        Needs ``model.attention_weights(X) -> (N, L)``.
    needs_embedding : bool
        Needs ``model.embedding``, the token embedding layer.
    applicable : callable, optional
        ``applicable(model) -> reason or None``: a finer check of the model
        (e.g. its modules), so "not applicable" is known without running.
    fit : callable, optional
        ``fit(model, train: Dataset, background, generator, **options) -> state``,
        run once per (task, model) and cached by the runner.
    fit_ignores : tuple of str
        Options used only when explaining (e.g. per-example fine-tuning):
        changing them re-uses the cached fit.
    reference : callable, optional
        For complete methods: ``reference(X, background, generator, **options)
        -> baseline`` of shape (N, A, L), or (N, B, A, L) for a set of B
        baselines whose mean output is the reference. The runner draws it,
        passes it to the method as ``baseline=`` and hands it to the
        completeness metric.
    defaults : dict
        Default options.
    position_level : bool
        Its attributions are already position scores broadcast over letters.
    floor : callable, optional
        ``floor(options, length, letters) -> (forward, backward)``: the model
        passes per sequence the method inherently needs (done in one batch), for
        ``attrbench bench``'s ratio to the compute floor; ``length`` is the mean
        number of real positions.
    description : str
    """

    name: str
    fn: Callable[..., torch.Tensor]
    complete: bool = False
    deterministic: bool = True
    needs_attention: bool = False
    needs_embedding: bool = False
    applicable: Callable[[nn.Module], str | None] | None = None
    fit: Callable[..., Any] | None = None
    fit_ignores: tuple[str, ...] = ()
    reference: Callable[..., torch.Tensor] | None = None
    defaults: dict = field(default_factory=dict)
    position_level: bool = False
    floor: Callable[[dict, float, int], tuple[float, float]] | None = None
    description: str = ""

    def fit_options(self, options: dict) -> dict:
        """The options the fit depends on: ``options`` without :attr:`fit_ignores`."""
        return {k: v for k, v in options.items() if k not in self.fit_ignores}

    def why_not(self, model: nn.Module) -> str | None:
        """The reason this method cannot explain ``model``, or None if it can."""
        if self.needs_attention and not hasattr(model, "attention_weights"):
            return f"{self.name} needs a model with attention; {_model_name(model)} has none"
        if self.needs_embedding and not hasattr(model, "embedding"):
            return f"{self.name} needs a token embedding layer; {_model_name(model)} has none"
        return self.applicable(model) if self.applicable is not None else None

    def position_scores(self, attributions: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
        """Position scores (N, L) of this method's ``attributions`` (N, A, L) of ``X``."""
        if self.position_level:
            return attributions.mean(1)
        return position_scores(attributions, X)

    def __call__(
        self, model: nn.Module, X: torch.Tensor, target: torch.Tensor,
        mask: torch.Tensor, **kwargs,
    ) -> torch.Tensor:
        """Attribute ``X`` (N, A, L); context kwargs the function does not take are dropped.

        Returns
        -------
        attributions : torch.Tensor, shape=(N, A, L), float32
        """
        reason = self.why_not(model)
        if reason:
            raise NotApplicable(reason)
        options = {**self.defaults, **kwargs}
        accepted = _accepted(self.fn)
        options = {
            k: v for k, v in options.items() if k in accepted or k not in METHOD_CONTEXT
        }
        return self.fn(model, X, target, mask, **options).float()


@functools.cache
def _accepted(fn: Callable) -> frozenset[str]:
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return frozenset(METHOD_CONTEXT)
    return frozenset(params)


def _model_name(model: nn.Module) -> str:
    return getattr(model, "zoo_name", type(model).__name__)


# --------------------------------------------------------------------------- metrics


@dataclass
class Explanation:
    """Everything a metric may need about one (task, model, method) cell.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
    mask : torch.Tensor, shape=(N, L), bool
    y : torch.Tensor, shape=(N,), int64
        True labels.
    target : torch.Tensor, shape=(N,), int64
        Classes explained.
    attributions : torch.Tensor, shape=(N, A, L)
    model : nn.Module
        Frozen, in eval mode, on ``device``.
    explain : callable
        ``explain(X, target, mask) -> attributions``: the method under test with
        its options, for metrics that re-attribute.
    method : Method
    background : Background
    generator : torch.Generator
        Seeded for this cell.
    ground_truth : GroundTruth, optional
    dataset : Dataset
        The explained sequences (ids and task extras, e.g. accessions).
    baseline : torch.Tensor, shape=(N, A, L), optional
        The reference the method used, for completeness.
    resources : dict
        Task resources such as a knowledge base.
    classes : tuple of str
        The task's class names (``y`` and ``target`` index them).
    method_options : dict
        The options the method ran with, for metrics that call ``method`` on
        another model (e.g. a randomised copy).
    cache : dict
        Results metrics share within the cell (e.g. the model's prediction on
        ``X``), keyed by the metric module that fills them.
    """

    X: torch.Tensor
    mask: torch.Tensor
    y: torch.Tensor
    target: torch.Tensor
    attributions: torch.Tensor
    model: nn.Module
    explain: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
    method: Method
    background: Background
    generator: torch.Generator
    dataset: Dataset
    ground_truth: GroundTruth | None = None
    baseline: torch.Tensor | None = None
    resources: dict = field(default_factory=dict)
    device: torch.device = torch.device("cpu")
    classes: tuple[str, ...] = ()
    method_options: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def scores(self) -> torch.Tensor:
        """Position scores (N, L): ``(attr * X).sum(1)``, or the broadcast score of a position-level method."""
        return self.method.position_scores(self.attributions, self.X)


@dataclass(frozen=True)
class Metric:
    """A metric: per-sequence scores with a declared direction and requirements.

    Parameters
    ----------
    name : str
    fn : callable
        ``fn(ex: Explanation, **options) -> torch.Tensor`` of shape (N,) or
        (N, len(columns)); NaN where a sequence has no score (reported, not averaged).
    higher_is_better : bool
    columns : tuple of str
        Names of the columns when the metric returns (N, K); the first is the main score.
    column_directions : dict of str to bool
        ``higher_is_better`` of the columns whose direction differs from the metric's
        (e.g. a "no match" fraction next to hit rates).
    needs_ground_truth : bool
    needs_resources : tuple of str
        Names of task resources it needs (e.g. ``"knowledge_base"``).
    only_complete : bool
        Applies only to methods that claim completeness.
    invalid_above : float, optional
        A cell whose mean exceeds it is flagged invalid in the leaderboard
        (completeness: the method's attributions do not add up).
    set_level : bool
        The metric scores a set of sequences, not each one (``motif_discovery``):
        the runner keeps a cell holding one as a single chunk (whatever ``chunk_size``)
        and calls it once on all the cell's sequences
        (:func:`attrbench.cell.merge_explanations`); it returns (N, K) rows of
        which the first holds the set's scores and the others NaN, so the cell's
        mean is the set score and its n is 1.
    defaults : dict
    description : str
    """

    name: str
    fn: Callable[..., torch.Tensor]
    higher_is_better: bool = True
    columns: tuple[str, ...] = ()
    column_directions: dict[str, bool] = field(default_factory=dict)
    needs_ground_truth: bool = False
    needs_resources: tuple[str, ...] = ()
    only_complete: bool = False
    invalid_above: float | None = None
    set_level: bool = False
    defaults: dict = field(default_factory=dict)
    description: str = ""

    def why_not(self, task: Task, method: Method, has_ground_truth: bool) -> str | None:
        """The reason this metric does not apply to a (task, method), or None."""
        if self.needs_ground_truth and not has_ground_truth:
            return f"{self.name} needs ground truth; task {task.name!r} has none"
        missing = [r for r in self.needs_resources if r not in task.resources]
        if missing:
            return f"{self.name} needs {', '.join(missing)}; task {task.name!r} has none"
        if self.only_complete and not method.complete:
            return f"{self.name} applies to methods that claim completeness; {method.name} does not"
        return None

    def __call__(self, ex: Explanation, **options) -> torch.Tensor:
        """Scores of shape (N, K) with K = max(1, len(columns))."""
        out = self.fn(ex, **{**self.defaults, **options})
        return out[:, None] if out.dim() == 1 else out


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class Report:
    """A task report: the cells it needs, declared as data, and how it renders their records.

    Parameters
    ----------
    name : str
    render : callable
        ``render(records: list[Record], **options) -> str``: the rendered report.
    plan : callable, optional
        ``plan(**options) -> list[RunConfig]``: the cells the report needs.
        ``attrbench report`` runs them through the runner into the results
        store (finished cells are reused) and hands their records to
        ``render``. None: the report needs no cells (``render`` gets ``[]``).
    description : str
    """

    name: str
    render: Callable[..., str]
    plan: Callable[..., list] | None = None
    description: str = ""


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class ModelSpec:
    """One model of a task's zoo.

    Parameters
    ----------
    name : str
    build : callable
        ``build() -> nn.Module`` with untrained weights; the module takes X
        (N, A, L) and returns logits (N, T).
    config : dict
        The architecture and training configuration stored in its checkpoint.
    description : str
    """

    name: str
    build: Callable[[], nn.Module]
    config: dict = field(default_factory=dict)
    description: str = ""


@dataclass
class Task:
    """A benchmark task: declared data plus functions for data, models and ground truth.

    Parameters
    ----------
    name, version : str
        Any change that changes scores bumps ``version``; records carry it.
    alphabet : Alphabet
    classes : tuple of str
    data : callable
        ``data(split, **options) -> Dataset`` for split in ``train|valid|test``.
    models : dict of ModelSpec
    default_model : str
    ground_truth : callable, optional
        ``ground_truth(ds: Dataset) -> GroundTruth | None``.
    background : callable, optional
        ``background(train: Dataset) -> Background``; default letter frequencies per position.
    checkpoint_dir : Path
        Where trained checkpoints ``<model>.pt`` are shipped.
    default_n : int
        Test sequences explained by default.
    method_n : dict of str to int
        On the default ``n`` only: costly methods that explain just this many of
        the explained sequences (a seeded subset), so the default job stays within
        its time budget; the leaderboard notes it. An explicit ``--n`` applies to all.
    metric_options : dict of str to dict
        Task-specific default options per metric, likewise (e.g. a motif recall
        definition that suits the task's motif lengths).
    ground_truth_n : int, optional
        Ground-truth metrics score the test sequences that carry ground truth, at
        most this many (None: the explained sample).
    quality_split : str
        The split on which model quality (accuracy, F1) is reported; ``test``
        unless the test split is not a sample of the task's classes (``utr5``'s
        test split is its logic sets, all of one class).
    method_options : dict of str to dict
        Task-specific default options per method, applied between the method's
        defaults and the user's ``--option`` (they enter the cell key), e.g. a
        reference that stays on the task's data.
    ground_truth_n : int, optional
        If set, metrics that need ground truth score the test sequences that carry
        ground truth (at most this many, a seeded subset) instead of the random
        sample, with their own ``n`` (for tasks where few sequences carry it).
    resources : dict
        Named resources for metrics (factories called lazily).
    reports : dict of str to Report
        Named task reports, printed by ``attrbench report --task NAME REPORT``.
    description : str
    """

    name: str
    version: str
    alphabet: Alphabet
    classes: tuple[str, ...]
    data: Callable[..., Dataset]
    models: dict[str, ModelSpec]
    default_model: str
    checkpoint_dir: Path
    ground_truth: Callable[[Dataset], GroundTruth | None] | None = None
    background: Callable[[Dataset], Background] | None = None
    default_n: int = 200
    method_n: dict[str, int] = field(default_factory=dict)
    ground_truth_n: int | None = None
    quality_split: str = "test"
    method_options: dict[str, dict] = field(default_factory=dict)
    metric_options: dict[str, dict] = field(default_factory=dict)
    resources: dict = field(default_factory=dict)
    reports: dict = field(default_factory=dict)
    description: str = ""

    def model(self, name: str) -> ModelSpec:
        """The zoo entry ``name``; unknown names get "did you mean"."""
        from attrbench.registry import did_you_mean

        return did_you_mean(name, self.models, f"model for task {self.name!r}")


# --------------------------------------------------------------------------- registries

TASKS: Registry[Task] = Registry("task", "attrbench.tasks")
METHODS: Registry[Method] = Registry("method", "attrbench.methods")
METRICS: Registry[Metric] = Registry("metric", "attrbench.metrics")


def _method(name: str, fn: Callable, **fields) -> Method:
    return Method(name=name, fn=fn, description=fields.pop("description", _doc(fn)), **fields)


def _metric(name: str, fn: Callable, **fields) -> Metric:
    if "columns" in fields:
        fields["columns"] = tuple(fields["columns"])
    return Metric(name=name, fn=fn, description=fields.pop("description", _doc(fn)), **fields)


def _doc(obj: Any) -> str:
    return (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")


#: ``@register_method(name, complete=..., deterministic=..., ...)`` on a function.
register_method = METHODS.decorator(_method)
#: ``@register_metric(name, higher_is_better=..., ...)`` on a function.
register_metric = METRICS.decorator(_metric)


def register_task(task: Task) -> Task:
    """Register a :class:`Task` instance (tasks are data, not functions)."""
    import sys

    origin = sys._getframe(1).f_globals.get("__name__", "")
    return TASKS.add(task.name, task, origin)
