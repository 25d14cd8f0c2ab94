"""The Ray executor against in-process execution.

Run: ``OMP_NUM_THREADS=1 ATTRBENCH_BENCH_THREADS=1 pytest benchmarks/test_bench_ray.py
--benchmark-only`` (skipped without Ray). Groups:

- ``ray-psl``: the psl default job (``attrbench run --task psl --method all``: the
  default model, 50 proteins, every method) with ``local`` and with ``ray`` (a local
  instance of 2 CPUs), one round each on fresh results (set
  ``ATTRBENCH_BENCH_PSL_METHODS=saliency,random`` for a shorter job); the knowledge
  base's on-disk index is built before timing, so neither round pays for it.
- ``ray-overhead``: 64 one-sequence chunks of the cheapest method on utr5; the
  difference of the two means divided by 64 is Ray's cost per chunk.
- ``ray-sleep``: 16 chunks of ``sleep`` (0.25 s each, 4 s in a row) on Ray with 1, 2
  and 4 CPUs: bound by waiting, the time falls with the number of workers even where
  this machine's cores are busy.

Every Ray round after a warm-up one, so worker start-up (importing torch) is not timed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

ray = pytest.importorskip("ray")

from attrbench.core.plugin import METHODS, TASKS  # noqa: E402
from attrbench.core.registry import load_plugin_file  # noqa: E402
from attrbench.running.executors import LocalExecutor, get_executor  # noqa: E402
from attrbench.running.results import ResultStore  # noqa: E402
from attrbench.running.runner import RunConfig, run  # noqa: E402

PLUGIN = str(Path(__file__).with_name("sleep_plugin.py"))
N_CHUNKS = 64


@pytest.fixture(autouse=True, scope="module")
def plugin():
    if "sleep" not in METHODS.names():
        load_plugin_file(PLUGIN)


def _ray(num_cpus: int):
    if ray.is_initialized():
        ray.shutdown()
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return get_executor("ray", plugins=[PLUGIN])


def _rounds(benchmark, config: RunConfig, executor, tmp_path: Path, warm: bool) -> None:
    """Time ``run`` on fresh copies of a store that holds the model-quality records."""
    seed = tmp_path / "seed"
    run(RunConfig(**{**vars(config), "methods": [], "metrics": []}), ResultStore(seed))
    counter = iter(range(1000))

    def setup():
        root = tmp_path / f"round{next(counter)}"
        shutil.copytree(seed, root)
        return (config, ResultStore(root), executor), {}

    benchmark.pedantic(run, setup=setup, rounds=1 if not warm else 3, warmup_rounds=int(warm))


@pytest.mark.benchmark(group="ray-psl")
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_bench_psl_default_job(benchmark, executor, tmp_path):
    methods = os.environ.get("ATTRBENCH_BENCH_PSL_METHODS", "all").split(",")
    config = RunConfig(task="psl", methods=methods, device="cpu", progress=False)
    ex = _ray(2) if executor == "ray" else LocalExecutor()
    TASKS.get("psl").resources["knowledge_base"]()  # its on-disk index, built on first use
    _rounds(benchmark, config, ex, tmp_path, warm=False)
    benchmark.extra_info["records"] = len(list((tmp_path / "round0").rglob("*.json")))


@pytest.mark.benchmark(group="ray-overhead")
@pytest.mark.parametrize("executor", ["local", "ray"])
def test_bench_overhead_per_chunk(benchmark, executor, tmp_path):
    torch.set_num_threads(1)
    config = RunConfig(
        task="utr5",
        methods=["random"],
        metrics=["motif_recall"],
        n=N_CHUNKS,
        device="cpu",
        batch_size=1,
        chunk_size=1,
        progress=False,
    )
    ex = _ray(2) if executor == "ray" else LocalExecutor()
    _rounds(benchmark, config, ex, tmp_path, warm=True)
    benchmark.extra_info["chunks"] = N_CHUNKS


@pytest.mark.benchmark(group="ray-sleep")
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_bench_sleep_bound_plan(benchmark, workers, tmp_path):
    config = RunConfig(
        task="utr5",
        methods=["sleep"],
        metrics=["motif_recall"],
        n=64,
        device="cpu",
        batch_size=4,
        chunk_size=4,
        progress=False,
    )
    _rounds(benchmark, config, _ray(workers), tmp_path, warm=True)
    benchmark.extra_info["serial_seconds"] = 16 * 0.25


def teardown_module() -> None:
    if ray.is_initialized():
        ray.shutdown()
