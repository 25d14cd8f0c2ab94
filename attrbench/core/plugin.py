"""The three plugin records (Task, Method, Metric), their registries and decorators.

A method is a function ``fn(model, X, target, mask, **options) -> attributions``
with its capabilities declared once at registration. A metric is a pure
function ``fn(ex: Explanation, **options) -> scores (N,) or (N, K)`` with its
direction and requirements declared once. A task is declared data plus the
functions that make its data, models and ground truth.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from attrbench.core.contract import Alphabet, position_scores
from attrbench.core.data import Background, Dataset, GroundTruth
from attrbench.core.registry import Registry, RegistryError, check_name

__all__ = [
    "NotApplicable",
    "PluginFieldError",
    "Option",
    "OptionError",
    "validate_options",
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


class PluginFieldError(RegistryError):
    """A plugin record (Task, Method, Metric) has a field of the wrong kind; one line, naming it."""


# --------------------------------------------------------------------------- field checks


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is(*types: type) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, types)


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _tuple_of(kind: type) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, tuple) and all(isinstance(x, kind) for x in v)


def _dict_of(key: type, value: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: (
        isinstance(v, dict) and all(isinstance(k, key) and value(x) for k, x in v.items())
    )


#: A field rule: a check of the value, and what the error message says it must be.
_Rule = tuple[Callable[[Any], bool], str]

_BOOL, _STR, _DICT = _is(bool), _is(str), _is(dict)
_CALLABLE: Callable[[Any], bool] = callable
_NUMBER: Callable[[Any], bool] = lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)  # noqa: E731
_INT: Callable[[Any], bool] = lambda v: isinstance(v, int) and not isinstance(v, bool)  # noqa: E731


def _check_fields(kind: str, record: Any, rules: dict[str, _Rule]) -> None:
    """Raise :class:`PluginFieldError` on the first field of ``record`` that breaks its rule."""
    name = getattr(record, "name", None)
    if not isinstance(name, str):
        raise PluginFieldError(f"{kind} {_short(name)}: name must be a str")
    check_name(name, kind)
    for field_name, (ok, expected) in rules.items():
        value = getattr(record, field_name)
        if not ok(value):
            raise PluginFieldError(
                f"{kind} {name!r}: {field_name} must be {expected}, got {_short(value)}"
            )


def _unknown_fields(kind: str, name: str, record_type: type, fields: dict[str, Any]) -> None:
    """Raise :class:`PluginFieldError` on registration fields the record does not have."""
    known = [f.name for f in dataclasses.fields(record_type)]
    for key in fields:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise PluginFieldError(
                f"{kind} {name!r}: unknown field {key!r}{hint}; "
                f"known: {', '.join(k for k in known if k not in ('name', 'fn'))}"
            )


# --------------------------------------------------------------------------- options


class OptionError(ValueError):
    """An option value or key a plugin does not take; the message is one line naming it."""


@dataclass(frozen=True)
class Option:
    """The declared type and range of one option of a method or metric.

    Parameters
    ----------
    kind : type or tuple of types, optional
        The accepted types (``int`` also passes where ``float`` is accepted; ``bool``
        never passes as a number). None: any type.
    low, high : float, optional
        Inclusive bounds of a number.
    choices : tuple, optional
        The allowed values of a text (other types are checked by ``kind`` only, e.g. a
        tensor baseline next to the choices ``"zeros"``, ``"background"``).
    none : bool
        ``None`` is allowed.
    """

    kind: type | tuple[type, ...] | None = None
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] | None = None
    none: bool = False

    def why_not(self, value: Any) -> str | None:
        """Why ``value`` is not allowed (what is expected), or None if it is."""
        if value is None:
            return None if self.none else "must be set (not null)"
        kinds = self.kind if isinstance(self.kind, tuple) else (self.kind,) if self.kind else ()
        if float in kinds:
            kinds = (*kinds, int)
        if kinds and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            return f"expected {' or '.join(k.__name__ for k in kinds if k is not int or float not in kinds)}"
        if self.choices is not None and isinstance(value, str) and value not in self.choices:
            return f"expected one of {', '.join(map(str, self.choices))}"
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and self.low is not None and value < self.low:
            return f"must be >= {self.low:g}"
        if number and self.high is not None and value > self.high:
            return f"must be <= {self.high:g}"
        return None


#: Common options, for plugins to reuse in their ``option_schema``.
POSITIVE_INT = Option(int, low=1)
NON_NEGATIVE = Option(float, low=0)
FLAG = Option(bool)


def known_options(plugin: Method | Metric) -> set[str]:
    """Every option key ``plugin`` takes: its declared schema, its defaults and the named
    keyword parameters of its functions (not the context the runner supplies)."""
    keys = set(plugin.option_schema) | set(plugin.defaults)
    if isinstance(plugin, Method):
        fns = [(plugin.fn, 4), (plugin.fit, 2), (plugin.reference, 1)]
        context = [c for c in METHOD_CONTEXT if c not in plugin.defaults]
    else:
        fns, context = [(plugin.fn, 1)], []
    for fn, skip in fns:
        if fn is None:
            continue
        for i, p in enumerate(inspect.signature(fn).parameters.values()):
            if i >= skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                keys.add(p.name)
    return keys - set(context)


def validate_options(plugin: Method | Metric, options: dict[str, Any]) -> None:
    """Check ``options`` (the user's, or resolved ones) against what ``plugin`` declares.

    Every plugin, whether or not its function takes ``**options``: a key it does not
    know is refused (with close names), a value outside its :class:`Option` (type,
    range, choices) is refused with what is expected.

    Raises
    ------
    OptionError
        One line: ``option NAME.KEY=VALUE: why``.
    """
    from attrbench.core.registry import UnknownNameError, did_you_mean

    known = known_options(plugin)
    for key, value in options.items():
        if key not in known:
            try:
                did_you_mean(key, {k: k for k in sorted(known)}, f"option of {plugin.name}")
            except UnknownNameError as exc:
                raise OptionError(f"option {plugin.name}.{key}: {exc}") from None
        option = plugin.option_schema.get(key)
        why = option.why_not(value) if option is not None else None
        if why:
            raise OptionError(f"option {plugin.name}.{key}={value!r}: {why}")


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
    rerun_options : dict
        Options that replace the run's when a metric re-runs the method on modified
        copies of the input or model (:attr:`Explanation.explain`, e.g. shifted
        copies): the method as it ran, without its per-input optimisation (the
        scramblers' ``{"finetune_steps": 0, ...}``), unless the metric is asked to
        refine every copy.
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
    option_schema : dict of str to Option
        The type and range of each option (:func:`validate_options` checks them, and
        refuses keys the method does not take, before any work).
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
    rerun_options: dict[str, Any] = field(default_factory=dict)
    reference: Callable[..., torch.Tensor] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    position_level: bool = False
    floor: Callable[[dict[str, Any], float, int], tuple[float, float]] | None = None
    option_schema: dict[str, Option] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        _check_fields("method", self, _METHOD_RULES)

    def rerun(self, options: dict[str, Any], refine: bool = False) -> dict[str, Any]:
        """The options of a metric's re-run of the method on modified copies: ``options`` with
        :attr:`rerun_options` over them (``refine``: ``options`` as they are)."""
        return dict(options) if refine else {**options, **self.rerun_options}

    def fit_options(self, options: dict[str, Any]) -> dict[str, Any]:
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
        self,
        model: nn.Module,
        X: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        **kwargs: Any,
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
        options = {k: v for k, v in options.items() if k in accepted or k not in METHOD_CONTEXT}
        return self.fn(model, X, target, mask, **options).float()


_METHOD_RULES: dict[str, _Rule] = {
    "fn": (_CALLABLE, "callable fn(model, X, target, mask, **options)"),
    **dict.fromkeys(
        ("complete", "deterministic", "needs_attention", "needs_embedding", "position_level"),
        (_BOOL, "a bool"),
    ),
    **dict.fromkeys(
        ("applicable", "fit", "reference", "floor"), (_optional(callable), "None or callable")
    ),
    "fit_ignores": (_tuple_of(str), "a tuple of option names (str)"),
    "defaults": (_dict_of(str, lambda v: True), "a dict of options by name (str keys)"),
    "rerun_options": (_dict_of(str, lambda v: True), "a dict of options by name (str keys)"),
    "description": (_STR, "a str"),
}


@functools.cache
def _accepted(fn: Callable[..., Any]) -> frozenset[str]:
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
        ``explain(X, target, mask) -> attributions``: the method under test as it
        ran (its fitted state, its options with :attr:`Method.rerun_options`
        over them: never refitted or fine-tuned per copy), for metrics that
        re-attribute modified inputs; ``explain(X, target, mask, refine=True)``
        runs the method's per-input optimisation on the copies too.
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
    resources: Mapping[str, Any] = field(default_factory=dict)
    device: torch.device = torch.device("cpu")
    classes: tuple[str, ...] = ()
    method_options: dict[str, Any] = field(default_factory=dict)
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

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
        (:func:`attrbench.running.cell.merge_explanations`); it returns (N, K) rows of
        which the first holds the set's scores and the others NaN, so the cell's
        mean is the set score and its n is 1.
    details : callable, optional
        ``details(ex) -> dict``, set-level metrics only: called after ``fn`` on the same
        :class:`Explanation`, it returns JSON data (lists, numbers, text) that the cell's
        record keeps in ``extra`` (``motif_discovery``: the discovered patterns and their
        matches, which the site draws as logos).
    defaults : dict
    option_schema : dict of str to Option
        The type and range of each option, as for :class:`Method`.
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
    details: Callable[[Explanation], dict[str, Any]] | None = None
    defaults: dict[str, Any] = field(default_factory=dict)
    option_schema: dict[str, Option] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        _check_fields("metric", self, _METRIC_RULES)
        if self.details is not None and not self.set_level:
            raise PluginFieldError(
                f"metric {self.name!r}: details is for set-level metrics (set_level=True), "
                "whose one call per cell gives one record's extra"
            )
        stray = sorted(set(self.column_directions) - set(self.columns))
        if stray:
            raise PluginFieldError(
                f"metric {self.name!r}: column_directions names columns it does "
                f"not have: {', '.join(stray)} (columns: {', '.join(self.columns) or 'none'})"
            )

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

    def __call__(self, ex: Explanation, **options: Any) -> torch.Tensor:
        """Scores of shape (N, K) with K = max(1, len(columns))."""
        out = self.fn(ex, **{**self.defaults, **options})
        return out[:, None] if out.dim() == 1 else out


_METRIC_RULES: dict[str, _Rule] = {
    "fn": (_CALLABLE, "callable fn(ex, **options)"),
    **dict.fromkeys(("higher_is_better", "needs_ground_truth", "only_complete"), (_BOOL, "a bool")),
    "columns": (_tuple_of(str), "a tuple of column names (str)"),
    "column_directions": (_dict_of(str, _BOOL), "a dict of column name to bool"),
    "needs_resources": (_tuple_of(str), "a tuple of resource names (str)"),
    "invalid_above": (_optional(_NUMBER), "None or a number"),
    "details": (_optional(callable), "None or callable details(ex) -> dict"),
    "defaults": (_dict_of(str, lambda v: True), "a dict of options by name (str keys)"),
    "description": (_STR, "a str"),
}


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
    plan: Callable[..., list[Any]] | None = None
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
    trained : bool
        False for a model whose weights ``build()`` sets itself (seeded): it has
        no checkpoint file and is not trained; its ``checkpoint_hash`` is the hash
        of its parameters.
    """

    name: str
    build: Callable[[], nn.Module]
    config: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    trained: bool = True


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
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    metric_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    reports: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        _check_fields("task", self, _TASK_RULES)
        if self.default_model not in self.models:
            raise PluginFieldError(
                f"task {self.name!r}: default_model {self.default_model!r} is not "
                f"one of its models ({', '.join(self.models) or 'none'})"
            )

    def model(self, name: str) -> ModelSpec:
        """The zoo entry ``name``; unknown names get "did you mean"."""
        from attrbench.core.registry import did_you_mean

        return did_you_mean(name, self.models, f"model for task {self.name!r}")


_TASK_RULES: dict[str, _Rule] = {
    "version": (_STR, "a str"),
    "alphabet": (_is(Alphabet), "an attrbench.Alphabet"),
    "classes": (
        lambda v: _tuple_of(str)(v) and len(v) > 0,
        "a non-empty tuple of class names (str)",
    ),
    "data": (_CALLABLE, "callable data(split, **options) -> Dataset"),
    "models": (
        lambda v: _dict_of(str, _is(ModelSpec))(v) and len(v) > 0,
        "a non-empty dict of model name to ModelSpec",
    ),
    "default_model": (_STR, "a str"),
    "checkpoint_dir": (_is(Path, str), "a Path"),
    "ground_truth": (_optional(callable), "None or callable ground_truth(ds)"),
    "background": (_optional(callable), "None or callable background(train)"),
    "default_n": (_INT, "an int"),
    "method_n": (
        _dict_of(str, lambda v: _INT(v) and v > 0),
        "a dict of method name to a positive int",
    ),
    "ground_truth_n": (_optional(lambda v: _INT(v) and v > 0), "None or a positive int"),
    "quality_split": (lambda v: v in ("train", "valid", "test"), "one of 'train', 'valid', 'test'"),
    "method_options": (_dict_of(str, _DICT), "a dict of method name to a dict of options"),
    "metric_options": (_dict_of(str, _DICT), "a dict of metric name to a dict of options"),
    "resources": (_dict_of(str, callable), "a dict of resource name to a callable factory"),
    "reports": (_dict_of(str, _is(Report)), "a dict of report name to Report"),
    "description": (_STR, "a str"),
}


# --------------------------------------------------------------------------- registries

TASKS: Registry[Task] = Registry("task", "attrbench.tasks")
METHODS: Registry[Method] = Registry("method", "attrbench.methods")
METRICS: Registry[Metric] = Registry("metric", "attrbench.metrics")


def _method(name: str, fn: Callable[..., Any], **fields: Any) -> Method:
    _unknown_fields("method", name, Method, fields)
    if isinstance(fields.get("fit_ignores"), list):
        fields["fit_ignores"] = tuple(fields["fit_ignores"])
    return Method(name=name, fn=fn, description=fields.pop("description", _doc(fn)), **fields)


def _metric(name: str, fn: Callable[..., Any], **fields: Any) -> Metric:
    _unknown_fields("metric", name, Metric, fields)
    for key in ("columns", "needs_resources"):
        if isinstance(fields.get(key), list):
            fields[key] = tuple(fields[key])
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

    from attrbench.core.registry import check_name

    origin = sys._getframe(1).f_globals.get("__name__", "")
    for model in task.models:
        check_name(model, f"model of task {task.name!r}", origin)
    return TASKS.add(task.name, task, origin)
