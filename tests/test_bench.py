"""``attrbench bench``: passes counted with hooks, floors, cost records."""

from __future__ import annotations

import pytest
import torch

from attrbench.core.data import Background
from attrbench.core.plugin import METHODS
from attrbench.reporting.explain import Setup, attribute
from attrbench.running.bench import BENCH_METRIC, count_passes, floor_of
from attrbench.testing import Linear


def _setup(device: torch.device) -> Setup:
    model = Linear().to(device).eval()
    return Setup(None, model, None, Background(torch.full((4,), 0.25)), device)


def _X(n: int = 5) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.eye(4)[torch.randint(0, 4, (n, 24), generator=g)].transpose(1, 2).contiguous()


@pytest.mark.parametrize(
    "name, options, expected",
    [
        ("saliency", {}, (1.0, 1.0)),
        ("ig", {"n_steps": 8}, (8.0, 8.0)),
        ("ism", {}, (1.0 + 24 * 3, 0.0)),
        ("random", {}, (0.0, 0.0)),
    ],
)
def test_counted_passes_match_the_floor(device, name, options, expected):
    setup, X = _setup(device), _X()
    method = METHODS.get(name)
    target = torch.zeros(len(X), dtype=torch.long)
    with count_passes(setup.model) as passes:
        attribute(setup, method, X, target, X.sum(1) > 0, torch.Generator().manual_seed(0), options)
    assert (passes.forward_rows / len(X), passes.backward_rows / len(X)) == expected
    assert floor_of(method, options, X) == expected


def test_count_passes_removes_its_hooks():
    model = Linear()
    with count_passes(model) as passes:
        model(_X(3))
    model(_X(3))
    assert passes.forward_rows == 3 and passes.backward_rows == 0
    assert not model._forward_hooks


def test_bench_cli_writes_cost_records(tmp_path):
    from attrbench.cli import main
    from attrbench.running.results import ResultStore

    code = main(
        [
            "bench",
            "--task",
            "utr5",
            "--method",
            "saliency,attention",
            "--n",
            "8",
            "--batch-size",
            "4",
            "--threads",
            "1",
            "--results",
            str(tmp_path),
        ]
    )
    assert code == 0
    recs = {
        r.key.method: r for r in ResultStore(tmp_path).records() if r.key.metric == BENCH_METRIC
    }
    assert recs["attention"].status == "not_applicable" and "attention" in recs["attention"].reason
    sal = recs["saliency"]
    assert (
        sal.columns["forward_per_seq"]["mean"] == 1.0 and sal.columns["floor_ratio"]["mean"] == 1.0
    )
    assert sal.extra["forward_calls"] == 2 and sal.value > 0
    assert len(sal.extra["examples"]["ids"]) == 3


@pytest.mark.parametrize("name", ["bilstm_att", "mlp_trained"])
def test_ism_passes_through_mutant_logits_are_counted_once(name):
    """A psl model scores ISM's mutants in ``mutant_logits``: reusing recurrent states
    (BiLSTM, no ``forward`` call) or through ``forward`` (MLP); each mutant is one row."""
    from attrbench_tasks.psl.models import build_model

    model = build_model(name).eval()
    X = torch.zeros(2, 21, 12)
    X[0, torch.arange(12) % 20, torch.arange(12)] = 1
    X[1, torch.arange(7) % 20, torch.arange(7)] = 1
    mask = X.sum(1) > 0
    setup = Setup(None, model, None, Background(torch.full((21,), 1 / 21)), torch.device("cpu"))
    with count_passes(model) as passes:
        attribute(setup, METHODS.get("ism"), X, torch.tensor([0, 1]), mask, torch.Generator(), {})
    assert passes.forward_rows == 2 + (12 + 7) * 20 and passes.backward_rows == 0
