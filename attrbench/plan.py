"""A run as a plan of small picklable chunk specs.

:func:`make_plan` turns a :class:`RunConfig` into :class:`Cell` s, one per (model,
method, explained set), each split into :class:`Chunk` s of whole blocks of
``batch_size`` sequences. A chunk names everything by registry name and index, so
any process that has the plugins installed executes it (:mod:`attrbench.cell`).
Every random step is seeded per block (by the position of the block's first
sequence in its cell), so results do not depend on how a cell is cut into chunks
nor on which process runs them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from attrbench.data import Background, Dataset, content_hash
from attrbench.plugin import Method, Metric, Task
from attrbench.results import CellKey

log = logging.getLogger("attrbench")

__all__ = [
    "RunConfig", "Context", "Chunk", "Cell", "QUALITY", "COST", "RESOURCES_KEY",
    "select_index", "select", "seed_of", "method_options", "metric_options", "explained_sets", "chunks_of",
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
    method_options: dict[str, dict] = field(default_factory=dict)
    metric_options: dict[str, dict] = field(default_factory=dict)
    data_options: dict = field(default_factory=dict)
    checkpoint_dir: Path | None = None
    resource_options: dict[str, dict] = field(default_factory=dict)
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
    data_options: dict
    checkpoint_dir: str | None
    resource_options: dict
    background: Background
    train_hash: str

    @property
    def digest(self) -> str:
        """Identifies the shared state a worker builds (cached per process by this key)."""
        return content_hash(
            self.task, str(self.seed), self.device, repr(sorted(self.data_options.items())),
            str(self.checkpoint_dir), repr(self.resource_options), self.train_hash,
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
    method_options: dict
    metrics: tuple[str, ...]
    metric_options: dict
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


def method_options(task: Task, method: Method, config: RunConfig) -> dict:
    """A method's options in a run: its defaults, the task's, then the user's."""
    return _layered(method, task.method_options, config.method_options)


def metric_options(task: Task, metric: Metric, config: RunConfig) -> dict:
    """A metric's options in a run: its defaults, the task's, then the user's."""
    return _layered(metric, task.metric_options, config.metric_options)


def _layered(plugin: Method | Metric, task_options: dict, user_options: dict) -> dict:
    return {**plugin.defaults, **task_options.get(plugin.name, {}), **user_options.get(plugin.name, {})}


def explained_sets(task: Task, test: Dataset, config: RunConfig, metrics: list[Metric]) -> dict:
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
        log.warning("--n %d is clamped to %d: the test split has %d sequences", n, len(test), len(test))
    sets = {"sample": torch.arange(len(test)) if n < 0 or n >= len(test)
            else select_index(len(test), n, config.seed)}
    cap = task.ground_truth_n
    if cap is not None and any(q.needs_ground_truth for q in metrics):
        gt = test.ground_truth or task.ground_truth(test)
        carrying = torch.tensor([i for i, m in enumerate(gt.motifs) if m], dtype=torch.long)
        if len(carrying) > cap:
            carrying = carrying[select_index(len(carrying), cap, config.seed)]
        sets["ground_truth"] = carrying
    return sets


def chunks_of(index: torch.Tensor, batch_size: int, chunk_size: int | None) -> list[tuple[int, torch.Tensor]]:
    """Cut a cell's indices into chunks of whole batches: ``(start, indices)`` pairs."""
    if not len(index):
        return []
    size = len(index) if chunk_size is None else -(-chunk_size // batch_size) * batch_size
    return [(s, index[s : s + size]) for s in range(0, len(index), size)]
