"""The runner: plan a run, execute its chunks with an executor, write the records.

For each model, each method's cell covers an explained set of test sequences
(:func:`attrbench.running.plan.explained_sets`); its chunks are executed anywhere
(:mod:`attrbench.running.executors`) and merged here into one record per (cell, metric)
and a cost record. Each cell's records are written as soon as its chunks are in;
chunks of a multi-chunk cell are kept on disk until then, so an interrupted run
resumes where it stopped, whatever executor finishes it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from attrbench.core.contract import validate_inputs
from attrbench.core.data import Dataset, content_hash
from attrbench.core.plugin import METHODS, METRICS, TASKS, Method, Metric, NotApplicable, Task
from attrbench.core.registry import Registry
from attrbench.reporting import validity
from attrbench.reporting.stats import bootstrap_mean, classification_scores
from attrbench.running.cell import ChunkResult, MetricResult, Resources, model_of, shared
from attrbench.running.chunks import chunk_path, read_chunk, write_chunk
from attrbench.running.executors import Executor, LocalExecutor
from attrbench.running.fits import ensure_fit, training_background
from attrbench.running.locks import FileLock, lock_path
from attrbench.running.plan import (
    COST,
    QUALITY,
    RESOURCES_KEY,
    Cell,
    Chunk,
    Context,
    PlannedCell,
    RunConfig,
    chunks_of,
    explained_sets,
    make_plan,
    select,
    select_index,
)
from attrbench.running.results import CellKey, Record, ResultStore, pack_values
from attrbench.running.training import predict, predict_dataset

__all__ = [
    "RunConfig",
    "Resources",
    "run",
    "select",
    "select_index",
    "resolve_names",
    "QUALITY",
    "COST",
    "RESOURCES_KEY",
    "EXAMPLES",
    "chunk_size",
]

log = logging.getLogger("attrbench")

#: Sequences of each cell kept as attribution examples in its cost record.
EXAMPLES = 3


def resolve_names(names: list[str], registry: Registry[Any]) -> list[str]:
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


class _Driver:
    """The driver's side of a run: keys, finished records, fits and merging."""

    def __init__(self, task: Task, config: RunConfig, store: ResultStore, train: Dataset):
        self.task, self.config, self.store = task, config, store
        if config.data_options and not _takes_options(task.data, config.data_options):
            raise ValueError(f"task {task.name!r} does not read a data file of yours (--data)")
        background = training_background(task, train)
        self.context = Context(
            task.name,
            config.seed,
            config.device,
            config.batch_size,
            dict(config.data_options),
            str(config.checkpoint_dir) if config.checkpoint_dir else None,
            dict(config.resource_options),
            background,
            train.hash,
        )
        self.shared = shared(self.context)
        self.records: list[Record] = []
        #: Per model, why ground-truth metrics are n/a on it (None: they apply).
        self.gates: dict[str, str | None] = {}
        #: How many chunks the executor runs at once (:func:`chunk_size`).
        self.width = 1

    def key(
        self,
        model: nn.Module,
        method: str,
        metric: str,
        mopts: dict[str, Any],
        qopts: dict[str, Any],
        data_hash: str,
        n: int,
    ) -> CellKey:
        return CellKey(
            task=self.task.name,
            task_version=self.task.version,
            data_hash=data_hash,
            model=str(model.zoo_name),
            checkpoint_hash=str(model.checkpoint_hash),
            method=method,
            method_options=mopts,
            metric=metric,
            metric_options=qopts,
            n=n,
            seed=self.config.seed,
        )

    def done(self, key: CellKey) -> Record | None:
        """The finished record of ``key`` unless ``--force``; failed cells are redone."""
        if self.config.force:
            return None
        rec = self.store.get(key)
        return rec if rec is not None and rec.status != "failed" else None

    def reuse(self, key: CellKey) -> bool:
        rec = self.done(key)
        if rec is not None:
            self.records.append(rec)
        return rec is not None

    def put(self, record: Record) -> None:
        record.device = record.device or str(self.shared.device)
        self.store.put(record)
        self.records.append(record)

    def qopts(self, metric: Metric, options: dict[str, Any]) -> dict[str, Any]:
        """The metric's options (:func:`~attrbench.running.plan.metric_options`) as its cell key holds
        them: with the hashes of the resources it scores against."""
        opts = dict(options)
        resources = self.shared.resources
        if metric.needs_resources and all(r in resources for r in metric.needs_resources):
            opts[RESOURCES_KEY] = resources.hashes(metric.needs_resources)
        return opts


