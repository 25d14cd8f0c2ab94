"""Cost of every registered method on the utr5 CNN, with the code ``attrbench bench`` uses.

Run: ``pytest benchmarks/test_bench_cost.py --benchmark-only`` (CUDA cases skip
without a GPU). Group ``cost``: one benchmark per (method, device) on 64 test
sequences in one batch, after a warm-up call; each benchmark's ``extra_info``
holds the forward/backward passes per sequence (counted with
:func:`attrbench.running.bench.count_passes`), the ratio to the method's declared floor
and the peak memory of one timed call (:func:`attrbench.running.timing.measure`).
Target: every method with a declared floor at most 1.1x its floor.
Group ``site``: building the site of three methods' records with logos (target under 10 s).
"""

from __future__ import annotations

import pytest
import torch

from attrbench.core.plugin import METHODS
from attrbench.reporting.explain import attribute, prepare
from attrbench.running.bench import count_passes, floor_of
from attrbench.running.timing import measure

DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
    ),
]


@pytest.fixture(scope="module", params=DEVICES)
def setup(request):
    s = prepare("utr5", "default", request.param)
    test = s.task.data("test")
    return s, test.subset(range(0, len(test), len(test) // 64)[:64])


@pytest.mark.parametrize("name", METHODS.names())
def test_cost(benchmark, setup, name):
    s, ds = setup
    method = METHODS.get(name)
    if method.why_not(s.model):
        pytest.skip(method.why_not(s.model))
    if method.fit is not None:
        pytest.skip(f"{name} explains with a fitted state: benchmarks/test_bench_scrambler.py")
    target = torch.zeros(len(ds), dtype=torch.long)

    def call():
        return attribute(s, method, ds.X, target, ds.mask, torch.Generator().manual_seed(0))

    call()  # warm-up
    with count_passes(s.model) as passes, measure(s.device) as timing:
        call()
    floor = floor_of(method, {}, ds.X)
    used = (passes.forward_rows + passes.backward_rows) / len(ds)
    ratio = used / sum(floor) if floor and sum(floor) else None
    benchmark.group = "cost"
    benchmark.extra_info.update(
        forward_per_seq=passes.forward_rows / len(ds),
        floor_ratio=ratio,
        backward_per_seq=passes.backward_rows / len(ds),
        peak_bytes=timing.peak_bytes,
    )
    benchmark(call)
    assert ratio is None or ratio <= 1.1


def test_site_build(benchmark, setup, tmp_path):
    from attrbench.running.bench import bench_method
    from attrbench.site import build_site

    s, ds = setup
    target = torch.zeros(len(ds), dtype=torch.long)
    records = [
        bench_method(s, METHODS.get(m), ds, target) for m in ("saliency", "grad_x_input", "random")
    ]
    benchmark.group = "site"
    benchmark.pedantic(build_site, args=(records, tmp_path), rounds=1, iterations=1)
