"""Execute one chunk of a plan, in any process, from registry names alone.

A worker rebuilds what a chunk needs (task, test split, model, resources, fitted
state) from the chunk's :class:`~attrbench.running.plan.Context` and caches it per
process, then attributes the chunk block by block and scores every block with
the chunk's metrics. The result holds per-sequence scores; the driver merges the
chunks of a cell into its records.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from attrbench.core.data import Background, Dataset
from attrbench.core.plugin import (
    METHODS,
    METRICS,
    TASKS,
    Explanation,
    Method,
    Metric,
    NotApplicable,
)
from attrbench.running.allocator import release_memory
from attrbench.running.calling import call_method
from attrbench.running.fits import load_fit
from attrbench.running.plan import RESOURCES_KEY, Chunk, Context, seed_of
from attrbench.running.timing import measure, resolve_device
from attrbench.running.training import checkpoint_path, load_model, predict

__all__ = [
    "Resources",
    "MetricResult",
    "ChunkResult",
    "execute",
    "attribute_batch",
    "shared",
    "model_of",
    "provide",
    "provide_fit",
]

log = logging.getLogger("attrbench")
T = TypeVar("T")


class Resources(Mapping[str, Any]):
    """A task's resources, each built on first use by ``factory(**options)`` and kept.

    Metrics read them as ``ex.resources[name]``; a built resource carries a
    ``hash`` attribute (its content hash) that goes into the keys of the cells
    scored with it, so another knowledge base is another cell.
    """

    def __init__(self, factories: dict[str, Any], options: dict[str, dict[str, Any]]):
        unknown = sorted(set(options) - set(factories))
        if unknown:
            raise ValueError(
                f"options for resources {unknown} that the task does not have "
                f"(it has: {', '.join(factories) or 'none'})"
            )
        self._factories, self._options = factories, options
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            self._built[name] = self._factories[name](**self._options.get(name, {}))
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._factories)

    def __len__(self) -> int:
        return len(self._factories)

    def built(self) -> dict[str, Any]:
        """The resources built so far, by name (to hand to other processes)."""
        return dict(self._built)

    def hashes(self, names: tuple[str, ...]) -> dict[str, str]:
        """``{name: content hash}`` of the named resources (building them)."""
        return {name: str(getattr(self[name], "hash", "")) for name in names}


@dataclass
class MetricResult:
    """A metric's outcome on a chunk: per-sequence scores (n, K), or why there are none.

    ``extra`` is the JSON data of a set-level metric's ``details`` (:class:`Metric`), kept in
    its record's ``extra``.
    """

    status: str = "ok"
    scores: np.ndarray | None = None
    reason: str = ""
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChunkResult:
    """What a chunk returns: per-metric results, its attribution cost and examples.

    ``status`` is ``"ok"`` or ``"not_applicable"`` (the method refused; ``reason``).
    """

    status: str
    ids: list[str] = field(default_factory=list)
    metrics: dict[str, MetricResult] = field(default_factory=dict)
    seconds: float = 0.0
    peak_bytes: int = -1
    device: str = "cpu"
    reason: str = ""
    examples: dict[str, Any] = field(default_factory=dict)


@dataclass
class Shared:
    """A worker's per-run state, built once per process and context."""

    task: Any
    test: Dataset
    resources: Resources
    device: torch.device


#: This process's shared states and models, by context digest (a few runs at most).
_CACHE: dict[tuple[Any, ...], Any] = {}


def _cached(key: tuple[Any, ...], build: Callable[[], T]) -> T:
    if key not in _CACHE:
        if len(_CACHE) >= 8:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = build()
    cached: T = _CACHE[key]
    return cached


def shared(context: Context) -> Shared:
    """The :class:`Shared` state of ``context``, built once in this process."""

    def build() -> Shared:
        task = TASKS.get(context.task)
        test = task.data("test", **context.data_options)
        resources = Resources(task.resources, context.resource_options)
        return Shared(task, test, resources, resolve_device(context.device))

    return _cached(("shared", context.digest), build)


