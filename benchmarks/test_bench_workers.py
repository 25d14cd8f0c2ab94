"""The utr5 job with one worker and with two, side by side: speed-up and equal records.

Run: ``pytest benchmarks/test_bench_workers.py --benchmark-only -s`` (``-s`` shows the
printed line). Each side is ``attrbench run --task utr5`` in a fresh process with a
fresh results folder and one torch thread, ``--workers 1`` (in one process) or
``--workers 2`` (two worker processes, one batch per chunk), in alternating rounds
(:func:`attrbench.running.timing.interleaved`). The quick set runs every method without a
fit and every per-sequence metric (not TF-MoDISco's set-level one) on 64 sequences;
``--full`` runs the README's job, ``--method all`` on the
task's default ``n``. ``extra_info`` holds each side's wall seconds, the
speed-up (goal >= 1.7x on two quiet cores) and the 1-minute load average before
and after; time is reported, not asserted. The records of the two sides must be
equal but for the measurements of the run (:func:`attrbench.testing.comparable`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from attrbench.core.plugin import METHODS, METRICS
from attrbench.running.results import ResultStore
from attrbench.running.timing import interleaved
from attrbench.testing import comparable

#: What the ``attrbench`` console script runs.
ENTRY = "import sys; from attrbench.cli import main; sys.exit(main(sys.argv[1:]))"
ROUNDS = int(os.environ.get("ATTRBENCH_BENCH_WORKER_ROUNDS", "1"))


def job(full: bool) -> list[str]:
    """The arguments of the benchmarked ``attrbench run``."""
    if full:
        return ["--task", "utr5", "--method", "all"]
    methods = [m.name for m in METHODS if m.fit is None]
    metrics = [q.name for q in METRICS if not q.set_level]
    quick = ["--method", ",".join(methods), "--metric", ",".join(metrics), "--n", "64"]
    return ["--task", "utr5", *quick]


def run_job(args: list[str], workers: int, root: Path) -> Path:
    """``attrbench run ARGS --workers N`` in a fresh process and results folder; the folder."""
    results = Path(tempfile.mkdtemp(prefix=f"w{workers}-", dir=root))
    env = {k: v for k, v in os.environ.items() if k != "ATTRBENCH_WORKERS"}
    env["OMP_NUM_THREADS"] = "1"
    argv = [sys.executable, "-c", ENTRY, "run", *args, "--quiet"]
    argv += ["--workers", str(workers), "--results", str(results)]
    subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return results


def test_bench_utr5_one_and_two_workers(benchmark, full, tmp_path):
    args = job(full)
    sides = {f"workers{w}": (lambda w=w: run_job(args, w, tmp_path)) for w in (1, 2)}
    load_before = os.getloadavg()[0]
    result = benchmark.pedantic(lambda: interleaved(sides, ROUNDS, 0), rounds=1, iterations=1)
    speedup = result.ratio("workers1", "workers2")[0]
    benchmark.extra_info.update(result.info())
    benchmark.extra_info.update(
        speedup_wall=speedup, load_before=load_before, load_after=os.getloadavg()[0]
    )
    print(
        f"\nutr5 ({'full' if full else 'quick'} job): 1 worker {result['workers1'].wall_median:.1f} s, "
        f"2 workers {result['workers2'].wall_median:.1f} s, speed-up {speedup:.2f}x "
        f"(load {load_before:.2f} before, {os.getloadavg()[0]:.2f} after)"
    )
    one, two = (ResultStore(result[s].output).records() for s in ("workers1", "workers2"))
    assert len(one) == len(two) > 0
    by_key = [{r.key.digest: comparable(r) for r in records} for records in (one, two)]
    assert by_key[0] == by_key[1]
