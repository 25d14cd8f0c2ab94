"""Wall time and peak memory of a block of work, correct on CPU and CUDA.

On CUDA the device is synchronized before the clock starts and stops, and peak
memory is ``torch.cuda.max_memory_allocated``. On CPU peak memory is the peak
resident set size above the level at the start, sampled every few milliseconds
from ``/proc/self/statm`` (Linux; elsewhere it is reported as unknown, -1).

:func:`interleaved` times several implementations of one computation in
alternating rounds, by wall clock and process CPU time (the benchmarks'
comparisons).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

__all__ = ["Timing", "measure", "resolve_device", "Side", "Comparison", "interleaved"]


@dataclass
class Timing:
    """Seconds and peak memory (bytes, -1 if unknown) of a measured block."""

    seconds: float = 0.0
    peak_bytes: int = -1
    device: str = "cpu"


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> cuda if available else cpu; ``"cuda"`` without a GPU is an error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("--device cuda was asked for but no CUDA device is available")
    return device


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return -1


class _RssSampler(threading.Thread):
    def __init__(self, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.interval, self.start_rss, self.peak = interval, _rss(), _rss()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.peak = max(self.peak, _rss())

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        self.peak = max(self.peak, _rss())
        return -1 if self.start_rss < 0 else self.peak - self.start_rss


@contextmanager
def measure(device: str | torch.device = "cpu") -> Iterator[Timing]:
    """Time the block and record its peak memory on ``device``.

    Examples
    --------
    >>> with measure("cpu") as t:
    ...     _ = sum(range(1000))
    >>> t.seconds >= 0
    True
    """
    device = torch.device(device)
    timing = Timing(device=str(device))
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
    else:
        sampler = _RssSampler()
        sampler.start()
    start = time.perf_counter()
    try:
        yield timing
    finally:
        if cuda:
            torch.cuda.synchronize(device)
        timing.seconds = time.perf_counter() - start
        if cuda:
            timing.peak_bytes = int(torch.cuda.max_memory_allocated(device) - base)
        else:
            timing.peak_bytes = sampler.stop()


# --------------------------------------------------------------------------- interleaved comparisons


@dataclass
class Side:
    """Per-round wall and process CPU seconds and minor page faults of one side of a
    comparison, and its last output."""

    wall: list[float]
    cpu: list[float]
    faults: list[int] = field(default_factory=list)
    output: object = None

    @property
    def wall_median(self) -> float:
        return _median(self.wall)

    @property
    def cpu_median(self) -> float:
        return _median(self.cpu)


@dataclass
class Comparison:
    """The sides of an interleaved comparison, by name (see :func:`interleaved`)."""

    sides: dict[str, Side]

    def __getitem__(self, name: str) -> Side:
        return self.sides[name]

    def ratio(self, slow: str, fast: str) -> tuple[float, float]:
        """``(wall, cpu)``: median seconds of ``slow`` over those of ``fast`` (> 1: ``fast`` is faster)."""
        a, b = self.sides[slow], self.sides[fast]
        return a.wall_median / b.wall_median, a.cpu_median / b.cpu_median

    def info(self, *pairs: tuple[str, str]) -> dict[str, float]:
        """Flat figures for a benchmark's ``extra_info``: per-side medians, then each ratio."""
        out: dict[str, float] = {}
        for name, side in self.sides.items():
            out[f"{name}_wall_s"] = side.wall_median
            out[f"{name}_cpu_s"] = side.cpu_median
            if side.faults:
                out[f"{name}_page_faults"] = _median(side.faults)
        for slow, fast in pairs:
            wall, cpu = self.ratio(slow, fast)
            out[f"{slow}/{fast}_wall"] = wall
            out[f"{slow}/{fast}_cpu"] = cpu
        return out


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def interleaved(
    sides: dict[str, Callable[[], object]],
    rounds: int = 5,
    warmup: int = 1,
    device: str | torch.device = "cpu",
) -> Comparison:
    """Time several implementations of one computation in alternating rounds.

    Each round calls every side once, in an order that rotates from round to
    round, so a change of machine load between rounds hits every side alike
    (timing one side after the other makes ratios swing with the load on a
    shared machine). Each call is timed by wall clock and by the CPU time of
    this process (``time.process_time``: all its threads, not other processes);
    its minor page faults are counted too (a fresh page costs microseconds, see
    :mod:`attrbench.running.allocator`; -1 where the count is unavailable).
    On CUDA the device is synchronized around each call.

    Parameters
    ----------
    sides : dict of str to callable
        Name -> a function of no arguments.
    rounds : int
        Timed rounds.
    warmup : int
        Untimed rounds first.
    device : str or torch.device

    Returns
    -------
    comparison : Comparison
        Every side's times and its last output.

    Examples
    --------
    >>> c = interleaved({"a": lambda: sum(range(100)), "b": lambda: 4950}, rounds=3, warmup=0)
    >>> c["a"].output == c["b"].output and len(c["a"].cpu) == 3
    True
    """
    device = torch.device(device)
    names = list(sides)
    result = {name: Side([], []) for name in names}
    for r in range(warmup + rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu, faults, out = _timed_call(sides[name], device)
            result[name].output = out
            if r >= warmup:
                result[name].wall.append(wall)
                result[name].cpu.append(cpu)
                result[name].faults.append(faults)
    return Comparison(result)


def _minor_faults() -> int:
    try:
        import resource
    except ImportError:  # not a Unix
        return -1
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _timed_call(fn: Callable[[], object], device: torch.device) -> tuple[float, float, int, object]:
    """``(wall seconds, CPU seconds, minor page faults, output)`` of one call."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    faults, wall, cpu = _minor_faults(), time.perf_counter(), time.process_time()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = _minor_faults()
    return wall, cpu, -1 if after < 0 else after - faults, out