def _takes_options(fn: Any, options: dict[str, Any]) -> bool:
    import inspect

    params = inspect.signature(fn).parameters
    return all(k in params for k in options) or any(
        p.kind is p.VAR_KEYWORD for p in params.values()
    )


def run(config: RunConfig, store: ResultStore, executor: Executor | None = None) -> list[Record]:
    """Run ``config``, writing one record per cell into ``store``.

    Parameters
    ----------
    executor : Executor, optional
        Where chunks run (default: :class:`~attrbench.running.executors.LocalExecutor`). With an
        executor that runs several chunks at once (its ``workers``) and no
        ``config.chunk_size``, cells are cut into chunks of one batch
        (:func:`chunk_size`), so workers share big cells; the records are the same.

    Returns
    -------
    records : list of Record
        The records of every requested cell, found or computed.
    """
    executor = executor or LocalExecutor()
    task = TASKS.get(config.task)
    models = _models(task, config.models)
    methods = [METHODS.get(m) for m in resolve_names(config.methods, METHODS)]
    metrics = [METRICS.get(m) for m in resolve_names(config.metrics, METRICS)]
    train = task.data("train", **config.data_options)
    _nonempty(task, config, train, "training")
    driver = _Driver(task, config, store, train)
    driver.width = _width(executor, task, methods, metrics)
    _build_resources(driver, metrics)
    test = driver.shared.test
    _nonempty(task, config, test, "test")
    loaded = {name: model_of(driver.context, name) for name in models}
    planned = make_plan(task, test, loaded, methods, metrics, config)
    _validate_explained(task, test, planned)
    sets = explained_sets(task, test, config, metrics)
    cells = []
    for name, model in loaded.items():
        _model_quality(driver, model)
        _truth_reliance(driver, model, sets, metrics)
        cells += [c for p in planned if p.model == name for c in _cell_of(driver, model, p, train)]
    del train
    _execute(driver, cells, executor)
    return driver.records


def _width(executor: Executor, task: Task, methods: list[Method], metrics: list[Metric]) -> int:
    """How many chunks ``executor`` runs at once for this run's cells (its ``width`` or
    ``workers``; 1 if it says neither)."""
    if hasattr(executor, "width"):
        return int(executor.width(task.name, [m.name for m in methods], [q.name for q in metrics]))
    return int(getattr(executor, "workers", 1) or 1)


def chunk_size(config: RunConfig, width: int) -> int | None:
    """Sequences per chunk: ``config.chunk_size`` if given; else one chunk per cell in one
    process (None) and one batch per chunk when ``width`` > 1 workers share the cells.

    A chunk of one batch lets two workers split any cell of more than one batch, and
    no worker waits on another for longer than one batch of one cell at the end.
    """
    if config.chunk_size is not None or width <= 1:
        return config.chunk_size
    return config.batch_size


def _nonempty(task: Task, config: RunConfig, ds: Dataset, split: str) -> None:
    """A user's data that yields no sequences is an error naming it (not an empty run)."""
    if len(ds):
        return
    given = ", ".join(f"{k}={v}" for k, v in config.data_options.items()) or "the shipped data"
    raise ValueError(
        f"task {task.name!r}: {given} yields no {split} sequences (every window holding "
        "an unknown letter such as N is dropped; check the file)"
    )


