"""Executors: run a plan's chunks somewhere and hand back their results.

An executor maps :func:`attrbench.running.cell.execute` over chunks and yields
``(chunk, result)`` pairs as they finish, in any order; a chunk that raised
yields the exception, so the driver records it as failed and the run goes on.
``local`` runs chunks one after another in this process (the default);
``process`` uses a pool of local processes; ``ray`` runs them as Ray tasks
(:mod:`attrbench.running.executors_ray`, imported on use so Ray stays optional). Other
executors register in :data:`EXECUTORS` under their name.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from attrbench.running.cell import ChunkResult, execute
from attrbench.running.plan import Chunk

__all__ = [
    "Executor",
    "LocalExecutor",
    "ProcessExecutor",
    "EXECUTORS",
    "get_executor",
    "ray_executor",
]

Outcome = tuple[Chunk, "ChunkResult | BaseException"]


class Executor(Protocol):
    """Runs chunks; yields each chunk with its result or the exception it raised."""

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]: ...


class LocalExecutor:
    """Every chunk in this process, in plan order."""

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]:
        for chunk in chunks:
            try:
                yield chunk, execute(chunk)
            except Exception as exc:  # recorded as failed by the driver
                yield chunk, exc


class ProcessExecutor:
    """Chunks on a pool of ``workers`` local processes (spawned, so each loads the plugins).

    Each worker builds the run's shared state (test split, models) once and keeps it.
    """

    def __init__(self, workers: int = 2) -> None:
        self.workers = workers

    def map(self, chunks: Sequence[Chunk]) -> Iterator[Outcome]:
        ctx = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(self.workers, mp_context=ctx) as pool:
            futures = {pool.submit(execute, c): c for c in chunks}
            for future in cf.as_completed(futures):
                exc = future.exception()
                yield futures[future], exc if exc is not None else future.result()


#: How to get the optional Ray executor.
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
    "local": LocalExecutor,
    "process": ProcessExecutor,
    "ray": ray_executor,
}


def get_executor(name: str = "local", **options: Any) -> Executor:
    """The executor ``name`` built with ``options``; unknown names get "did you mean"."""
    from attrbench.core.registry import did_you_mean

    return did_you_mean(name, EXECUTORS, "executor")(**options)
