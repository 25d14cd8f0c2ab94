"""A run as a plan: cells of work, cut into small picklable chunk specs.

:func:`make_plan` is the planner, a pure function: from a task, its test split,
the models, methods, metrics and a :class:`RunConfig` (options, ``n``, seed) it
returns :class:`PlannedCell` s, one per (model, method, explained set), saying
which sequences the cell explains, with which options, which metrics it scores
and which it records as not applicable (and why). It reads no store, writes no
record and fits nothing: :mod:`attrbench.running.runner` turns planned cells into record
keys, skips the records it finds, writes the n/a records, fits learned methods
and cuts each :class:`Cell` into :class:`Chunk` s of whole blocks of
``batch_size`` sequences (:func:`chunks_of`). A chunk names everything by
registry name and index, so any process that has the plugins installed executes
it (:mod:`attrbench.running.cell`). Every random step is seeded per block (by the
position of the block's first sequence in its cell), so results do not depend on
how a cell is cut into chunks nor on which process runs them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from attrbench.core.data import Background, Dataset, content_hash
from attrbench.core.plugin import Method, Metric, Task
from attrbench.running.calling import resolve_method_options
from attrbench.running.results import CellKey

log = logging.getLogger("attrbench")

__all__ = [
    "RunConfig",
    "Context",
    "Chunk",
    "Cell",
    "QUALITY",
    "COST",
    "RESOURCES_KEY",
    "select_index",
    "select",
    "seed_of",
    "method_options",
    "metric_options",
    "explained_sets",
    "chunks_of",
    "PlannedCell",
    "make_plan",
]

#: Pseudo-method of the model-quality records.
QUALITY = "(model)"
#: Pseudo-metric of the cost record of each (model, method).
COST = "seconds_per_seq"
#: The entry of a cell key's metric options that names the resources' hashes (not passed to the metric).
RESOURCES_KEY = "resources"


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
        Sequences per method call: the block by which every random step is seeded.
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
        ``{"knowledge_base": {"path": "kb.tsv"}}``, what ``--kb`` sets).
    chunk_size : int, optional
        Sequences per chunk (rounded up to whole batches); None: one chunk per cell.
    progress : bool
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
    method_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    metric_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    data_options: dict[str, Any] = field(default_factory=dict)
    checkpoint_dir: Path | None = None
    resource_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    chunk_size: int | None = None
    progress: bool = True


@dataclass(frozen=True)
class Context:
    """What every chunk of a run shares: enough to rebuild the run's state in any process.

    ``background`` is the task's background distribution (computed once by the
    driver, so workers never load the training split); ``train_hash`` lets
    workers check checkpoints without it.
    """

    task: str
    seed: int
    device: str
    batch_size: int
    data_options: dict[str, Any]
    checkpoint_dir: str | None
    resource_options: dict[str, Any]
    background: Background
    train_hash: str

    @property
    def digest(self) -> str:
        """Identifies the shared state a worker builds (cached per process by this key)."""
        return content_hash(
            self.task,
            str(self.seed),
            self.device,
            repr(sorted(self.data_options.items())),
            str(self.checkpoint_dir),
            repr(self.resource_options),
            self.train_hash,
            self.background.probs,
        )


@dataclass(frozen=True)
class Chunk:
    """One unit of work: a method's attributions and metrics on a slice of one cell.

    Parameters
    ----------
    context : Context
    cell : str
        The id of the cell it belongs to.
    model, method : str
        Registry names.
    method_options : dict
    metrics : tuple of str
        The metrics to score (those applicable and not yet recorded).
    metric_options : dict of str to dict
    index : tuple of int
        Indices into the task's test split of the chunk's sequences.
    start : int
        Position of the chunk's first sequence in its cell (blocks are seeded from it).
    fit_path : str, optional
        Where the fitted state of a learned method is saved.
    examples : int
        How many of the chunk's first sequences to keep as attribution examples.
    progress : bool
    """

    context: Context
    cell: str
    model: str
    method: str
    method_options: dict[str, Any]
    metrics: tuple[str, ...]
    metric_options: dict[str, Any]
    index: tuple[int, ...]
    start: int
    fit_path: str | None = None
    examples: int = 0
    progress: bool = False


@dataclass
class Cell:
    """A (model, method, explained set) of a plan: its record keys and its chunks.

    ``keys`` maps each metric still to compute to its record key; ``cost`` is the
    key of the cost record (None if that record exists or belongs to another set);
    ``fit_seconds`` the time a learned method's fit took (amortised in the cost).
    """

    id: str
    model: str
    method: Method
    index: torch.Tensor
    keys: dict[str, CellKey]
    cost: CellKey | None
    fit_seconds: float = 0.0
    chunks: list[Chunk] = field(default_factory=list)


def select_index(total: int, n: int, seed: int) -> torch.Tensor:
    """Indices (n,) of ``n`` of ``total`` items drawn without replacement by ``seed``, sorted."""
    perm = torch.randperm(total, generator=torch.Generator().manual_seed(seed))
    return perm[:n].sort().values


def select(ds: Dataset, n: int, seed: int) -> Dataset:
    """``n`` sequences of ``ds`` drawn without replacement by ``seed``, in their original order."""
    if n < 0 or n >= len(ds):
        return ds
    return ds.subset(select_index(len(ds), n, seed))


def seed_of(*parts: Any) -> int:
    """A 63-bit seed derived from ``parts`` (the one way every generator of a run is seeded)."""
    return int(content_hash("\x1f".join(map(str, parts))), 16) % (2**63)


def method_options(task: Task, method: Method, config: RunConfig) -> dict[str, Any]:
    """A method's options in a run: :func:`attrbench.running.calling.resolve_method_options` with the
    user's options of ``config``."""
    return resolve_method_options(task, method, config.method_options.get(method.name))