def _build_resources(driver: _Driver, metrics: list[Metric]) -> None:
    """Build (parse, index) the resources the requested metrics need before any work, so a
    bad resource file (``--kb``) is reported at once."""
    resources = driver.shared.resources
    for name in dict.fromkeys(r for q in metrics for r in q.needs_resources):
        if name in resources:
            resources[name]


def _validate_explained(task: Task, test: Dataset, planned: list[PlannedCell]) -> None:
    """Check the tensors of every sequence the plan explains (once, at the boundary)."""
    if not planned:
        return
    index = torch.unique(torch.cat([p.index for p in planned]))
    sub = test.subset(index)
    validate_inputs(sub.X, sub.mask, sub.y, len(task.alphabet))


def _cell_of(driver: _Driver, model: nn.Module, planned: PlannedCell, train: Dataset) -> list[Cell]:
    """The :class:`Cell` s of a planned cell with its work left (:func:`_parts`; none when all
    is done): found records are reused, n/a records written, a learned method fitted (once per
    task, model and options)."""
    config, method, mopts = driver.config, planned.method, planned.method_options
    index = planned.index
    empty = not len(index)
    data_hash, n = ("", 0) if empty else (driver.shared.test.subset(index).hash, len(index))
    keys = {
        q: driver.key(model, method.name, q, mopts, driver.qopts(METRICS.get(q), o), data_hash, n)
        for q, o in planned.metric_options.items()
    }
    cost = (
        driver.key(model, method.name, COST, mopts, {}, data_hash, n)
        if planned.cost and not empty
        else None
    )
    todo = {q: k for q, k in keys.items() if not driver.reuse(k)}
    if cost is not None and driver.reuse(cost):
        cost = None
    if not todo and cost is None:
        return []
    if planned.refused:
        for key in [*todo.values(), *([cost] if cost else [])]:
            driver.put(Record(key, "not_applicable", reason=planned.refused))
        return []
    for q, reason in planned.not_applicable.items():
        if q in todo:
            driver.put(Record(todo.pop(q), "not_applicable", reason=reason))
    gate = driver.gates.get(str(model.zoo_name)) or ""
    for q in [q for q in todo if gate and METRICS.get(q).needs_ground_truth]:
        driver.put(Record(todo.pop(q), "not_applicable", reason=gate))
    if not todo and cost is None:
        return []
    try:
        fit_path, fit_seconds = _fit(driver, model, method, mopts, train)
    except NotApplicable as exc:  # the fit found the model out of the method's reach
        for key in [*todo.values(), *([cost] if cost else [])]:
            driver.put(Record(key, "not_applicable", reason=str(exc)))
        return []
    split = driver.width > 1 and len(index) > config.batch_size
    return [
        _make_cell(driver, model, planned, part, part_cost, fit_path, fit_seconds)
        for part, part_cost in _parts(todo, cost, split)
    ]


def _parts(
    todo: dict[str, CellKey], cost: CellKey | None, split: bool
) -> list[tuple[dict[str, CellKey], CellKey | None]]:
    """The cells a (model, method, set) is computed as: ``(metric keys, cost key)`` pairs.

    One cell, unless ``split`` (workers share the run and the cell has more than one
    batch) and it has set-level metrics: those score the whole set, so their cell is one
    chunk, while the per-sequence metrics (with the cost record) are cut into chunks
    workers can share. The set-level cell computes the same attributions again (same
    blocks, same seeds): its records are those of one cell.
    """
    whole = {q: k for q, k in todo.items() if METRICS.get(q).set_level}
    rest = {q: k for q, k in todo.items() if q not in whole}
    if not split or not whole or (not rest and cost is None):
        return [(todo, cost)]
    return [(rest, cost), (whole, None)]


