"""The C heap under torch's CPU tensors: glibc's malloc thresholds, and handing memory back.

torch allocates CPU tensors with ``malloc``. glibc serves a block above its
*mmap threshold* with a fresh ``mmap`` and returns free memory at the top of the
heap to the system once it exceeds the *trim threshold*. Both thresholds start
low (128 KiB) and rise only as large blocks are freed, up to 32 MiB and 64 MiB.
A tensor workload that frees and re-allocates multi-megabyte blocks in a
pattern those rules do not settle on pays a page fault for every 4 KiB of every
such block, on every pass: on this project's virtual machine about 2.5 us each,
more than the arithmetic written into the memory.

Measured on utr5's CNN (64 sequences x 20 shared references, 1 thread,
``benchmarks/test_bench_methods.py -k rescale_vs_floor``): DeepSHAP took 15,300
minor page faults per call against its floor's 1,160 and ran at 1.57-1.74x the
floor's CPU time; with the thresholds fixed at glibc's own maxima (below) it
took 190 faults and ran at 1.11x. Which pattern a
process settles on depends on everything it ran before, so the same code
measured anywhere between 1.2x and 1.7x from run to run.

:func:`tune_malloc` (called on ``import attrbench``) fixes the thresholds at those
maxima from the start. Memory freed between the cells of a run is still handed
back by :func:`release_memory` (``malloc_trim``), so peaks are unchanged. It does
nothing where glibc is not the C library, when the user tuned malloc through
the environment (``GLIBC_TUNABLES`` with ``glibc.malloc``, ``MALLOC_*_``), or
when ``ATTRBENCH_MALLOC=default``. This module imports nothing heavy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from typing import Literal

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune_malloc", "release_memory"]

#: Blocks from this size on get their own ``mmap`` (glibc's largest dynamic value).
MMAP_THRESHOLD = 32 << 20
#: Free memory at the heap's top kept for re-use up to this size (twice the above, as glibc does).
TRIM_THRESHOLD = 64 << 20

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, <malloc.h>
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def _glibc() -> ctypes.CDLL | None:
    """glibc, or None where the C library is another one (macOS, musl, Windows)."""
    global _LIBC
    if _LIBC is False:
        _LIBC = None
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim"):
                    _LIBC = libc
            except OSError:
                pass
    return _LIBC


_LIBC: ctypes.CDLL | None | Literal[False] = False


def _user_tuned() -> bool:
    env = os.environ
    return (
        env.get("ATTRBENCH_MALLOC", "") == "default"
        or "glibc.malloc." in env.get("GLIBC_TUNABLES", "")
        or any(name in env for name in _USER_SETTINGS)
    )


def tune_malloc() -> bool:
    """Fix glibc's mmap and trim thresholds at :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD`.

    Returns
    -------
    tuned : bool
        False when nothing was changed (not glibc, or the user's own settings apply).
    """
    libc = None if _user_tuned() else _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


def release_memory() -> None:
    """Hand memory the process has freed back to the system (glibc's ``malloc_trim``).

    Blocks of different sizes (a model pass, a gradient, a resampled batch)
    leave the C heap fragmented: freed memory stays resident and the process's
    peak creeps up from block to block (the psl job reached 1.9 GB). A no-op
    where glibc is not the C library.
    """
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