def metric_options(task: Task, metric: Metric, config: RunConfig) -> dict[str, Any]:
    """A metric's options in a run: its defaults, the task's, then the user's."""
    return {
        **metric.defaults,
        **task.metric_options.get(metric.name, {}),
        **config.metric_options.get(metric.name, {}),
    }


def explained_sets(
    task: Task, test: Dataset, config: RunConfig, metrics: list[Metric]
) -> dict[str, Any]:
    """The explained sets of a run: indices into the test split.

    ``"sample"``: ``n`` test sequences drawn by the seed (all with ``n = -1``).
    ``"ground_truth"``: when the task sets ``ground_truth_n`` and a requested metric
    needs ground truth, the test sequences that carry ground truth (at most that
    many, drawn by the seed); ground-truth metrics score this set instead.

    Returns
    -------
    sets : dict of str to torch.Tensor (int64)
    """
    n = task.default_n if config.n is None else config.n
    if n > len(test):
        log.warning(
            "--n %d is clamped to %d: the test split has %d sequences", n, len(test), len(test)
        )
    sets = {
        "sample": torch.arange(len(test))
        if n < 0 or n >= len(test)
        else select_index(len(test), n, config.seed)
    }
    cap = task.ground_truth_n
    if cap is not None and any(q.needs_ground_truth for q in metrics):
        gt = test.ground_truth or (task.ground_truth(test) if task.ground_truth else None)
        assert gt is not None, f"task {task.name!r} sets ground_truth_n but has no ground truth"
        carrying = torch.tensor([i for i, m in enumerate(gt.motifs) if m], dtype=torch.long)
        if len(carrying) > cap:
            carrying = carrying[select_index(len(carrying), cap, config.seed)]
        sets["ground_truth"] = carrying
    return sets


