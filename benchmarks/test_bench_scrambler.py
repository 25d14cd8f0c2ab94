"""Scrambler cost on the shipped models: training time per task, then explanation throughput vs ism and ig.

Run (one thread, both tasks, one run)::

    ATTRBENCH_BENCH_THREADS=1 pytest benchmarks/test_bench_scrambler.py --benchmark-only

Group ``fit``: one scrambler fit (inclusion, default options) per task, timed
once (a fit is minutes; ``pedantic`` with one round). Group ``explain-<task>``:
``scrambler_inclusion`` with the fitted state, ``ism`` and ``ig`` on the same
``N_EXPLAIN`` test sequences of the task's default model. Sequences per second
are ``N_EXPLAIN / mean``; the fitted state is shared by both groups.
"""

from __future__ import annotations

import pytest
import torch

from attrbench.core.plugin import METHODS, TASKS
from attrbench.running.training import load_model

N_EXPLAIN = {"utr5": 64, "psl": 4}
TASK_NAMES = ["utr5", "psl"]
_STATE: dict[str, dict] = {}


@pytest.fixture(scope="module", params=TASK_NAMES)
def case(request) -> dict:
    task = TASKS.get(request.param)
    train = task.data("train")
    test = task.data("test")
    n = N_EXPLAIN[task.name]
    model = load_model(task, task.default_model, "cpu", train_hash=train.hash)
    X, mask = test.X[:n], test.mask[:n]
    with torch.no_grad():
        target = model(X).argmax(1)
    return {
        "task": task,
        "train": train,
        "background": task.background(train),
        "model": model,
        "X": X,
        "mask": mask,
        "target": target,
    }


def _fitted(case: dict) -> dict:
    name = case["task"].name
    if name not in _STATE:
        method = METHODS.get("scrambler_inclusion")
        _STATE[name] = method.fit(
            case["model"],
            case["train"],
            background=case["background"],
            generator=torch.Generator().manual_seed(0),
            **method.defaults,
        )
    return _STATE[name]


def test_bench_scrambler_fit(benchmark, case):
    benchmark.group = "fit"
    benchmark.extra_info["task"] = case["task"].name
    _STATE.pop(case["task"].name, None)
    state = benchmark.pedantic(_fitted, args=(case,), rounds=1, iterations=1)
    assert torch.isfinite(torch.tensor(state["losses"])).all()


@pytest.mark.parametrize("name", ["scrambler_inclusion", "ism", "ig"])
def test_bench_scrambler_explain(benchmark, case, name):
    benchmark.group = f"explain-{case['task'].name}"
    method = METHODS.get(name)
    gen = torch.Generator().manual_seed(0)
    kwargs = {"background": case["background"], "generator": gen}
    if method.fit is not None:
        kwargs["state"] = _fitted(case)
    if method.reference is not None:
        kwargs["baseline"] = method.reference(case["X"], case["background"], gen, **method.defaults)
    X, target, mask = case["X"], case["target"], case["mask"]
    benchmark.extra_info["sequences"] = len(X)
    attr = benchmark.pedantic(
        method, args=(case["model"], X, target, mask), kwargs=kwargs, rounds=3, iterations=1
    )
    assert attr.shape == X.shape
