"""Our batched methods side by side with their references, on a realistic small CNN.

Run: ``pytest benchmarks/bench_methods.py --benchmark-only`` (not collected by the
default test run). Each benchmark group holds one comparison, on the same model,
inputs and references: ``ig`` (ours vs captum ``IntegratedGradients``, 50 steps),
``ism`` (batched vs one mutation per forward pass), ``deepshap`` (ours vs captum
``DeepLiftShap``, 20 shared background references). Targets: ig not slower than
captum, ism >= 2.5x faster than the naive loop, deepshap >= 2x faster than captum.
Each "ours" benchmark then checks that the timed pair computes the same thing
(ig to captum within 1e-6, ism to the naive loop within 1e-6, deepshap to captum
within 1e-5).
"""

from __future__ import annotations

import warnings

import pytest
import torch

from attrbench.data import Background
from attrbench.plugin import METHODS
from attrbench.testing import TinyCNN, random_onehot
from attrbench_methods.ism import ism_naive

N, L, CHANNELS, N_STEPS, N_BACKGROUND = 64, 50, 64, 50, 20
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA device")]),
]


@pytest.fixture(scope="module", params=DEVICES)
def case(request) -> dict:
    device = torch.device(request.param)
    model = TinyCNN(channels=CHANNELS).eval().to(device)
    X, mask = random_onehot(N, L, seed=0)
    background = Background.from_dataset(random_onehot(256, L, seed=1)[0])
    refs = background.sample(N_BACKGROUND, L, torch.Generator().manual_seed(2))
    X, mask, refs = X.to(device), mask.to(device), refs.to(device)
    with torch.no_grad():
        target = model(X).argmax(1)
    return {"model": model, "X": X, "mask": mask, "target": target, "refs": refs, "device": device}


def timed(benchmark, fn, rounds: int, device: torch.device):
    """Benchmark ``fn`` with one warm-up round, synchronising CUDA around each call."""

    def call():
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return out

    return benchmark.pedantic(call, rounds=rounds, warmup_rounds=1, iterations=1)


def ours_ig(c):
    return METHODS.get("ig")(c["model"], c["X"], c["target"], c["mask"], n_steps=N_STEPS)


def captum_ig(c):
    from captum.attr import IntegratedGradients

    return IntegratedGradients(c["model"]).attribute(c["X"], target=c["target"], n_steps=N_STEPS)


def ours_deepshap(c):
    baseline = c["refs"].expand(N, -1, -1, -1)
    return METHODS.get("deepshap")(c["model"], c["X"], c["target"], c["mask"], baseline=baseline)


def captum_deepshap(c):
    from captum.attr import DeepLiftShap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DeepLiftShap(c["model"]).attribute(c["X"], c["refs"], target=c["target"]).detach()


@pytest.mark.benchmark(group="ig")
def test_bench_ig_ours(benchmark, case):
    out = timed(benchmark, lambda: ours_ig(case), 5, case["device"])
    torch.testing.assert_close(out, captum_ig(case), atol=1e-6, rtol=0)


@pytest.mark.benchmark(group="ig")
def test_bench_ig_captum(benchmark, case):
    timed(benchmark, lambda: captum_ig(case), 5, case["device"])


@pytest.mark.benchmark(group="ism")
def test_bench_ism_batched(benchmark, case):
    c = case
    out = timed(benchmark, lambda: METHODS.get("ism")(c["model"], c["X"], c["target"], c["mask"]),
                5, c["device"])
    few = slice(0, 4)  # the naive loop on every sequence is what the other benchmark times
    naive = ism_naive(c["model"], c["X"][few], c["target"][few], c["mask"][few])
    torch.testing.assert_close(out[few], naive, atol=1e-6, rtol=0)


@pytest.mark.benchmark(group="ism")
def test_bench_ism_naive(benchmark, case):
    c = case
    timed(benchmark, lambda: ism_naive(c["model"], c["X"], c["target"], c["mask"]), 2, c["device"])


@pytest.mark.benchmark(group="deepshap")
def test_bench_deepshap_ours(benchmark, case):
    out = timed(benchmark, lambda: ours_deepshap(case), 5, case["device"])
    torch.testing.assert_close(out, captum_deepshap(case), atol=1e-5, rtol=1e-4)


@pytest.mark.benchmark(group="deepshap")
def test_bench_deepshap_captum(benchmark, case):
    timed(benchmark, lambda: captum_deepshap(case), 5, case["device"])
