"""Benchmark set-up: the quick and the full set, threads.

Run: ``pytest benchmarks --benchmark-only --benchmark-json=bench.json`` (plain
``pytest`` runs only ``tests/``): the quick set, a few minutes on two cores, every
figure in one JSON report. ``--full`` adds the long benchmarks (:data:`LONG`: whole
jobs, thread settings, the Swiss-Prot-size knowledge base, Ray, the scramblers),
tens of minutes; the fixture ``full`` tells a benchmark which set runs (e.g. the
workers benchmark runs a smaller job in the quick set).
Comparisons time their sides in alternating rounds within one benchmark
(:func:`attrbench.running.timing.interleaved`) and put per-side wall and process CPU
seconds and their ratios in the benchmark's ``extra_info`` (shown with
``--benchmark-json``); the benchmark's own figure is the whole comparison.

Set ``ATTRBENCH_BENCH_THREADS`` to pin torch's intra-op threads (e.g. 1 on a
shared machine, where oversubscribed threads make timings meaningless).
"""

from __future__ import annotations

import os

import pytest
import torch

if os.environ.get("ATTRBENCH_BENCH_THREADS"):
    torch.set_num_threads(int(os.environ["ATTRBENCH_BENCH_THREADS"]))

#: Benchmarks only ``--full`` runs (node ids of benchmarks/, up to a parameter): each takes
#: a minute or more on this project's 2-core machine.
LONG = (
    "test_bench_threads.py::",
    "test_bench_memory.py::",
    "test_bench_scrambler.py::",
    "test_bench_ray.py::test_bench_psl_default_job",
    "test_bench_knowledge.py::test_bench_swissprot",
    "test_bench_knowledge.py::test_bench_build_scl2205",
    "test_bench_methods.py::test_bench_ism_bilstm",
    "test_bench_genomics.py::test_genomics_side_by_side[promoter-ism",
)


def pytest_addoption(parser) -> None:
    parser.addoption(
        "--full",
        action="store_true",
        default=False,
        help="attrbench: run the long benchmarks too (whole jobs, threads, Ray, scramblers)",
    )


def _long(item) -> bool:
    nodeid = item.nodeid.split("benchmarks/", 1)[-1]
    return nodeid.startswith(LONG)


def pytest_collection_modifyitems(config, items) -> None:
    """Without ``--full``, deselect the long benchmarks."""
    if config.getoption("--full"):
        return
    long = [item for item in items if _long(item)]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if not _long(item)]


def pytest_report_header(config):
    which = "full" if config.getoption("--full") else "quick (--full for the long ones)"
    return f"torch threads: {torch.get_num_threads()}; benchmark set: {which}"


@pytest.fixture(scope="session")
def full(request) -> bool:
    """Whether the full set runs (``--full``)."""
    return bool(request.config.getoption("--full"))


@pytest.fixture
def compare(benchmark):
    """``compare(sides, pairs, rounds=, warmup=, device=)``: an interleaved comparison, recorded.

    Runs :func:`attrbench.running.timing.interleaved` once under the benchmark and puts its
    figures (medians per side, ``slow/fast`` ratios of each pair) in
    ``benchmark.extra_info``; returns the :class:`~attrbench.running.timing.Comparison`.
    """
    from attrbench.running.timing import interleaved

    def run(sides, pairs=(), rounds=5, warmup=1, device="cpu"):
        result = benchmark.pedantic(
            lambda: interleaved(sides, rounds, warmup, device), rounds=1, iterations=1
        )
        benchmark.extra_info.update(result.info(*pairs))
        return result

    return run
