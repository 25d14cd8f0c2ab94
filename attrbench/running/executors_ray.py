"""The Ray executor: a plan's chunks as Ray tasks, on a local Ray instance or a cluster.

What chunks share goes into Ray's object store once per run, never per task: the
run's :class:`~attrbench.running.plan.Context` (with its background), the test split, the
resources the driver built (e.g. a knowledge base), the loaded models, the saved
state of each fitted method and the source of each ``--plugin`` file. A task
carries the chunk without its context plus references to these; a worker fetches
them the first time it meets them and keeps them in its per-process caches
(:func:`attrbench.running.cell.provide`), so workers need neither the driver's files nor
its data. Each task asks for ``num_gpus_per_task`` GPUs when the run's device is
``cuda`` and ``cpus_per_task`` CPUs otherwise; Ray retries a failed task
``max_retries`` times, after which its exception is yielded and the driver records
the cell as failed. Records are written by the driver only.

Imported on use (``EXECUTORS["ray"]``), so Ray stays an optional dependency.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import pickle
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ray
import torch

from attrbench.running import cell
from attrbench.running.plan import Chunk, Context
from attrbench.running.timing import resolve_device

__all__ = ["RayExecutor"]

Outcome = tuple[Chunk, "cell.ChunkResult | Exception"]

#: Plugin files this worker process has loaded (by content hash).
_PLUGINS: set[str] = set()


class RayExecutor:
    """Chunks as Ray tasks.

    Parameters
    ----------
    address : str, optional
        A running cluster (``"auto"`` or ``"HOST:PORT"``); None starts a local Ray
        instance unless one is already initialised in this process.
    num_cpus : int, optional
        CPUs of a local instance started here (default: all of this machine's).
    num_gpus_per_task : float
        GPUs each task asks for when the run's device is ``cuda`` (a fraction shares a GPU).
    cpus_per_task : float
        CPUs each task asks for otherwise (also torch's threads in the worker).
    max_retries : int
        How often Ray retries a task that raised or whose worker died.
    plugins : sequence of str
        Plugin files (``--plugin``) the driver loaded; workers load them too.
    """

    def __init__(
        self,
        address: str | None = None,
        num_cpus: int | None = None,
        num_gpus_per_task: float = 1.0,
        cpus_per_task: float = 1.0,
        max_retries: int = 2,
        plugins: Sequence[str] = (),
    ) -> None:
        self.address, self.num_cpus = address, num_cpus
        self.num_gpus_per_task, self.cpus_per_task = num_gpus_per_task, cpus_per_task
        self.max_retries, self.plugins = max_retries, tuple(plugins)

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]:
        """Submit every chunk, then yield each with its result (or exception) as it finishes."""
        if not chunks:
            return
        self._init()
        shipped = _Shipment(self.plugins)
        futures = {self._submit(c, shipped): c for c in chunks}
        try:
            while futures:
                done, _ = ray.wait(list(futures), num_returns=1)
                chunk = futures.pop(done[0])
                yield chunk, _outcome(done[0])
        finally:
            for ref in futures:  # interrupted: stop what is still queued or running
                ray.cancel(ref, force=True)

    def _init(self) -> None:
        if ray.is_initialized():
            return
        options = {"address": self.address} if self.address else {"num_cpus": self.num_cpus}
        ray.init(**options, include_dashboard=False, log_to_driver=True)

    def _submit(self, chunk: Chunk, shipped: _Shipment) -> Any:
        gpu = resolve_device(chunk.context.device).type == "cuda"
        resources = {
            "num_cpus": self.cpus_per_task,
            "num_gpus": self.num_gpus_per_task if gpu else 0,
        }
        threads = max(1, int(self.cpus_per_task))
        # the context travels apart, put once per (context, model): see _context
        spec = dataclasses.replace(chunk, context=None, progress=False)  # type: ignore[arg-type]
        return _run_chunk.options(
            **resources,
            max_retries=self.max_retries,
            retry_exceptions=True,
        ).remote(
            spec,
            threads,
            [shipped.context(chunk.context, chunk.model)],
            [shipped.fit(chunk.fit_path)],
            shipped.plugin_refs,
        )


class _Shipment:
    """What the driver has put in the object store for one ``map`` (each object once)."""

    def __init__(self, plugins: Sequence[str]) -> None:
        loaded = {
            str(Path(getattr(m, "__file__", "") or "").resolve()): name
            for name, m in list(sys.modules.items())
            if name.startswith("attrbench_user_plugin_")
        }
        self.plugin_refs = []
        for p in plugins:
            source = Path(p).read_text()
            module = loaded.get(str(Path(p).resolve()), "")
            self.plugin_refs.append((_digest(source), Path(p).name, module, ray.put(source)))
        self._contexts: dict[tuple[str, str], tuple[str, Any]] = {}
        self._fits: dict[str, tuple[str, Any]] = {}

    def context(self, context: Context, model: str) -> tuple[str, Any]:
        """``(digest, ref)`` of the context with its test split, built resources and ``model``."""
        key = (context.digest, model)
        if key not in self._contexts:
            s = cell.shared(context)
            loaded = copy.deepcopy(cell.model_of(context, model)).cpu()
            payload = (context, s.test, _picklable(s.resources.built()), {model: loaded})
            self._contexts[key] = (f"{context.digest}:{model}", ray.put(payload))
        return self._contexts[key]

    def fit(self, path: str | None) -> tuple[str, Any] | None:
        """``(path, ref)`` of a fitted method's saved state (the file's bytes), or None."""
        if path is None:
            return None
        if path not in self._fits:
            self._fits[path] = (path, ray.put(Path(path).read_bytes()))
        return self._fits[path]


def _picklable(objects: dict[str, Any]) -> dict[str, Any]:
    """The entries that can be pickled (a worker builds any other one itself).

    ``pickle.dumps`` here only tests, in memory, whether Ray can ship an object the
    driver built to its workers (Ray's own transport between our processes); nothing
    is ever unpickled from a file: results and fits on disk are plain data
    (:mod:`attrbench.running.chunks`, :mod:`attrbench.running.fits`).
    """
    out = {}
    for name, obj in objects.items():
        try:
            pickle.dumps(obj)
        except Exception:  # e.g. a resource holding an open handle
            continue
        out[name] = obj
    return out


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _outcome(ref: Any) -> cell.ChunkResult | Exception:
    """A finished task's result, or the exception its chunk raised (after Ray's retries)."""
    try:
        result: cell.ChunkResult = ray.get(ref)
        return result
    except ray.exceptions.RayTaskError as err:
        cause = getattr(err, "cause", None)
        return cause if isinstance(cause, Exception) else err
    except Exception as err:  # worker died, task cancelled, object lost
        return err


#: The contexts this worker process holds (by shipment key), and the fitted states it was sent.
_CONTEXTS: dict[str, Context] = {}
_FITS: set[str] = set()


@ray.remote
def _run_chunk(
    spec: Chunk, threads: int, context: list[Any], fit: list[Any], plugins: list[Any]
) -> cell.ChunkResult:
    """Execute one chunk in a Ray worker, fetching shared objects it has not seen yet."""
    torch.set_num_threads(threads)
    for digest, name, module, ref in plugins:
        if digest not in _PLUGINS:
            _load_plugin(name, module, ray.get(ref))
            _PLUGINS.add(digest)
    ((key, ref),) = context
    if key not in _CONTEXTS:
        ctx, test, resources, models = ray.get(ref)
        cell.provide(ctx, test, resources, models)
        _CONTEXTS[key] = ctx
    (fitted,) = fit
    if fitted is not None and fitted[0] not in _FITS:
        cell.provide_fit(fitted[0], ray.get(fitted[1]))
        _FITS.add(fitted[0])
    return cell.execute(dataclasses.replace(spec, context=_CONTEXTS[key]))


def _load_plugin(name: str, module: str, source: str) -> None:
    """Load a driver's plugin file in this worker from its source, also under the driver's
    module name (so objects of its classes pickled by the driver unpickle here)."""
    from attrbench.core.registry import load_plugin_file

    before = set(sys.modules)
    path = Path(tempfile.mkdtemp(prefix="attrbench-plugin-")) / name
    path.write_text(source)
    load_plugin_file(path)
    new = [m for m in set(sys.modules) - before if m.startswith("attrbench_user_plugin_")]
    if module and new:
        sys.modules[module] = sys.modules[new[0]]
