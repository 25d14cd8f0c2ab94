"""Wall time and peak memory of a block of work, correct on CPU and CUDA.

On CUDA the device is synchronized before the clock starts and stops, and peak
memory is ``torch.cuda.max_memory_allocated``. On CPU peak memory is the peak
resident set size above the level at the start, sampled every few milliseconds
from ``/proc/self/statm`` (Linux; elsewhere it is reported as unknown, -1).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

__all__ = ["Timing", "measure", "resolve_device"]


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
