"""Benchmark set-up: threads.

Run: ``pytest benchmarks --benchmark-only`` (plain ``pytest`` runs only ``tests/``).
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


def pytest_report_header(config):
    return f"torch threads: {torch.get_num_threads()}"


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