def chunks_of(
    index: torch.Tensor, batch_size: int, chunk_size: int | None
) -> list[tuple[int, torch.Tensor]]:
    """Cut a cell's indices into chunks of whole batches: ``(start, indices)`` pairs."""
    if not len(index):
        return []
    size = len(index) if chunk_size is None else -(-chunk_size // batch_size) * batch_size
    return [(s, index[s : s + size]) for s in range(0, len(index), size)]


@dataclass(frozen=True)
class PlannedCell:
    """One (model, method, explained set) of a plan, before the store is asked.

    Parameters
    ----------
    model : str
        Zoo name.
    method : Method
    set_name : str
        ``"sample"`` or ``"ground_truth"`` (:func:`explained_sets`).
    index : torch.Tensor, shape=(n,), int64
        Indices into the test split of the sequences the cell explains (capped
        by ``Task.method_n`` on the default ``n``).
    method_options : dict
        :func:`method_options`: what the method runs with and its records carry.
    metric_options : dict of str to dict
        :func:`metric_options` of every metric of the cell (applicable or not).
    metrics : tuple of str
        The metrics the cell scores.
    not_applicable : dict of str to str
        Metric -> why it does not apply (its record is n/a).
    refused : str or None
        Why the method cannot explain the model: every record of the cell is n/a.
    cost : bool
        The cell carries the (model, method) cost record (the sample set's cell).
    """

    model: str
    method: Method
    set_name: str
    index: torch.Tensor
    method_options: dict[str, Any]
    metric_options: dict[str, dict[str, Any]]
    metrics: tuple[str, ...]
    not_applicable: dict[str, str]
    refused: str | None
    cost: bool


def make_plan(
    task: Task,
    test: Dataset,
    models: dict[str, Any],
    methods: list[Method],
    metrics: list[Metric],
    config: RunConfig,
) -> list[PlannedCell]:
    """The cells of a run: a pure function of its arguments (no store, no file, no fit).

    Parameters
    ----------
    task : Task
    test : Dataset
        The task's test split (its sequences and ground truth choose the explained sets).
    models : dict of str to nn.Module
        Zoo name -> model, in the order to run them (``Method.why_not`` reads them).
    methods, metrics : list
        The registry records to run.
    config : RunConfig
        Its ``n``, ``seed``, ``method_options`` and ``metric_options`` are read.

    Returns
    -------
    cells : list of PlannedCell
        Model by model, method by method, ``"sample"`` before ``"ground_truth"``;
        sets no requested metric scores are left out.
    """
    sets = explained_sets(task, test, config, metrics)
    by_set = {k: v for k, v in _set_metrics(sets, metrics).items() if v}
    cost_set = "sample" if "sample" in by_set else next(iter(by_set), None)
    qopts = {q.name: metric_options(task, q, config) for q in metrics}
    cells = []
    for model_name, model in models.items():
        for method in methods:
            mopts, refused = method_options(task, method, config), method.why_not(model)
            for name, set_metrics in by_set.items():
                has_gt = task.ground_truth is not None or name == "ground_truth"
                index = _capped(task, config, method, sets[name])
                empty = None if len(index) else _NONE_TO_EXPLAIN[name]
                why = {q.name: empty or q.why_not(task, method, has_gt) for q in set_metrics}
                cells.append(
                    PlannedCell(
                        model_name,
                        method,
                        name,
                        index,
                        mopts,
                        {q.name: qopts[q.name] for q in set_metrics},
                        tuple(q for q, r in why.items() if not r),
                        {q: r for q, r in why.items() if r},
                        refused,
                        name == cost_set,
                    )
                )
    return cells


#: Why the metrics of an explained set that holds no sequence are n/a.
_NONE_TO_EXPLAIN = {
    "ground_truth": "no test sequence carries a ground-truth motif (check the motifs of the --data "
    "file's test records)",
    "sample": "no test sequences to explain",
}


def _set_metrics(sets: dict[str, Any], metrics: list[Metric]) -> dict[str, list[Metric]]:
    """Which metrics score which explained set (ground-truth metrics on their own set if any)."""
    if "ground_truth" not in sets:
        return {"sample": metrics}
    return {
        "sample": [q for q in metrics if not q.needs_ground_truth],
        "ground_truth": [q for q in metrics if q.needs_ground_truth],
    }


def _capped(task: Task, config: RunConfig, method: Method, index: torch.Tensor) -> torch.Tensor:
    """On the default ``n``, a costly method the task caps (``Task.method_n``) explains only a
    seeded subset of the explained sequences."""
    cap = task.method_n.get(method.name)
    if config.n is not None or cap is None or cap >= len(index):
        return index
    return index[select_index(len(index), cap, config.seed)]
