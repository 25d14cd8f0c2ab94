"""Our methods side by side with their references and their compute floors.

Run: ``pytest benchmarks/test_bench_methods.py --benchmark-only``. Every group is
one interleaved comparison (:func:`attrbench.running.timing.interleaved`) on the same
model and inputs; ``extra_info`` holds per-side wall and CPU medians and the
ratios. Each benchmark then checks that its sides compute the same thing.

- ``ig``: ours vs captum ``IntegratedGradients`` (50 steps) on a small CNN
  (target: not slower; agreement 1e-6).
- ``ism``: batched vs one mutation per forward pass on the small CNN (target >= 2.5x).
- ``deepshap``: ours vs captum ``DeepLiftShap`` on the small CNN (target >= 2x; 1e-5).
- ``rescale-floor``: ``deeplift`` and ``deepshap`` on utr5's CNN (64 test
  sequences, 20 shared references) vs their compute floor: the same forward
  passes of the references and forward/backward passes of the (input,
  reference) pairs, in the same chunks, without the rescale hooks (target:
  at most 1.3x).
- ``ism-batch``: ISM on utr5's CNN (64 test-like sequences of 50 positions) with its
  default passes (as many mutants as ``ops.MAX_POSITIONS`` positions hold: 327) vs its
  former default of 64 mutants per pass (agreement 1e-5).
- ``ism-bilstm``: ISM on psl's ``bilstm_att`` for one protein of length 1000:
  now (``mutant_logits``, recurrent passes of 64 mutants, heads of 16) vs before (generic path, batches of
  1024, the former BiLSTM wrapper) vs the naive loop (on 8 positions,
  compared per mutant; target: now >= 3x faster than before). Set
  ``ATTRBENCH_BENCH_ISM_L`` for another length (the cost grows as L^2).
"""

from __future__ import annotations

import os
import warnings

import pytest
import torch
from _legacy import OLD_ISM_BATCH, legacy

from attrbench.core.data import Background
from attrbench.core.plugin import METHODS
from attrbench.testing import TinyCNN, random_onehot
from attrbench_methods.gradients import center_alphabet, target_gradient, target_logits
from attrbench_methods.ism import ism_deltas, ism_naive

N, L, CHANNELS, N_STEPS, N_BACKGROUND = 64, 50, 64, 50, 20
DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
        ],
    ),
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


def ours_ig(c):
    return METHODS.get("ig")(c["model"], c["X"], c["target"], c["mask"], n_steps=N_STEPS)


def captum_ig(c):
    from captum.attr import IntegratedGradients

    return IntegratedGradients(c["model"]).attribute(c["X"], target=c["target"], n_steps=N_STEPS)


def ours_deepshap(c):
    baseline = c["refs"].expand(len(c["X"]), -1, -1, -1)
    return METHODS.get("deepshap")(c["model"], c["X"], c["target"], c["mask"], baseline=baseline)


def captum_deepshap(c):
    from captum.attr import DeepLiftShap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DeepLiftShap(c["model"]).attribute(c["X"], c["refs"], target=c["target"]).detach()


@pytest.mark.benchmark(group="ig")
def test_bench_ig(compare, case):
    r = compare(
        {"ours": lambda: ours_ig(case), "captum": lambda: captum_ig(case)},
        [("captum", "ours")],
        rounds=5,
        device=case["device"],
    )
    torch.testing.assert_close(r["ours"].output, r["captum"].output, atol=1e-6, rtol=0)


@pytest.mark.benchmark(group="ism")
def test_bench_ism(benchmark, compare, case):
    c = case
    few = slice(0, 4)
    r = compare(
        {
            "batched": lambda: METHODS.get("ism")(c["model"], c["X"], c["target"], c["mask"]),
            "naive": lambda: ism_naive(c["model"], c["X"][few], c["target"][few], c["mask"][few]),
        },
        rounds=3,
        device=c["device"],
    )
    # the naive loop runs on 4 of the 64 sequences: compare per sequence
    for clock in ("wall", "cpu"):
        naive, batched = (
            getattr(r[s], f"{clock}_median") / n for s, n in (("naive", 4), ("batched", N))
        )
        benchmark.extra_info[f"naive/batched_{clock}_per_seq"] = naive / batched
    torch.testing.assert_close(r["batched"].output[few], r["naive"].output, atol=1e-5, rtol=0)


@pytest.mark.benchmark(group="deepshap")
def test_bench_deepshap(compare, case):
    r = compare(
        {"ours": lambda: ours_deepshap(case), "captum": lambda: captum_deepshap(case)},
        [("captum", "ours")],
        rounds=5,
        device=case["device"],
    )
    torch.testing.assert_close(r["ours"].output, r["captum"].output, atol=1e-5, rtol=1e-4)


# --------------------------------------------------------------------------- rescale vs floor


@pytest.fixture(scope="module")
def utr5() -> dict:
    from attrbench_tasks.utr5 import UTR_LEN, _build_cnn

    model = _build_cnn()
    path = _checkpoint("utr5", "cnn")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
    model.eval()
    X, mask = random_onehot(N, UTR_LEN, seed=3)
    refs = random_onehot(N_BACKGROUND, UTR_LEN, seed=4)[0]
    return {
        "model": model,
        "X": X,
        "mask": mask,
        "target": target_logits_argmax(model, X),
        "refs": refs.expand(N, -1, -1, -1),
    }


