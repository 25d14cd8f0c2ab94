"""CPU threads of torch, chosen before torch starts its thread pool.

OpenMP reads ``OMP_NUM_THREADS`` and ``OMP_WAIT_POLICY`` when its library is
loaded, i.e. at ``import torch``; after that only the intra-op thread count can
change (``torch.set_num_threads``), not how idle threads wait. With the default
(active) wait policy, idle OpenMP threads spin between parallel regions; on a
machine whose cores are busy with other work they compete with that work and
with each other, and small models (whose parallel regions are short) run several
times slower than on one thread. :func:`configure` therefore sets both variables
first, and must run before anything imports torch (the CLI calls it first thing).

Default (``n=None``): two threads (one on a one-core machine) with the passive
wait policy (:data:`DEFAULT_THREADS`). Measured with
``benchmarks/test_bench_threads.py`` on a 2-core machine loaded by about 20
other processes, on the cells of a small utr5 job and a psl inclusion-KL cell:
torch's default (2 threads, active wait) took 4.3x and 14x the wall time of one
thread and 9x and 17x its CPU time; 2 threads with a passive wait took 0.5x and
0.6x the wall time of one thread for 0.9x and 1.1x its CPU time. So a passive
wait removes the loss under load, and a second thread is free to help when a
core is idle. With ``n > 1`` the wait policy is passive, so idle threads sleep
instead of spinning. This module imports nothing heavy.
"""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["DEFAULT_THREADS", "configure"]

#: Threads used when none are asked for (see the module docstring for the measurements).
DEFAULT_THREADS = min(2, os.cpu_count() or 1)
_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


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
    Sets ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` to ``n`` and, for ``n > 1``,
    ``OMP_WAIT_POLICY=PASSIVE`` unless the user set a wait policy. When torch is
    already imported it calls ``torch.set_num_threads(n)`` and warns that the
    wait policy could not be applied.
    """
    if n is None:
        n = _from_env() or DEFAULT_THREADS
    if n < 1:
        raise ValueError(f"threads must be at least 1, got {n}")
    for name in _VARIABLES:
        os.environ[name] = str(n)
    if n > 1:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(n)
        if n > 1:
            warnings.warn(
                "attrbench.threads.configure ran after `import torch`: the thread count is "
                "set, the OpenMP wait policy is not (call it before importing torch)",
                RuntimeWarning, stacklevel=2,
            )
    return n


def _from_env() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else None
