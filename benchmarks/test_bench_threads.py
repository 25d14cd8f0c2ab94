"""Thread settings side by side: torch's default, one thread, two threads with a passive wait.

Run: ``pytest benchmarks/test_bench_threads.py --benchmark-only`` (about 10 minutes
on a loaded 2-core machine). Each setting runs the workload in a fresh process
(``benchmarks/_workload.py``: thread variables are read when torch is imported),
in alternating rounds (:func:`attrbench.running.timing.interleaved`); ``extra_info`` holds
the workload's own wall and CPU seconds (imports excluded) per setting and the
ratios to one thread. Parametrized by workload (``utr5``: a small utr5 job's
cells; ``psl_kl``: a psl inclusion-KL cell on ``bilstm_att``) and by load:
``as-is`` (whatever else runs on the machine) and ``busy`` (plus one process
spinning on a core for the duration). ``ATTRBENCH_BENCH_THREAD_ROUNDS`` sets the
rounds (default 1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from attrbench.running.timing import interleaved

WORKLOAD = Path(__file__).parent / "_workload.py"
ROUNDS = int(os.environ.get("ATTRBENCH_BENCH_THREAD_ROUNDS", "1"))
SETTINGS = {
    "default": {},
    "one": {"OMP_NUM_THREADS": "1"},
    "two_passive": {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "PASSIVE"},
}
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "ATTRBENCH_BENCH_THREADS")


def run_workload(name: str, setting: dict) -> dict:
    """The workload's ``{"wall", "cpu", "threads"}`` in a fresh process with ``setting``."""
    env = {k: v for k, v in os.environ.items() if k not in _THREAD_VARS}
    out = subprocess.run(
        [sys.executable, str(WORKLOAD), name],
        env={**env, **setting},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def busy_core(on: bool):
    """One extra process spinning on a core while the block runs (if ``on``)."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if on else None
    try:
        yield
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()


@pytest.mark.benchmark(group="threads")
@pytest.mark.parametrize("load", ["as-is", "busy"])
@pytest.mark.parametrize("workload", ["utr5", "psl_kl"])
def test_bench_threads(benchmark, workload, load):
    sides = {name: (lambda s=s: run_workload(workload, s)) for name, s in SETTINGS.items()}
    with busy_core(load == "busy"):
        result = benchmark.pedantic(lambda: interleaved(sides, ROUNDS, 0), rounds=1, iterations=1)
    info = benchmark.extra_info
    for name, side in result.sides.items():
        info[f"{name}_threads"] = side.output["threads"]
        info[f"{name}_wall_s"] = side.output["wall"]
        info[f"{name}_cpu_s"] = side.output["cpu"]
    for name in ("default", "two_passive"):
        info[f"{name}/one_wall"] = info[f"{name}_wall_s"] / info["one_wall_s"]
        info[f"{name}/one_cpu"] = info[f"{name}_cpu_s"] / info["one_cpu_s"]
    assert result["one"].output["threads"] == 1 and result["two_passive"].output["threads"] == 2
