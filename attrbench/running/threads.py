"""CPU threads of torch, chosen before torch starts its thread pool.

OpenMP reads ``OMP_NUM_THREADS`` and ``OMP_WAIT_POLICY`` when its library is
loaded, i.e. at ``import torch``; after that only the intra-op thread count can
change (``torch.set_num_threads``), not how idle threads wait. With the default
(active) wait policy, idle OpenMP threads spin between parallel regions; on a
machine whose cores are busy with other work they compete with that work and
with each other, and small models (whose parallel regions are short) run several
times slower than on one thread. :func:`configure` therefore sets the thread
variables first, and must run before anything imports torch (the CLI calls it first thing).

Default (``n=None``): one thread (:data:`DEFAULT_THREADS`), unless
``OMP_NUM_THREADS`` is set. Measured with ``benchmarks/test_bench_threads.py``
(3 interleaved rounds, each setting in a fresh process) on this project's
2-core machine, on the cells of a small utr5 job and a psl inclusion-KL cell:

============================  ==========  ============  ===============
wall time / one thread's      quiet utr5  quiet psl KL  one busy core
============================  ==========  ============  ===============
torch's default (2, active)   0.93        0.79          2.06 / 1.57
2 threads, passive wait       1.32        1.53          1.14 / 0.95
============================  ==========  ============  ===============

On a loaded machine (about 20 other processes) torch's default was 4.3x and
14x slower than one thread. One thread is thus never far from the best and is
the best as soon as another job shares the cores; results are also
bit-identical whatever the machine's load. ``n > 1`` keeps OpenMP's own wait
policy (spinning, the fastest when the cores are free) unless the user set
``OMP_WAIT_POLICY``. This module imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = [
    "DEFAULT_THREADS",
    "PRIMITIVE_CACHE",
    "cap_primitive_cache",
    "configure",
    "current_threads",
]

#: Threads used when none are asked for (see the module docstring for the measurements).
DEFAULT_THREADS = 1
_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")

#: oneDNN primitives torch keeps cached (its default is 1024). An LSTM primitive is
#: built per input shape and holds its workspace; ISM on a BiLSTM meets a new
#: sequence length at almost every batch, so the default cache grew a psl ISM cell
#: by about 340 MB (one psl sequence of length 600: 631 MB peak against 291 MB with
#: 16), with no measurable change in speed.
PRIMITIVE_CACHE = 16


def cap_primitive_cache() -> None:
    """Cap oneDNN's primitive cache at :data:`PRIMITIVE_CACHE` unless the user set one.

    oneDNN reads ``ONEDNN_PRIMITIVE_CACHE_CAPACITY`` when it first builds a
    primitive, so this runs on ``import attrbench``.
    """
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(PRIMITIVE_CACHE))


def configure(n: int | None = None) -> int:
    """Choose how many CPU threads torch uses; call before ``import torch``.

    Parameters
    ----------
    n : int, optional
        Threads (>= 1). None: :data:`DEFAULT_THREADS`, unless ``OMP_NUM_THREADS``
        is already set in the environment, which is then respected.

    Returns
    -------
    n : int
        The thread count in effect.

    Notes
    -----
    Sets ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``NUMBA_NUM_THREADS`` (numba, used by
    motif discovery, shares torch's OpenMP runtime; left as it is once numba is imported) to
    ``n``. When torch is
    already imported it calls ``torch.set_num_threads(n)`` (OpenMP has then
    read its variables: a warning says so when ``n`` differs from the pool's).
    """
    if n is None:
        n = _from_env() or DEFAULT_THREADS
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    for name in _VARIABLES:
        if name == "NUMBA_NUM_THREADS" and "numba" in sys.modules:
            continue  # numba refuses a new value once its threads run; it keeps its own
        os.environ[name] = str(n)
    if "torch" in sys.modules:
        import torch

        if torch.get_num_threads() != n:
            warnings.warn(
                "attrbench.running.threads.configure ran after `import torch`: torch.set_num_threads "
                "changes the thread count, OpenMP's start-up settings stay (call it first)",
                RuntimeWarning,
                stacklevel=2,
            )
        torch.set_num_threads(n)
    return n


def current_threads() -> int:
    """The thread count :func:`configure` set (``OMP_NUM_THREADS``), else :data:`DEFAULT_THREADS`."""
    return _from_env() or DEFAULT_THREADS


def _from_env() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None