def _make_cell(
    driver: _Driver,
    model: nn.Module,
    planned: PlannedCell,
    todo: dict[str, CellKey],
    cost: CellKey | None,
    fit_path: str | None,
    fit_seconds: float,
) -> Cell:
    """A :class:`Cell` of the metrics ``todo`` (and the cost record ``cost``) cut into chunks."""
    config, method, index = driver.config, planned.method, planned.index
    # a set-level metric scores the whole cell: such a cell is one chunk
    set_level = any(METRICS.get(q).set_level for q in todo)
    size = None if set_level else chunk_size(config, driver.width)
    cell = Cell(
        content_hash(
            *sorted(k.digest for k in todo.values()),
            cost.digest if cost else "",
            str(size),
            str(config.batch_size),
        ),
        str(model.zoo_name),
        method,
        index,
        todo,
        cost,
        fit_seconds=fit_seconds,
    )
    cell.chunks = [
        Chunk(
            driver.context,
            cell.id,
            str(model.zoo_name),
            method.name,
            planned.method_options,
            tuple(todo),
            {q: dict(k.metric_options) for q, k in todo.items()},
            tuple(part.tolist()),
            start,
            fit_path,
            EXAMPLES if (cost is not None and start == 0) else 0,
            progress=config.progress,
        )
        for start, part in chunks_of(index, config.batch_size, size)
    ]
    return cell


def _truth_reliance(
    driver: _Driver, model: nn.Module, sets: dict[str, Any], metrics: list[Metric]
) -> None:
    """The model's reliance on its ground truth on the sequences ground-truth metrics score,
    recorded once per model; sets the gate of its ground-truth cells (:mod:`attrbench.reporting.validity`)."""
    if not any(q.needs_ground_truth for q in metrics):
        return
    index = sets.get("ground_truth", sets["sample"])
    sub = driver.shared.test.subset(index)
    gt = sub.ground_truth or (driver.task.ground_truth(sub) if driver.task.ground_truth else None)
    if gt is None:
        return
    key = driver.key(
        model,
        QUALITY,
        validity.RELIANCE_METRIC,
        {},
        {"draws": validity.RELIANCE_DRAWS},
        sub.hash,
        len(sub),
    )
    record = driver.done(key)
    if record is None:
        r = validity.dataset_reliance(
            model,
            sub,
            gt,
            driver.context.background,
            driver.config.seed,
            driver.config.batch_size,
            driver.shared.device,
        )
        record = Record(
            key, "ok", True, r.mean, r.low, r.high, n_scored=r.n, extra=validity.reliance_extra(r)
        )
        driver.put(record)
    else:
        driver.records.append(record)
    driver.gates[str(model.zoo_name)] = validity.reliance_gate(
        validity.reliance_from_record(record)
    )


def _model_quality(driver: _Driver, model: nn.Module) -> None:
    """Accuracy (with interval), F1 micro and macro on the task's quality split, once per model."""
    task, config = driver.task, driver.config
    quality = driver.shared.test
    if task.quality_split != "test":
        quality = task.data(task.quality_split, **config.data_options)
    split = {"split": task.quality_split}
    keys = {
        m: driver.key(model, QUALITY, m, {}, split, quality.hash, len(quality))
        for m in ("accuracy", "f1_micro", "f1_macro")
    }
    found = {m: driver.done(k) for m, k in keys.items()}
    if all(found.values()):
        driver.records.extend(r for r in found.values() if r is not None)
        return
    pred = _predict_with_progress(
        model, quality, config.progress, f"{task.name}/{model.zoo_name} quality"
    ).argmax(1)
    scores = classification_scores(quality.y, pred, len(task.classes))
    correct = bootstrap_mean((pred == quality.y).float(), seed=config.seed)
    for metric, key in keys.items():
        low, high = (correct.low, correct.high) if metric == "accuracy" else (None, None)
        driver.put(Record(key, "ok", True, scores[metric], low, high, n_scored=len(quality)))