def model_of(context: Context, name: str) -> nn.Module:
    """Zoo model ``name`` of the context's task, loaded once in this process (again when its
    checkpoint file changes)."""
    s = shared(context)
    directory = Path(context.checkpoint_dir) if context.checkpoint_dir else None

    def build() -> nn.Module:
        return load_model(s.task, name, s.device, directory, context.train_hash)

    path = checkpoint_path(s.task, name, directory)
    stamp = (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
    return _cached(("model", context.digest, name, stamp), build)


#: Saved fitted states handed to this process (path -> the file's bytes), read instead of the file.
_FIT_FILES: dict[str, bytes] = {}


def _fitted(path: str, device: str) -> Any:
    def build() -> Any:
        source: Path | IO[bytes] = (
            io.BytesIO(_FIT_FILES[path]) if path in _FIT_FILES else Path(path)
        )
        return load_fit(source, device)

    return _cached(("fit", path, device), build)


def provide_fit(path: str, data: bytes) -> None:
    """Let this process load the fitted state saved at ``path`` from ``data`` (the file's
    bytes), for workers that do not share the driver's file system."""
    _FIT_FILES[path] = data


def provide(
    context: Context,
    test: Dataset,
    resources: dict[str, Any],
    models: dict[str, nn.Module],
) -> None:
    """Seed this process's caches with state the driver built (test split, built resources,
    loaded models), so a worker neither reads the task's files nor builds anything again."""
    key = ("shared", context.digest)
    if key not in _CACHE:
        task = TASKS.get(context.task)
        res = Resources(task.resources, context.resource_options)
        res._built.update(resources)
        _cached(key, lambda: Shared(task, test, res, resolve_device(context.device)))
    device = _CACHE[key].device
    for name, model in models.items():

        def on_device(m: nn.Module = model) -> nn.Module:
            return m.to(device).eval()

        _cached(("model", context.digest, name), on_device)


def attribute_batch(
    model: nn.Module,
    method: Method,
    options: dict[str, Any],
    X: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    background: Background,
    generator: torch.Generator,
    state: Any = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One method call on a batch (:func:`attrbench.running.calling.call_method`): attributions
    (N, A, L) and the baseline it used (or None)."""
    attributions, baseline = call_method(
        model,
        method,
        X,
        target,
        mask,
        options=options,
        background=background,
        generator=generator,
        state=state,
    )
    return attributions, baseline


def execute(chunk: Chunk) -> ChunkResult:
    """Attribute the chunk's sequences block by block and score each block.

    Returns
    -------
    result : ChunkResult
    """
    s = shared(chunk.context)
    model = model_of(chunk.context, chunk.model)
    method = METHODS.get(chunk.method)
    metrics = [METRICS.get(q) for q in chunk.metrics]
    state = _fitted(chunk.fit_path, str(s.device)) if chunk.fit_path else None
    ds = s.test.subset(list(chunk.index))
    task = s.task
    if ds.ground_truth is None and task.ground_truth is not None:
        ds.ground_truth = task.ground_truth(ds)
    result = ChunkResult("ok", ids=list(ds.ids), device=str(s.device))
    size = chunk.context.batch_size
    starts = range(0, len(ds), size)
    bar = tqdm(starts, desc=chunk.method, leave=False, disable=not chunk.progress)
    parts: dict[str, list[Any]] = {q.name: [] for q in metrics}
    blocks: list[Explanation] = []  # kept for set-level metrics only
    for b in bar:
        block = ds.subset(torch.arange(b, min(b + size, len(ds))))
        try:
            ex, timing = _explain_block(chunk, s, model, method, block, state, chunk.start + b)
        except NotApplicable as exc:
            return ChunkResult("not_applicable", ids=result.ids, reason=str(exc))
        result.seconds += timing.seconds
        result.peak_bytes = max(result.peak_bytes, timing.peak_bytes)
        if b == 0 and chunk.examples:
            result.examples = _examples(ex, task, chunk.examples)
        for q in metrics:
            if not q.set_level:
                parts[q.name].append(_score(q, ex, chunk, chunk.start + b))
        if any(q.set_level for q in metrics):
            blocks.append(ex)
        del ex
        release_memory()
    if blocks:
        whole = merge_explanations(blocks, ds)
        for q in metrics:
            if q.set_level:
                parts[q.name].append(_score(q, whole, chunk, chunk.start))
        del whole, blocks
    result.metrics = {name: _merge_blocks(blocks) for name, blocks in parts.items()}
    return result


def _explain_block(
    chunk: Chunk,
    s: Shared,
    model: nn.Module,
    method: Method,
    block: Dataset,
    state: Any,
    start: int,
) -> tuple[Explanation, Any]:
    """Attribute one block and wrap it as the :class:`Explanation` metrics read."""
    dev, bg, opts = s.device, chunk.context.background, chunk.method_options
    seed = chunk.context.seed
    X, mask = block.X.to(dev), block.mask.to(dev)
    target = predict(model, X).argmax(1).to(dev)
    gen = torch.Generator().manual_seed(
        seed_of(seed, s.task.name, chunk.model, chunk.method, start)
    )
    with measure(dev) as timing:
        attr, baseline = attribute_batch(model, method, opts, X, target, mask, bg, gen, state)
    mgen = torch.Generator().manual_seed(seed_of(seed, "metric", chunk.model, chunk.method, start))

    def explain(
        X_: torch.Tensor, t_: torch.Tensor, m_: torch.Tensor, refine: bool = False
    ) -> torch.Tensor:
        """The method as it ran (fitted state, :meth:`Method.rerun` options) on copies."""
        rerun = method.rerun(opts, refine)
        return torch.cat(
            [
                attribute_batch(
                    model,
                    method,
                    rerun,
                    X_[i : i + len(X)],
                    t_[i : i + len(X)],
                    m_[i : i + len(X)],
                    bg,
                    mgen,
                    state,
                )[0]
                for i in range(0, len(X_), max(len(X), 1))
            ]
        )

    ex = Explanation(
        X=X,
        mask=mask,
        y=block.y.to(dev),
        target=target,
        attributions=attr,
        model=model,
        explain=explain,
        method=method,
        background=bg,
        generator=mgen,
        dataset=block,
        ground_truth=block.ground_truth,
        baseline=baseline,
        resources=s.resources,
        device=dev,
        classes=tuple(s.task.classes),
        method_options=dict(opts),
    )
    return ex, timing


def merge_explanations(blocks: list[Explanation], dataset: Dataset) -> Explanation:
    """One :class:`Explanation` of a chunk's blocks, for set-level metrics (``Metric.set_level``).

    Tensors are concatenated along the sequence axis; the model, method, background,
    generator and ``explain`` are the first block's (``explain`` works on any batch).
    """
    first = blocks[0]

    def cat(name: str) -> torch.Tensor:
        return torch.cat([getattr(b, name) for b in blocks])

    def cat_optional(name: str) -> torch.Tensor | None:
        parts = [getattr(b, name) for b in blocks]
        return None if any(p is None for p in parts) else torch.cat(parts)

    return dataclasses.replace(
        first,
        X=cat("X"),
        mask=cat("mask"),
        y=cat("y"),
        target=cat("target"),
        attributions=cat("attributions"),
        baseline=cat_optional("baseline"),
        dataset=dataset,
        ground_truth=dataset.ground_truth,
        cache={},
    )


def _score(metric: Metric, ex: Explanation, chunk: Chunk, start: int) -> MetricResult:
    """One metric on one block; a metric that refuses or fails says so in its result."""
    ex.generator.manual_seed(
        seed_of(chunk.context.seed, metric.name, chunk.model, chunk.method, start)
    )
    options = {
        k: v for k, v in chunk.metric_options.get(metric.name, {}).items() if k != RESOURCES_KEY
    }
    try:
        with measure(ex.device) as timing:
            scores = metric(ex, **options).detach().cpu().double().numpy()
        extra = metric.details(ex) if metric.details is not None else {}
    except NotApplicable as exc:
        return MetricResult("not_applicable", reason=str(exc))
    except Exception as exc:  # a broken metric must not end the run: record and go on
        log.warning("metric %s failed on %s/%s: %r", metric.name, chunk.model, chunk.method, exc)
        return MetricResult("failed", reason=f"{type(exc).__name__}: {exc}")
    return MetricResult("ok", scores, seconds=timing.seconds, extra=extra)


def _merge_blocks(blocks: list[MetricResult]) -> MetricResult:
    """One result from a metric's per-block results (the first refusal or failure wins)."""
    for b in blocks:
        if b.status != "ok":
            return b
    scores = np.concatenate([b.scores for b in blocks]) if blocks else np.zeros((0, 1))
    extra = {k: v for b in blocks for k, v in b.extra.items()}  # set-level: one block
    return MetricResult("ok", scores, seconds=math.fsum(b.seconds for b in blocks), extra=extra)


def _examples(ex: Explanation, task: Any, k: int) -> dict[str, Any]:
    """The first ``k`` sequences' position scores and letters, for attribution logos."""
    from attrbench.core.examples import pack_examples

    k = min(k, len(ex.X))
    gt = ex.ground_truth.subset(range(k)) if ex.ground_truth is not None else None
    return pack_examples(
        list(ex.dataset.ids[:k]),
        ex.X[:k].cpu(),
        ex.attributions[:k].cpu(),
        gt,
        task.alphabet.letters,
        k=k,
    )
