"""The planner (attrbench.running.plan.make_plan): a pure function, tested without a store or files."""

from __future__ import annotations

from pathlib import Path

import torch

from attrbench.core.contract import Alphabet
from attrbench.core.data import Dataset, GroundTruth, Motif
from attrbench.core.plugin import Method, Metric, ModelSpec, Task
from attrbench.running.plan import RunConfig, make_plan, select_index
from attrbench.testing import TinyAttention, TinyCNN, random_onehot

N_TEST = 10
#: Test sequences that carry ground truth.
CARRYING = [1, 4, 6, 9]


def _method(name: str, **fields) -> Method:
    return Method(name, lambda model, X, target, mask, **o: X, **fields)


def _metric(name: str, **fields) -> Metric:
    return Metric(name, lambda ex, **o: ex.X[:, 0, 0], **fields)


def _test_split() -> Dataset:
    X, mask = random_onehot(n=N_TEST, pad=2, seed=5)
    gt = GroundTruth([[Motif("m", 2, 4)] if i in CARRYING else [] for i in range(N_TEST)])
    return Dataset(
        X=X,
        mask=mask,
        y=torch.zeros(N_TEST, dtype=torch.long),
        ids=[f"s{i}" for i in range(N_TEST)],
        ground_truth=gt,
    )


def _task(**fields) -> Task:
    spec = ModelSpec("cnn", TinyCNN)
    return Task(
        name="toy",
        version="1",
        alphabet=Alphabet("dna", "ACGT"),
        classes=("a", "b", "c"),
        data=lambda split: _test_split(),
        models={"cnn": spec},
        default_model="cnn",
        checkpoint_dir=Path("."),
        ground_truth=lambda ds: ds.ground_truth,
        default_n=6,
        **fields,
    )


IG = _method("ig", complete=True, defaults={"n_steps": 50, "baseline": "zeros"})
ATT = _method("att", needs_attention=True)
RECALL = _metric("recall", needs_ground_truth=True, defaults={"k": 5})
COMPLETE = _metric("completeness", only_complete=True)
MODELS = {"cnn": TinyCNN(), "attn": TinyAttention()}


def test_cells_options_sets_and_applicability():
    task = _task(
        method_options={"ig": {"baseline": "background"}},
        metric_options={"recall": {"k": 3}},
        ground_truth_n=3,
        method_n={"ig": 2},
    )
    config = RunConfig(task="toy", seed=7, method_options={"ig": {"n_steps": 4}})
    cells = make_plan(task, _test_split(), MODELS, [IG, ATT], [RECALL, COMPLETE], config)
    assert [(c.model, c.method.name, c.set_name) for c in cells] == [
        ("cnn", "ig", "sample"),
        ("cnn", "ig", "ground_truth"),
        ("cnn", "att", "sample"),
        ("cnn", "att", "ground_truth"),
        ("attn", "ig", "sample"),
        ("attn", "ig", "ground_truth"),
        ("attn", "att", "sample"),
        ("attn", "att", "ground_truth"),
    ]
    ig_sample, ig_gt, att_sample = cells[0], cells[1], cells[2]
    assert ig_sample.method_options == {"n_steps": 4, "baseline": "background"}
    assert ig_gt.metric_options == {"recall": {"k": 3}} and ig_sample.metric_options == {
        "completeness": {}
    }
    # sample: default_n = 6 drawn by the seed, then ig's cap of 2 drawn from those
    sample = select_index(N_TEST, 6, 7)
    assert torch.equal(ig_sample.index, sample[select_index(6, 2, 7)])
    assert torch.equal(att_sample.index, sample)
    # ground truth: 3 of the 4 carrying sequences, then capped to 2 for ig
    carrying = torch.tensor(CARRYING)[select_index(len(CARRYING), 3, 7)]
    assert torch.equal(cells[3].index, carrying)
    assert torch.equal(ig_gt.index, carrying[select_index(3, 2, 7)])
    assert [c.cost for c in cells] == [True, False] * 4
    assert ig_sample.metrics == ("completeness",) and ig_gt.metrics == ("recall",)
    assert att_sample.metrics == () and "completeness" in att_sample.not_applicable
    assert att_sample.refused is not None and "attention" in att_sample.refused
    assert cells[6].refused is None and ig_sample.refused is None


def test_an_explicit_n_applies_to_every_method_and_no_ground_truth_set_without_its_metrics():
    task = _task(ground_truth_n=3, method_n={"ig": 2})
    cells = make_plan(
        task,
        _test_split(),
        {"cnn": MODELS["cnn"]},
        [IG],
        [COMPLETE],
        RunConfig(task="toy", n=-1, seed=0),
    )
    assert [(c.set_name, len(c.index), c.cost) for c in cells] == [("sample", N_TEST, True)]
    assert cells[0].method_options == IG.defaults


def test_the_plan_is_a_function_of_its_arguments():
    task = _task(ground_truth_n=3)
    args = (
        task,
        _test_split(),
        MODELS,
        [IG, ATT],
        [RECALL, COMPLETE],
        RunConfig(task="toy", seed=3),
    )
    first, second = make_plan(*args), make_plan(*args)
    assert [(c.model, c.method.name, c.set_name, c.index.tolist()) for c in first] == [
        (c.model, c.method.name, c.set_name, c.index.tolist()) for c in second
    ]
    other = make_plan(*args[:-1], RunConfig(task="toy", seed=4))
    assert [c.index.tolist() for c in other] != [c.index.tolist() for c in first]