def _predict_with_progress(
    model: nn.Module, ds: Dataset, progress: bool, desc: str, batch_size: int = 256
) -> torch.Tensor:
    """:func:`~attrbench.running.training.predict_dataset` with a progress bar over its batches."""
    blocks = -(-len(ds) // batch_size)
    if not progress or blocks <= 1:
        return predict_dataset(model, ds, batch_size)
    bar = tqdm(ds.batches(batch_size), total=blocks, desc=desc, unit="batch", leave=False)
    return torch.cat([predict(model, X, batch_size) for _, X in bar])


def _fit(
    driver: _Driver, model: nn.Module, method: Method, mopts: dict[str, Any], train: Dataset
) -> tuple[str | None, float]:
    """The path of a learned method's fitted state: shipped beside the checkpoints, else in the
    user's cache, else fitted now and cached (:func:`attrbench.running.fits.ensure_fit`).

    Returns
    -------
    path, seconds : the saved state's path (None for methods without ``fit``) and the
        time its fit took (saved with it, so a reused or shipped fit still reports its cost).
    """
    if method.fit is None:
        return None, 0.0
    fit = ensure_fit(
        driver.task,
        model,
        method,
        mopts,
        train,
        driver.context.background,
        driver.config.seed,
        driver.shared.device,
        driver.config.checkpoint_dir,
    )
    return str(fit.path), fit.seconds


# --------------------------------------------------------------------------- execution


def _chunk_path(root: Path, chunk: Chunk) -> Path:
    return chunk_path(root, chunk.cell, chunk.start)


def _execute(driver: _Driver, cells: list[Cell], executor: Executor) -> None:
    """Run every pending chunk and write each cell's records once all its chunks are in.

    Each cell is computed under its lock (:mod:`attrbench.running.locks`): cells another run
    holds are left for last, then waited for, and their records read instead of
    computed again when that run wrote them.
    """
    locks = {c.id: FileLock(lock_path(driver.store.root, c.id)) for c in cells}
    mine = [c for c in cells if locks[c.id].acquire(blocking=False)]
    busy = [c for c in cells if not locks[c.id].held]
    try:
        _execute_locked(driver, _not_done(driver, mine, locks), executor, locks)
        for cell in busy:
            locks[cell.id].acquire()
            _execute_locked(driver, _not_done(driver, [cell], locks), executor, locks)
    finally:
        for lock in locks.values():
            lock.release()


def _not_done(driver: _Driver, cells: list[Cell], locks: dict[str, FileLock]) -> list[Cell]:
    """``cells`` less those whose records another run wrote meanwhile (those are reused)."""
    left = []
    for cell in cells:
        keys = [*cell.keys.values(), *([cell.cost] if cell.cost else [])]
        found = [driver.done(k) for k in keys]
        if all(found):
            driver.records.extend(r for r in found if r is not None)
            locks[cell.id].release()
        else:
            left.append(cell)
    return left


def _execute_locked(
    driver: _Driver, cells: list[Cell], executor: Executor, locks: dict[str, FileLock]
) -> None:
    """:func:`_execute` on cells whose locks this run holds."""
    root = driver.store.root
    results: dict[str, dict[int, Any]] = {c.id: {} for c in cells}
    pending = []
    for cell in cells:
        for chunk in cell.chunks:
            path = _chunk_path(root, chunk)
            found = None
            if len(cell.chunks) > 1 and path.is_file() and not driver.config.force:
                found = read_chunk(path)
            if found is not None:
                results[cell.id][chunk.start] = found
            else:
                pending.append(chunk)
    by_id = {c.id: c for c in cells}
    for cell in cells:
        if len(results[cell.id]) == len(cell.chunks):
            _write_cell(driver, cell, results[cell.id])
            locks[cell.id].release()
    bar = tqdm(
        total=len(pending),
        desc=f"{driver.task.name} chunks",
        unit="chunk",
        disable=not driver.config.progress or len(pending) <= 1,
    )
    for chunk, outcome in executor.map(pending):
        bar.update()
        bar.set_postfix_str(f"{chunk.model}/{chunk.method}")
        cell = by_id[chunk.cell]
        if len(cell.chunks) > 1 and isinstance(outcome, ChunkResult):
            write_chunk(_chunk_path(root, chunk), outcome)
        results[cell.id][chunk.start] = outcome
        if len(results[cell.id]) == len(cell.chunks):
            _write_cell(driver, cell, results[cell.id])
            locks[cell.id].release()
    bar.close()


def _write_cell(driver: _Driver, cell: Cell, parts: dict[int, Any]) -> None:
    """Merge a cell's chunk results (in sequence order) into its records and write them."""
    ordered = [parts[s] for s in sorted(parts)]
    failed = next((p for p in ordered if isinstance(p, Exception)), None)
    refused = next((p for p in ordered if not failed and p.status != "ok"), None)
    keys = [*cell.keys.values(), *([cell.cost] if cell.cost else [])]
    if failed is not None:
        log.warning("%s/%s failed: %r", cell.model, cell.method.name, failed)
        for key in keys:
            driver.put(Record(key, "failed", reason=f"{type(failed).__name__}: {failed}"))
    elif refused is not None:
        for key in keys:
            driver.put(Record(key, "not_applicable", reason=refused.reason))
    else:
        ids = [i for p in ordered for i in p.ids]
        for name, key in cell.keys.items():
            driver.put(_metric_record(driver, key, [p.metrics[name] for p in ordered], ids))
        if cell.cost is not None:
            driver.put(_cost_record(cell, ordered))
    _forget_chunks(driver.store.root, cell)


def _forget_chunks(root: Path, cell: Cell) -> None:
    """Remove a written cell's chunk files (the run holds the cell's lock)."""
    folder = root / ".chunks" / cell.id
    if folder.is_dir():
        for path in folder.iterdir():
            path.unlink(missing_ok=True)
        try:
            folder.rmdir()
        except OSError:  # a file appeared meanwhile: it is removed with the next cell write
            pass


def _metric_record(
    driver: _Driver, key: CellKey, parts: list[MetricResult], ids: list[str]
) -> Record:
    """One metric's record from its per-chunk results: mean and interval of every column."""
    bad = next((p for p in parts if p.status != "ok"), None)
    if bad is not None:
        return Record(key, bad.status, reason=bad.reason)
    metric = METRICS.get(key.metric)
    scores = np.concatenate([p.scores for p in parts])
    names = metric.columns or (metric.name,)
    cols = {
        c: {
            **vars(bootstrap_mean(scores[:, j], seed=driver.config.seed)),
            "higher_is_better": metric.column_directions.get(c, metric.higher_is_better),
        }
        for j, c in enumerate(names)
    }
    main = cols[names[0]]
    extra = {k: v for p in parts for k, v in p.extra.items()}
    if metric.invalid_above is not None:
        extra |= {
            "invalid_above": metric.invalid_above,
            "invalid": bool(main["mean"] > metric.invalid_above),
        }
    return Record(
        key,
        "ok",
        metric.higher_is_better,
        main["mean"],
        main["low"],
        main["high"],
        n_scored=main["n"],
        n_missing=main["n_missing"],
        columns=cols,
        wall_time=math.fsum(p.seconds for p in parts),
        extra=extra,
        per_sequence=pack_values(ids, scores, names),
    )


def _cost_record(cell: Cell, parts: Iterable[ChunkResult]) -> Record:
    """Seconds per explained sequence: attribution time plus the amortised fit time."""
    parts = list(parts)
    n = max(len(cell.index), 1)
    seconds = math.fsum(p.seconds for p in parts)
    fit = cell.fit_seconds
    extra = {
        "peak_bytes": max(p.peak_bytes for p in parts),
        "seconds": seconds,
        "fit_seconds": fit,
        "examples": parts[0].examples,
    }
    assert cell.cost is not None, "a cost record needs its cell's cost key"
    return Record(
        cell.cost,
        "ok",
        False,
        (seconds + fit) / n,
        n_scored=len(cell.index),
        wall_time=seconds + fit,
        device=parts[0].device,
        extra=extra,
    )
