"""Peak resident memory of the default psl job, for before/after comparisons.

Run: ``pytest benchmarks/test_bench_memory.py --benchmark-only``. The job runs as
``attrbench run --task psl ...`` (the installed script) in a child of a small wrapper process, which
reports ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the peak of that job
alone); ``extra_info["peak_rss_gb"]``. By default the job is cheap (method
``random``, metric ``shift_invariance``: the data, model-quality and metric set-up
that every psl job pays); ``ATTRBENCH_BENCH_PSL_JOB="--method all"`` runs the
flagship job instead. Records go to a temporary folder.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

JOB = os.environ.get("ATTRBENCH_BENCH_PSL_JOB", "--method random --metric shift_invariance")
_WRAPPER = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def peak_rss_kb(args: list[str]) -> int:
    """Peak RSS (KiB, Linux) of the command ``args`` run in a fresh wrapper process."""
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.benchmark(group="memory")
def test_bench_psl_job_peak_rss(benchmark, tmp_path):
    attrbench = [str(Path(sys.executable).with_name("attrbench"))]
    args = [
        *attrbench,
        "run",
        "--task",
        "psl",
        *shlex.split(JOB),
        "--results",
        str(tmp_path),
        "--quiet",
        "--threads",
        "1",
    ]
    kb = benchmark.pedantic(lambda: peak_rss_kb(args), rounds=1, iterations=1)
    benchmark.extra_info["job"] = " ".join(args[len(attrbench) :])
    benchmark.extra_info["peak_rss_gb"] = kb * 1024 / 1e9