def _checkpoint(task: str, model: str):
    from pathlib import Path

    import attrbench_tasks

    return Path(attrbench_tasks.__file__).parent / "checkpoints" / task / f"{model}.pt"


def target_logits_argmax(model, X):
    with torch.no_grad():
        return model(X).argmax(1)


def rescale_floor(model, X, refs, target, batch_size: int = 512) -> torch.Tensor:
    """The passes DeepLIFT needs, in the chunks ``rescale_attributions`` uses, without hooks:
    a no-grad forward of the references (once when shared) and a forward/backward of the
    (input, reference) pairs; attributions ``grad * (x - ref)`` (not DeepLIFT's)."""
    B = refs.shape[1]
    step = max(1, batch_size // B)
    out = []
    for s in range(0, len(X), step):
        x, r, t = X[s : s + step], refs[s : s + step], target[s : s + step]
        shared = bool((r == r[:1]).all())
        target_logits(
            model,
            r[0] if shared else r.flatten(0, 1),
            t[:1].expand(B) if shared else t.repeat_interleave(B),
        )
        g = target_gradient(model, x.repeat_interleave(B, 0), t.repeat_interleave(B))
        out.append(g.view(len(x), B, *x.shape[1:]) * (x[:, None] - r))
    return torch.cat(out).mean(1)


@pytest.mark.benchmark(group="rescale-floor")
@pytest.mark.parametrize("name", ["deeplift", "deepshap"])
def test_bench_rescale_vs_floor(compare, utr5, name):
    c = utr5
    refs = torch.zeros_like(c["X"])[:, None] if name == "deeplift" else c["refs"]
    method = METHODS.get(name)
    opts = {"baseline": refs[:, 0]} if name == "deeplift" else {"baseline": refs}
    r = compare(
        {
            "method": lambda: method(c["model"], c["X"], c["target"], c["mask"], **opts),
            "floor": lambda: rescale_floor(c["model"], c["X"], refs, c["target"]),
        },
        [("method", "floor")],
        rounds=100 if name == "deeplift" else 15,
        warmup=2,
    )
    total = r["method"].output.sum((1, 2))
    with torch.no_grad():
        f = c["model"](c["X"]).gather(1, c["target"][:, None])[:, 0]
        f0 = torch.stack(
            [
                c["model"](refs[:, j]).gather(1, c["target"][:, None])[:, 0]
                for j in range(refs.shape[1])
            ]
        ).mean(0)
    torch.testing.assert_close(total, f - f0, atol=1e-4, rtol=1e-4)  # summation-to-delta


@pytest.mark.benchmark(group="ism-batch")
def test_bench_ism_batch(compare, utr5):
    c, ism = utr5, METHODS.get("ism")
    r = compare(
        {
            "by_positions": lambda: ism(c["model"], c["X"], c["target"], c["mask"]),
            "batch64": lambda: ism(c["model"], c["X"], c["target"], c["mask"], batch_size=64),
        },
        [("batch64", "by_positions")],
        rounds=9,
        warmup=1,
    )
    torch.testing.assert_close(r["by_positions"].output, r["batch64"].output, atol=1e-5, rtol=0)


# --------------------------------------------------------------------------- ism on a BiLSTM

PSL_L = int(os.environ.get("ATTRBENCH_BENCH_ISM_L", "1000"))  # protein length
NAIVE_POSITIONS = 8


@pytest.fixture(scope="module")
def bilstm() -> dict:
    from attrbench_tasks.psl.models import build_model

    model = build_model("bilstm_att")
    path = _checkpoint("psl", "bilstm_att")
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
    X, mask = random_onehot(1, PSL_L, seed=5, a=21)
    few = torch.zeros_like(mask)
    few[:, torch.linspace(0, PSL_L - 1, NAIVE_POSITIONS).long()] = True
    return {"model": model.eval(), "X": X, "mask": mask, "few": few, "target": torch.tensor([3])}


@pytest.mark.benchmark(group="ism-bilstm")
def test_bench_ism_bilstm(benchmark, compare, bilstm):
    c = bilstm
    old = legacy(c["model"])
    r = compare(
        {
            "now": lambda: ism_deltas(c["model"], c["X"], c["target"], c["mask"]),
            "before": lambda: ism_deltas(old, c["X"], c["target"], c["mask"], OLD_ISM_BATCH),
            "naive": lambda: ism_naive(c["model"], c["X"], c["target"], c["few"]),
        },
        [("before", "now")],
        rounds=3,
        warmup=0,
    )
    mutants = int(c["mask"].sum()) * 20
    for clock in ("wall", "cpu"):
        naive = getattr(r["naive"], f"{clock}_median") / (NAIVE_POSITIONS * 20)
        now = getattr(r["now"], f"{clock}_median") / mutants
        benchmark.extra_info[f"naive/now_{clock}_per_mutant"] = naive / now
        benchmark.extra_info[f"now_{clock}_s_per_protein"] = now * mutants
    torch.testing.assert_close(r["now"].output, r["before"].output, atol=1e-5, rtol=0)
    fast = center_alphabet(r["now"].output) * c["few"][:, None]
    torch.testing.assert_close(fast, r["naive"].output, atol=1e-5, rtol=0)
