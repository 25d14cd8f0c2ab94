"""The runner: explain a task's test sequences with methods, score them with metrics.

For each model, each method's attributions are computed once, in batches, on
the chosen device; every applicable metric then scores them. Each cell's result
is written as soon as it is known, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from attrbench.contract import validate_attributions, validate_inputs
from attrbench.data import Background, Dataset, content_hash
from attrbench.plugin import (
    METHODS,
    METRICS,
    TASKS,
    Explanation,
    Method,
    Metric,
    NotApplicable,
    Task,
)
from attrbench.results import CellKey, Record, ResultStore, pack_values
from attrbench.stats import bootstrap_mean, classification_scores
from attrbench.timing import measure, resolve_device
from attrbench.training import load_model, predict

__all__ = ["RunConfig", "Resources", "run", "select", "resolve_names", "QUALITY", "COST", "RESOURCES_KEY"]

#: Pseudo-method of the model-quality records.
QUALITY = "(model)"
#: Pseudo-metric of the cost record of each (model, method).
COST = "seconds_per_seq"


@dataclass
class RunConfig:
    """What to run.

    Parameters
    ----------
    task : str
    models, methods, metrics : list of str
        Names; ``["all"]`` means every registered one, models ``["default"]`` the task's default.
    n : int or None
        How many test sequences to explain (None: the task's default; -1: all).
    seed : int
        Chooses the sequences and seeds every random method and metric.
    device : str
        ``cpu``, ``cuda`` or ``auto``.
    batch_size : int
        Sequences per method call.
    force : bool
        Recompute cells whose records exist.
    method_options, metric_options : dict of dict
        Options per method / metric name.
    data_options : dict
        Passed to ``task.data(split, **data_options)`` (e.g. ``path`` of a user's data file).
    checkpoint_dir : Path, optional
        Where to load checkpoints from instead of the task's shipped folder.
    resource_options : dict of dict
        Options per task resource, passed to its factory (e.g.
        ``{"knowledge_base": {"path": "uniprot.tsv"}}``, what ``--kb`` sets).
    """

    task: str
    models: list[str] = field(default_factory=lambda: ["default"])
    methods: list[str] = field(default_factory=lambda: ["all"])
    metrics: list[str] = field(default_factory=lambda: ["all"])
    n: int | None = None
    seed: int = 0
    device: str = "auto"
    batch_size: int = 64
    force: bool = False
    method_options: dict[str, dict] = field(default_factory=dict)
    metric_options: dict[str, dict] = field(default_factory=dict)
    data_options: dict = field(default_factory=dict)
    checkpoint_dir: Path | None = None
    resource_options: dict[str, dict] = field(default_factory=dict)
    progress: bool = True


#: The entry of a cell key's metric options that names the resources' hashes (not passed to the metric).
RESOURCES_KEY = "resources"


class Resources(Mapping):
    """A task's resources, each built on first use by ``factory(**options)`` and kept.

    Metrics read them as ``ex.resources[name]``; a built resource carries a
    ``hash`` attribute (its content hash) that goes into the keys of the cells
    scored with it, so another knowledge base is another cell.
    """

    def __init__(self, factories: dict[str, Callable[..., Any]], options: dict[str, dict]):
        unknown = sorted(set(options) - set(factories))
        if unknown:
            raise ValueError(
                f"options for resources {unknown} that the task does not have "
                f"(it has: {', '.join(factories) or 'none'})"
            )
        self._factories, self._options, self._built = factories, options, {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            factory = self._factories[name]
            self._built[name] = factory(**self._options.get(name, {}))
        return self._built[name]

    def __iter__(self):
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def hashes(self, names: tuple[str, ...]) -> dict[str, str]:
        """``{name: content hash}`` of the named resources (building them)."""
        return {name: str(getattr(self[name], "hash", "")) for name in names}


def resolve_names(names: list[str], registry: Any) -> list[str]:
    """Expand ``all`` and check every name (unknown names raise with close names)."""
    if names == ["all"]:
        return registry.names()
    for name in names:
        registry.get(name)
    return list(dict.fromkeys(names))


def _models(task: Task, names: list[str]) -> list[str]:
    if names == ["default"]:
        return [task.default_model]
    if names == ["all"]:
        return list(task.models)
    for name in names:
        task.model(name)
    return list(dict.fromkeys(names))


def select_index(total: int, n: int, seed: int) -> torch.Tensor:
    """Indices (n,) of ``n`` of ``total`` items drawn without replacement by ``seed``, sorted."""
    perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return perm[:n].sort().values


def select(ds: Dataset, n: int, seed: int) -> Dataset:
    """``n`` sequences of ``ds`` drawn without replacement by ``seed``, in their original order."""
    if n < 0 or n >= len(ds):
        return ds
    return ds.subset(select_index(len(ds), n, seed))


def _seed(*parts: Any) -> int:
    return int(content_hash("\x1f".join(map(str, parts))), 16) % (2**63)


@dataclass
class _Context:
    """The per-run state shared by every cell."""

    task: Task
    config: RunConfig
    store: ResultStore
    device: torch.device
    train: Dataset
    explained: Dataset
    background: Background
    test: Dataset | None = None
    resources: Mapping = field(default_factory=dict)
    records: list[Record] = field(default_factory=list)

    def key(self, model: nn.Module, method: str, metric: str, mopts: dict, qopts: dict, n: int) -> CellKey:
        return CellKey(
            task=self.task.name, task_version=self.task.version, data_hash=self.explained.hash,
            model=model.zoo_name, checkpoint_hash=model.checkpoint_hash, method=method,
            method_options=mopts, metric=metric, metric_options=qopts, n=n, seed=self.config.seed,
        )

    def done(self, key: CellKey) -> Record | None:
        """The finished record of ``key`` unless ``--force``; failed cells are redone."""
        if self.config.force:
            return None
        rec = self.store.get(key)
        return rec if rec is not None and rec.status != "failed" else None

    def put(self, record: Record) -> None:
        record.device = record.device or str(self.device)
        self.store.put(record)
        self.records.append(record)


def run(config: RunConfig, store: ResultStore) -> list[Record]:
    """Run ``config``, writing one record per cell into ``store``.

    Returns
    -------
    records : list of Record
        The records of every requested cell, found or computed.
    """
    task = TASKS.get(config.task)
    models = _models(task, config.models)
    methods = [METHODS.get(m) for m in resolve_names(config.methods, METHODS)]
    metrics = [METRICS.get(m) for m in resolve_names(config.metrics, METRICS)]
    ctx = _prepare(task, config, store)
    for model_name in models:
        model = load_model(task, model_name, ctx.device, config.checkpoint_dir, ctx.train.hash)
        _model_quality(ctx, model)
        target = predict(model, ctx.explained.X).argmax(1)
        bar = tqdm(methods, desc=f"{task.name}/{model_name}", disable=not config.progress)
        for method in bar:
            bar.set_postfix_str(method.name)
            _run_cell(*_capped(ctx, method, target), model, method, metrics)
    return ctx.records


def _prepare(task: Task, config: RunConfig, store: ResultStore) -> _Context:
    device = resolve_device(config.device)
    if config.data_options and not _takes_options(task.data, config.data_options):
        raise ValueError(f"task {task.name!r} does not read a data file of yours (--data)")
    train, test = (task.data(s, **config.data_options) for s in ("train", "test"))
    n = task.default_n if config.n is None else config.n
    explained = select(test, n, config.seed)
    validate_inputs(explained.X, explained.mask, explained.y, len(task.alphabet))
    if explained.ground_truth is None and task.ground_truth is not None:
        explained.ground_truth = task.ground_truth(explained)
    background = task.background(train) if task.background else Background.from_dataset(train.X)
    quality = test if task.quality_split == "test" else task.data(task.quality_split, **config.data_options)
    resources = Resources(task.resources, config.resource_options)
    return _Context(task, config, store, device, train, explained, background, quality, resources)


def _takes_options(fn: Any, options: dict) -> bool:
    params = inspect.signature(fn).parameters
    return all(k in params for k in options) or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _model_quality(ctx: _Context, model: nn.Module) -> None:
    """Accuracy (with interval), F1 micro and macro on the task's quality split, once per model."""
    test = ctx.test
    split = {"split": ctx.task.quality_split}
    keys = {m: ctx.key(model, QUALITY, m, {}, split, len(test)) for m in ("accuracy", "f1_micro", "f1_macro")}
    found = {m: ctx.done(k) for m, k in keys.items()}
    if all(found.values()):
        ctx.records.extend(found.values())
        return
    pred = predict(model, test.X).argmax(1)
    scores = classification_scores(test.y, pred, len(ctx.task.classes))
    correct = bootstrap_mean((pred == test.y).float(), seed=ctx.config.seed)
    for metric, key in keys.items():
        low, high = (correct.low, correct.high) if metric == "accuracy" else (None, None)
        ctx.put(Record(key, "ok", True, scores[metric], low, high, n_scored=len(test)))


def _capped(ctx: _Context, method: Method, target: torch.Tensor) -> tuple[_Context, torch.Tensor]:
    """The context and targets of ``method``: on the default ``n``, a costly method the task
    caps (``Task.method_n``) explains only a seeded subset of the explained sequences."""
    cap = ctx.task.method_n.get(method.name)
    if ctx.config.n is not None or cap is None or cap >= len(ctx.explained):
        return ctx, target
    index = select_index(len(ctx.explained), cap, ctx.config.seed)
    return dataclasses.replace(ctx, explained=ctx.explained.subset(index)), target[index]


def _run_cell(
    ctx: _Context, target: torch.Tensor, model: nn.Module, method: Method, metrics: list[Metric]
) -> None:
    """Attribute once with ``method``, then score with every metric whose record is missing."""
    mopts = {**method.defaults, **ctx.config.method_options.get(method.name, {})}
    n = len(ctx.explained)
    cost_key = ctx.key(model, method.name, COST, mopts, {}, n)
    keys = {
        q.name: ctx.key(model, method.name, q.name, mopts, _qopts(ctx, q), n) for q in metrics
    }
    todo = [q for q in metrics if not _reuse(ctx, keys[q.name])]
    cost_done = _reuse(ctx, cost_key)
    if not todo and cost_done:
        return
    reason = method.why_not(model)
    if reason:
        for key in [*(keys[q.name] for q in todo), cost_key]:
            ctx.put(Record(key, "not_applicable", reason=reason))
        return
    try:
        attributions, baseline, timing, state = _attribute(ctx, model, method, mopts, target)
    except NotApplicable as exc:
        for key in [*(keys[q.name] for q in todo), cost_key]:
            ctx.put(Record(key, "not_applicable", reason=str(exc)))
        return
    if not cost_done:
        ctx.put(Record(
            cost_key, "ok", False, timing.seconds / n, n_scored=n, wall_time=timing.seconds,
            device=timing.device, extra={"peak_bytes": timing.peak_bytes, "seconds": timing.seconds},
        ))
    ex = _explanation(ctx, model, method, mopts, target, attributions, baseline, state)
    for metric in todo:
        ctx.put(_score(ctx, metric, ex, keys[metric.name]))


def _qopts(ctx: _Context, metric: Metric) -> dict:
    """The metric's options in its cell key, with the hashes of the resources it scores against."""
    opts = {**metric.defaults, **ctx.config.metric_options.get(metric.name, {})}
    if metric.needs_resources and all(r in ctx.resources for r in metric.needs_resources):
        opts[RESOURCES_KEY] = ctx.resources.hashes(metric.needs_resources)
    return opts


def _reuse(ctx: _Context, key: CellKey) -> bool:
    rec = ctx.done(key)
    if rec is not None:
        ctx.records.append(rec)
    return rec is not None


def _call(
    ctx: _Context, model: nn.Module, method: Method, mopts: dict, batch: tuple, gen: torch.Generator,
    state: Any = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One method call on a batch ``(X, target, mask)``: attributions and the baseline drawn for it."""
    X, target, mask = (t.to(ctx.device) for t in batch)
    kwargs = {**mopts, "background": ctx.background, "generator": gen, "state": state}
    baseline = None
    if method.reference is not None:
        baseline = kwargs["baseline"] = method.reference(X, ctx.background, gen, **mopts)
    attr = method(model, X, target, mask, **kwargs).detach()
    validate_attributions(attr, X, method.name)
    return attr, baseline


def _batches(ds_X: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, size: int):
    for i in range(0, len(ds_X), size):
        yield ds_X[i : i + size], target[i : i + size], mask[i : i + size]


def _attribute(
    ctx: _Context, model: nn.Module, method: Method, mopts: dict, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None, Any, Any]:
    """Attributions (N, A, L) of the explained set in batches, the baselines used, the timing and fitted state."""
    gen = torch.Generator().manual_seed(_seed(ctx.config.seed, ctx.task.name, model.zoo_name, method.name))
    ds = ctx.explained
    state = _fit(ctx, model, method, mopts, gen)
    outs, refs = [], []
    batches = list(_batches(ds.X, target, ds.mask, ctx.config.batch_size))
    with measure(ctx.device) as timing:
        for batch in tqdm(batches, desc=method.name, leave=False, disable=not ctx.config.progress):
            attr, baseline = _call(ctx, model, method, mopts, batch, gen, state)
            outs.append(attr.cpu())
            if baseline is not None:
                refs.append(baseline.cpu())
    return torch.cat(outs), (torch.cat(refs) if refs else None), timing, state


def _fit(ctx: _Context, model: nn.Module, method: Method, mopts: dict, gen: torch.Generator) -> Any:
    """The fitted state of a method that declares ``fit``, cached on disk per (task, model, options)."""
    if method.fit is None:
        return None
    digest = content_hash(ctx.task.name, ctx.task.version, model.checkpoint_hash, method.name, repr(sorted(mopts.items())))
    path = ctx.store.root / "fits" / ctx.task.name / model.zoo_name / f"{method.name}-{digest}.pt"
    if path.is_file() and not ctx.config.force:
        return torch.load(path, map_location=ctx.device, weights_only=False)
    with measure(ctx.device) as timing:
        state = method.fit(model, ctx.train, background=ctx.background, generator=gen, **mopts)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    print(f"fitted {method.name} for {model.zoo_name} in {timing.seconds:.1f} s", file=sys.stderr)
    return state


def _explanation(
    ctx: _Context, model: nn.Module, method: Method, mopts: dict, target: torch.Tensor,
    attributions: torch.Tensor, baseline: torch.Tensor | None, state: Any,
) -> Explanation:
    """The record metrics read; its ``explain`` re-attributes with the same method and options."""
    ds, dev = ctx.explained, ctx.device
    gen = torch.Generator().manual_seed(_seed(ctx.config.seed, "metric", model.zoo_name, method.name))

    def explain(X: torch.Tensor, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        parts = _batches(X, t, mask, ctx.config.batch_size)
        return torch.cat([_call(ctx, model, method, mopts, b, gen, state)[0] for b in parts])

    return Explanation(
        X=ds.X.to(dev), mask=ds.mask.to(dev), y=ds.y.to(dev), target=target.to(dev),
        attributions=attributions.to(dev), model=model, explain=explain, method=method,
        background=ctx.background, generator=gen, dataset=ds, ground_truth=ds.ground_truth,
        baseline=None if baseline is None else baseline.to(dev), resources=ctx.resources, device=dev,
        classes=tuple(ctx.task.classes),
    )


def _score(ctx: _Context, metric: Metric, ex: Explanation, key: CellKey) -> Record:
    """Score one cell; a metric that does not apply or fails gives a record saying so."""
    reason = metric.why_not(ctx.task, ex.method, ex.ground_truth is not None)
    if reason:
        return Record(key, "not_applicable", reason=reason)
    ex.generator.manual_seed(_seed(ctx.config.seed, metric.name, key.model, key.method))
    try:
        with measure(ctx.device) as timing:
            options = {k: v for k, v in key.metric_options.items() if k != RESOURCES_KEY}
            scores = metric(ex, **options).detach().cpu().double()
    except NotApplicable as exc:
        return Record(key, "not_applicable", reason=str(exc))
    except Exception as exc:  # a broken metric must not end the run: record and go on
        print(f"metric {metric.name} failed on {key.model}/{key.method}: {exc!r}", file=sys.stderr)
        return Record(key, "failed", reason=f"{type(exc).__name__}: {exc}")
    names = metric.columns or (metric.name,)
    cols = {
        c: {**vars(bootstrap_mean(scores[:, j], seed=ctx.config.seed)),
            "higher_is_better": metric.column_directions.get(c, metric.higher_is_better)}
        for j, c in enumerate(names)
    }
    main = cols[names[0]]
    extra = {}
    if metric.invalid_above is not None:
        extra = {"invalid_above": metric.invalid_above, "invalid": bool(main["mean"] > metric.invalid_above)}
    return Record(
        key, "ok", metric.higher_is_better, main["mean"], main["low"], main["high"],
        n_scored=main["n"], n_missing=main["n_missing"], columns=cols, wall_time=timing.seconds,
        extra=extra, per_sequence=pack_values(ex.dataset.ids, scores.numpy(), names),
    )
