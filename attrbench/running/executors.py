"""Executors: run a plan's chunks somewhere and hand back their results.

An executor maps :func:`attrbench.running.cell.execute` over chunks and yields
``(chunk, result)`` pairs as they finish, in any order; a chunk that raised
yields the exception, so the driver records it as failed and the run goes on.
``local`` runs chunks one after another in this process; ``process`` uses a pool
of local processes; ``auto`` (what ``attrbench run`` uses unless told otherwise)
picks one of the two by the free cores (:func:`free_cores`); ``ray`` runs them
as Ray tasks (:mod:`attrbench.running.executors_ray`, imported on use so Ray stays
optional). Other executors register in :data:`EXECUTORS` under their name.

An executor's ``workers`` attribute says how many chunks it runs at once; the
runner cuts cells into more chunks when it is above one, so that workers can
share a big cell (:func:`attrbench.running.runner.run`). The records do not depend on
the executor, the number of workers or the chunks (every random step is seeded
per block: :mod:`attrbench.running.plan`).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import logging
import logging.handlers
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from attrbench.running.cell import ChunkResult, execute
from attrbench.running.plan import Chunk

__all__ = [
    "Executor",
    "LocalExecutor",
    "ProcessExecutor",
    "AutoExecutor",
    "EXECUTORS",
    "free_cores",
    "auto_workers",
    "not_portable",
    "names_of",
    "get_executor",
    "ray_executor",
]

log = logging.getLogger("attrbench")

Outcome = tuple[Chunk, "ChunkResult | BaseException"]


class Executor(Protocol):
    """Runs chunks; yields each chunk with its result or the exception it raised."""

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]: ...


class LocalExecutor:
    """Every chunk in this process, in plan order."""

    workers = 1

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]:
        for chunk in chunks:
            try:
                yield chunk, execute(chunk)
            except Exception as exc:  # recorded as failed by the driver
                yield chunk, exc


# --------------------------------------------------------------------------- the free cores


def cores() -> int:
    """CPU cores this process may run on (its affinity set where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def load_average() -> float:
    """The machine's 1-minute load average (0.0 where the OS does not report one)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def free_cores(n_cores: int | None = None, load: float | None = None) -> int:
    """Cores not busy with other work: ``cores - round(1-minute load average)``, at least 1.

    Rounding is half up: a load of 0.5 or more counts as a busy core. Call it
    before this process starts its own work, which the load average counts too.

    Examples
    --------
    >>> free_cores(2, 0.3), free_cores(2, 0.5), free_cores(2, 1.7), free_cores(8, 2.2)
    (2, 1, 1, 6)
    """
    n_cores = cores() if n_cores is None else n_cores
    load = load_average() if load is None else load
    return max(1, n_cores - int(load + 0.5))


def auto_workers(threads: int = 1, free: int | None = None) -> int:
    """Worker processes for a run: the free cores (:func:`free_cores`) over the torch threads
    of each worker, at least 1 (1: work in this process)."""
    free = free_cores() if free is None else free
    return max(1, free // max(threads, 1))


def not_portable(
    task: str, methods: Iterable[str], metrics: Iterable[str], plugin_files: Sequence[str] = ()
) -> str | None:
    """Why a fresh process could not run the cells of ``task``, ``methods`` and ``metrics``
    (None: it can).

    A worker process finds the plugins that entry points register and those of the
    ``plugin_files`` it loads; a task, method or metric registered otherwise (a
    user task of ``run --model-file`` or :func:`attrbench.evaluate`, a plugin defined
    in a script) exists only in this process.
    """
    from attrbench.core.plugin import METHODS, METRICS, TASKS

    files = {str(Path(p).resolve()) for p in plugin_files}
    names: list[tuple[Any, str]] = [
        (TASKS, task),
        *((METHODS, m) for m in methods),
        *((METRICS, q) for q in metrics),
    ]
    for registry, name in names:
        if registry.from_entry_point(name):
            continue
        module = sys.modules.get(registry.origin(name))
        if str(Path(getattr(module, "__file__", "") or "").resolve()) in files:
            continue
        return f"{registry.kind} {name!r} is registered in this process only"
    return None


def names_of(chunks: Iterable[Chunk]) -> tuple[str, list[str], list[str]]:
    """The task, methods and metrics ``chunks`` run (the arguments of :func:`not_portable`)."""
    chunks = list(chunks)
    methods = dict.fromkeys(c.method for c in chunks)
    metrics = dict.fromkeys(q for c in chunks for q in c.metrics)
    return chunks[0].context.task, list(methods), list(metrics)


# --------------------------------------------------------------------------- worker processes


class ProcessExecutor:
    """Chunks on a pool of ``workers`` local processes (spawned, so each loads the plugins).

    Each worker builds the run's shared state (test split, models) once and keeps
    it, uses ``threads`` torch threads, loads the ``plugins`` files, ignores Ctrl-C
    (the driver stops the pool) and sends its log lines to the driver's logger.
    Chunks run without their own progress bars (the driver shows one per chunk).
    An interrupted or abandoned ``map`` terminates the workers.
    """

    def __init__(self, workers: int = 2, threads: int = 1, plugins: Sequence[str] = ()) -> None:
        self.workers, self.threads, self.plugins = workers, threads, tuple(plugins)

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]:
        if not chunks:
            return
        ctx = multiprocessing.get_context("spawn")
        lines = ctx.Queue()
        relay = threading.Thread(target=_relay_logs, args=(lines,), daemon=True)
        relay.start()
        pool = cf.ProcessPoolExecutor(
            min(self.workers, len(chunks)),
            mp_context=ctx,
            initializer=_start_worker,
            initargs=(self.threads, self.plugins, lines, log.getEffectiveLevel()),
        )
        finished = False
        try:
            futures = {
                pool.submit(execute, dataclasses.replace(c, progress=False)): c for c in chunks
            }
            for future in cf.as_completed(futures):
                yield futures[future], _outcome(future)
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:  # Ctrl-C in the driver, or the caller stopped reading: stop at once
                _terminate(pool)
            lines.put(None)
            relay.join(timeout=5)


def _outcome(future: cf.Future[ChunkResult]) -> ChunkResult | Exception:
    """A finished future's result, or an exception the driver records (with a clear reason)."""
    exc = future.exception()
    if exc is None:
        return future.result()
    if isinstance(exc, BrokenProcessPool):
        return RuntimeError(
            "a worker process ended abruptly (killed, e.g. out of memory, or it failed to "
            "start: see the lines above) before finishing this chunk; run the same command "
            "again to compute what is missing, with --workers 1 to work in one process"
        )
    if not isinstance(exc, Exception):  # SystemExit and the like, raised in a worker
        return RuntimeError(f"the worker process raised {exc!r}")
    return exc


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the pool's processes now (their chunks are dropped)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=5)


def _start_worker(threads: int, plugins: tuple[str, ...], lines: Any, level: int) -> None:
    """Set up a worker process: Ctrl-C is the driver's, ``threads`` torch threads, the plugin
    files loaded, log lines and warnings sent to the driver through ``lines``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import warnings

    import torch

    torch.set_num_threads(threads)
    logger = logging.getLogger("attrbench")
    logger.handlers[:] = [logging.handlers.QueueHandler(lines)]
    logger.setLevel(level)
    logger.propagate = False
    warnings.simplefilter("always")
    warnings.showwarning = lambda message, *_, **__: logger.warning(
        "%s", " ".join(str(message).split())
    )
    from attrbench.core.registry import load_plugin_file

    for path in plugins:
        load_plugin_file(path)


def _relay_logs(lines: Any) -> None:
    """Hand the workers' log records to this process's ``attrbench`` logger until None."""
    while True:
        try:
            record = lines.get()
        except (EOFError, OSError):
            return
        if record is None:
            return
        logging.getLogger(record.name).handle(record)


# --------------------------------------------------------------------------- the automatic choice


class AutoExecutor:
    """Worker processes when more than one core is free, else this process.

    Parameters
    ----------
    workers : int, optional
        Worker processes (1: this process). None: :func:`auto_workers`, measured
        when the executor is made (make it before the run starts its work).
    threads : int
        Torch threads per worker.
    plugins : sequence of str
        Plugin files (``--plugin``) the workers load.

    Notes
    -----
    A run whose task, methods or metrics a fresh process cannot find
    (:func:`not_portable`: a user task of ``run --model-file`` or
    :func:`attrbench.evaluate`, a plugin registered in a script) runs in this
    process, with an info line saying why. ``map`` runs at most one worker per chunk.
    """

    def __init__(
        self, workers: int | None = None, threads: int = 1, plugins: Sequence[str] = ()
    ) -> None:
        self.asked = workers
        self.workers = auto_workers(threads) if workers is None else max(1, workers)
        self.threads, self.plugins = threads, tuple(plugins)

    def width(self, task: str, methods: Iterable[str], metrics: Iterable[str]) -> int:
        """How many chunks of these cells run at once (1 when they cannot leave this process)."""
        if self.workers <= 1:
            return 1
        why = not_portable(task, methods, metrics, self.plugins)
        if why is not None:
            log.info("running in this process, not in %d workers: %s", self.workers, why)
            return 1
        return self.workers

    def choose(self, chunks: Sequence[Chunk]) -> LocalExecutor | ProcessExecutor:
        """The executor that runs ``chunks``: at most one worker per chunk."""
        n = min(self.workers, len(chunks))
        if n <= 1 or not_portable(*names_of(chunks), self.plugins) is not None:
            return LocalExecutor()
        return ProcessExecutor(n, self.threads, self.plugins)

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]:
        return self.choose(chunks).map(chunks)


#: What to install for the optional Ray executor.
RAY_HINT = 'the ray executor needs Ray: pip install -e ".[ray]"'


def ray_executor(**options: Any) -> Executor:
    """A :class:`~attrbench.running.executors_ray.RayExecutor` (without Ray installed: an error saying
    how to install it)."""
    try:
        from attrbench.running.executors_ray import RayExecutor
    except ModuleNotFoundError as exc:
        if exc.name != "ray" and not str(exc.name).startswith("ray."):
            raise
        raise RuntimeError(RAY_HINT) from None
    return RayExecutor(**options)


#: Executor name -> factory taking the executor's options.
EXECUTORS: dict[str, Callable[..., Executor]] = {
    "auto": AutoExecutor,
    "local": LocalExecutor,
    "process": ProcessExecutor,
    "ray": ray_executor,
}


def get_executor(name: str = "local", **options: Any) -> Executor:
    """The executor ``name`` built with ``options``; unknown names get "did you mean"."""
    from attrbench.core.registry import did_you_mean

    return did_you_mean(name, EXECUTORS, "executor")(**options)
