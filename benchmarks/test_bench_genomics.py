"""Our deepshap (dinucleotide-shuffled references) and ism beside tangermeme's, in one run.

Run: ``pytest benchmarks/test_bench_genomics.py --benchmark-only``. On the shipped
utr5 CNN (32 test sequences, length 50) and promoter CNN (32, length 251):

- ``deepshap-shuffle``: ours (``hypothetical=True``, 20 given shuffles) vs
  ``tangermeme.deep_lift_shap(..., references=refs, hypothetical=True)``;
- ``ism``: ours vs ``tangermeme.saturation_mutagenesis(..., hypothetical=True)``.

The two sides of a group get the same inputs and references, and after timing
each benchmark checks that they agree to 1e-5 (tests/test_shuffle.py holds the
same checks as tests).
"""

from __future__ import annotations

import pytest
import torch

from attrbench.core.plugin import METHODS, TASKS
from attrbench.core.shuffle import dinucleotide_shuffle
from attrbench.running.training import load_model

N, N_SHUFFLES = 32, 20


@pytest.fixture(scope="module", params=["utr5", "promoter"])
def setup(request):
    task = TASKS.get(request.param)
    model = load_model(task, "cnn").eval()
    X = task.data("test").X[:N].float()
    target = torch.ones(len(X), dtype=torch.long)
    mask = torch.ones(len(X), X.shape[2], dtype=torch.bool)
    refs = dinucleotide_shuffle(X, N_SHUFFLES, torch.Generator().manual_seed(0))
    return request.param, model, X, target, mask, refs


def _ours_deepshap(model, X, target, mask, refs):
    return METHODS.get("deepshap")(model, X, target, mask, baseline=refs, hypothetical=True)


def _tangermeme_deepshap(model, X, target, mask, refs):
    from tangermeme.deep_lift_shap import deep_lift_shap

    return deep_lift_shap(
        model, X, target=1, references=refs, hypothetical=True, device="cpu", batch_size=512
    )


def _ours_ism(model, X, target, mask, refs):
    return METHODS.get("ism")(model, X, target, mask)


def _tangermeme_ism(model, X, target, mask, refs):
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis

    return saturation_mutagenesis(
        model, X, target=1, hypothetical=True, device="cpu", batch_size=64
    )


SIDES = {
    "deepshap-shuffle": {"attrbench": _ours_deepshap, "tangermeme": _tangermeme_deepshap},
    "ism": {"attrbench": _ours_ism, "tangermeme": _tangermeme_ism},
}


@pytest.mark.parametrize("side", ["attrbench", "tangermeme"])
@pytest.mark.parametrize("group", list(SIDES))
def test_genomics_side_by_side(benchmark, setup, group, side):
    pytest.importorskip("tangermeme")
    task, model, X, target, mask, refs = setup
    benchmark.group = f"{group}-{task}"
    fn = SIDES[group][side]
    out = benchmark.pedantic(fn, args=(model, X, target, mask, refs), rounds=3, warmup_rounds=1)
    other = SIDES[group]["tangermeme" if side == "attrbench" else "attrbench"]
    ref = other(model, X, target, mask, refs)
    assert torch.allclose(out.float(), ref.float(), atol=1e-5)
