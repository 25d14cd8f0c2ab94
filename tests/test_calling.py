"""One call path (attrbench.running.calling): options resolved in one place, the method called in one way.

A scored record, a cost record (``attrbench bench``) and an explain figure of the
same (task, model, method) run the method with the same options: the task's
``method_options`` included.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

import attrbench.reporting.explain
from attrbench.core.data import Background
from attrbench.core.plugin import METHODS, TASKS, Method, OptionError
from attrbench.running.calling import call_method, resolve_method_options
from attrbench.testing import Linear, random_onehot

#: What the test task sets for ig, between ig's defaults and the user's options.
TASK_IG = {"baseline": "background", "n_steps": 4}


def _toy_method(**defaults) -> Method:
    def toy(model, X, target, mask, c=None, d=None, **o):
        return X

    return Method("toy", toy, defaults=defaults)


def test_options_are_layered_method_then_task_then_user():
    task = dataclasses.replace(TASKS.get("utr5"), method_options={"toy": {"b": 20, "c": 30}})
    method = _toy_method(a=1, b=2)
    assert resolve_method_options(task, method) == {"a": 1, "b": 20, "c": 30}
    assert resolve_method_options(task, method, {"c": 300, "d": 4}) == {
        "a": 1,
        "b": 20,
        "c": 300,
        "d": 4,
    }
    assert resolve_method_options(None, method, {"a": 10}) == {"a": 10, "b": 2}
    assert method.defaults == {"a": 1, "b": 2}, "resolving must not change the method's defaults"


def test_resolving_refuses_an_option_the_method_does_not_take():
    with pytest.raises(OptionError, match=r"toy\.zz"):
        resolve_method_options(None, _toy_method(a=1), {"zz": 1})


def test_call_method_draws_the_reference_and_returns_it():
    model = Linear().eval()
    X, mask = random_onehot(n=3, pad=2, seed=1)
    target = torch.tensor([0, 1, 2])
    ig = METHODS.get("ig")
    options = resolve_method_options(None, ig, {"n_steps": 16})
    out = call_method(
        model,
        ig,
        X,
        target,
        mask,
        options=options,
        background=Background(torch.full((4,), 0.25)),
        generator=torch.Generator().manual_seed(0),
    )
    assert torch.equal(out.baseline, torch.zeros_like(X))
    # Linear model: IG from the zero baseline is w * x exactly (padding columns are zero in X)
    expected = model.weight[target] * X
    torch.testing.assert_close(out.attributions, expected, rtol=1e-5, atol=1e-5)


@pytest.fixture()
def options_task(monkeypatch):
    """utr5 with task options for ig, for one test (its checkpoints name the task)."""
    task = TASKS.get("utr5")
    monkeypatch.setattr(task, "method_options", {**task.method_options, "ig": dict(TASK_IG)})
    return task


def test_bench_explain_and_scored_records_carry_the_same_options(
    options_task, tmp_path, monkeypatch
):
    from attrbench.reporting.explain import explain, prepare, task_sequence
    from attrbench.running.bench import run_bench
    from attrbench.running.plan import COST
    from attrbench.running.results import ResultStore
    from attrbench.running.runner import RunConfig, run

    expected = {**METHODS.get("ig").defaults, **TASK_IG}
    store = ResultStore(tmp_path / "results")
    config = RunConfig(
        task=options_task.name,
        methods=["ig"],
        metrics=["completeness"],
        n=4,
        batch_size=4,
        progress=False,
        device="cpu",
    )
    scored = [r for r in run(config, store) if r.key.method == "ig"]
    assert {r.key.metric for r in scored} == {"completeness", COST}
    assert all(r.key.method_options == expected for r in scored)

    (bench,) = run_bench(options_task.name, "default", ["ig"], n=4, batch_size=4, store=store)
    assert bench.status == "ok" and bench.key.method_options == expected

    seen = []

    def spy(*args, **kwargs):
        seen.append(dict(kwargs["options"]))
        return call_method(*args, **kwargs)

    monkeypatch.setattr(attrbench.reporting.explain, "call_method", spy)
    setup = prepare(options_task.name, "default", "cpu")
    ds = task_sequence(setup.task, setup.task.data("test").ids[0])
    explain(setup, ds, ["ig"], tmp_path / "ig.png")
    assert seen == [expected]
