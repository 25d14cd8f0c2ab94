"""Contract tests, run once per registered method and metric (STYLE 11).

Every plugin registered (built-in, entry point) is covered the day it exists:
shape, dtype, finiteness, padding ignored, batch independence, determinism
under a seed, inputs not modified.
"""

from __future__ import annotations

import pytest
import torch

from attrbench.core.contract import ContractError, validate_inputs
from attrbench.core.data import Background, Dataset, GroundTruth, Motif
from attrbench.core.plugin import METHODS, METRICS, Explanation, Method
from attrbench.running.calling import call_method, resolve_method_options
from attrbench.testing import TinyAttention, TinyCNN, random_onehot

PAD = 4
BACKGROUND = Background(torch.full((4,), 0.25))


#: A fitted method is fitted on the toy sequences with a short budget: the contract, not the fit's quality.
SHORT_FIT = {"steps": 3, "steps_long": 3}
_FITTED: dict[str, object] = {}


def _state(method: Method, model, X, mask):
    """The method's fitted state on the toy sequences, as the runner passes it (once per method)."""
    if method.name not in _FITTED:
        train = Dataset(
            X=X,
            mask=mask,
            y=torch.zeros(len(X), dtype=torch.long),
            ids=[str(i) for i in range(len(X))],
        )
        short = {k: v for k, v in SHORT_FIT.items() if k in method.defaults}
        _FITTED[method.name] = method.fit(
            model,
            train,
            background=BACKGROUND,
            generator=torch.Generator().manual_seed(0),
            **{**method.defaults, **short},
        )
    return _FITTED[method.name]


def _call(method: Method, model, X, target, mask, seed: int = 0) -> torch.Tensor:
    """The method called as the runner calls it (:func:`attrbench.running.calling.call_method`)."""
    state = _state(method, model, X, mask) if method.fit is not None else None
    return call_method(
        model,
        method,
        X,
        target,
        mask,
        options=resolve_method_options(None, method),
        background=Background(BACKGROUND.probs.to(X.device)),
        generator=torch.Generator().manual_seed(seed),
        state=state,
    ).attributions


@pytest.fixture()
def toy(device):
    model = TinyCNN().eval().to(device)
    X, mask = random_onehot(n=5, pad=PAD, seed=3)
    target = torch.tensor([0, 1, 2, 0, 1])
    return model, X.to(device), mask.to(device), target.to(device)


def _model_for(method: Method, device: torch.device) -> torch.nn.Module:
    """The toy model a method is contract-tested on: one with attention if it needs it."""
    model = TinyAttention() if method.needs_attention else TinyCNN()
    return model.eval().to(device)


@pytest.mark.parametrize("name", METHODS.names())
def test_method_contract(name, toy, device):
    _, X, mask, target = toy
    method = METHODS.get(name)
    model = _model_for(method, device)
    if method.why_not(model):
        pytest.skip(method.why_not(model))
    X0, mask0 = X.clone(), mask.clone()
    attr = _call(method, model, X, target, mask)
    assert attr.shape == X.shape and attr.dtype == torch.float32
    assert torch.isfinite(attr).all()
    assert (attr[:, :, -PAD:] == 0).all(), "padding columns must get zero attribution"
    assert attr[:, :, :-PAD].abs().sum() > 0, "a method must say something about real positions"
    assert torch.equal(X, X0) and torch.equal(mask, mask0), "inputs must not be modified"
    again = _call(method, model, X, target, mask)
    torch.testing.assert_close(again, attr, rtol=0, atol=0, msg="same seed, same result")
    if method.deterministic:
        part = _call(method, model, X[1:3], target[1:3], mask[1:3])
        torch.testing.assert_close(part, attr[1:3], rtol=1e-5, atol=1e-6)


def _saliency(model, X, target, mask) -> torch.Tensor:
    X = X.clone().requires_grad_(True)
    out = model(X).gather(1, target[:, None]).sum()
    (grad,) = torch.autograd.grad(out, X)
    return grad * mask[:, None, :]


def _explanation(toy, attributions=None) -> Explanation:
    model, X, mask, target = toy
    background = Background(BACKGROUND.probs.to(X.device))
    method = Method("toy_saliency", _saliency, complete=True)
    attr = _saliency(model, X, target, mask) if attributions is None else attributions
    gt = GroundTruth([[Motif("start", 2, 5), Motif("stop", 11, 14)]] * (len(X) - 1) + [[]])
    return Explanation(
        X=X,
        mask=mask,
        y=target,
        target=target,
        attributions=attr,
        model=model,
        explain=lambda x, t, m: _saliency(model, x, t, m),
        method=method,
        background=background,
        generator=torch.Generator().manual_seed(0),
        dataset=None,
        ground_truth=gt,
        baseline=torch.zeros_like(X),
        device=X.device,
    )


@pytest.mark.parametrize("name", METRICS.names())
def test_metric_contract(name, toy, device):
    metric = METRICS.get(name)
    if metric.needs_resources:
        # a task resource fits that task's sequences only: such a metric's contract test lives
        # with its task (hit_rate: tests/test_psl_hit_rate.py, on a tiny knowledge base)
        pytest.skip(f"{name} needs {metric.needs_resources}: contract-tested with its task")
    if metric.set_level:  # one score per set: n/a on five toy sequences (too few seqlets)
        pytest.skip(f"{name} is set-level: tested in tests/test_motif_discovery.py")
    model, X, mask, target = toy
    X0 = X.clone()
    ex = _explanation(toy)
    scores = metric(ex)
    assert scores.shape == (len(X), max(1, len(metric.columns)))
    assert (torch.isfinite(scores) | torch.isnan(scores)).all()
    assert torch.isfinite(scores[:-1]).any(), (
        "a metric must score sequences that have what it needs"
    )
    assert torch.equal(X, X0)
    again = metric(_explanation(toy))
    torch.testing.assert_close(again, scores, equal_nan=True, rtol=0, atol=0)
    noisy = ex.attributions.clone()
    noisy[:, :, -PAD:] = 1e6
    padded = metric(_explanation(toy, noisy))
    torch.testing.assert_close(padded, scores, equal_nan=True, msg="padding must be ignored")


def test_validate_inputs_rejects_broken_tensors():
    X, mask = random_onehot(n=2, pad=2)
    validate_inputs(X, mask, torch.tensor([0, 1]))
    with pytest.raises(ContractError, match="float32"):
        validate_inputs(X.double())
    with pytest.raises(ContractError, match="one-hot"):
        validate_inputs(X * 2)
    with pytest.raises(ContractError, match="padding"):
        validate_inputs(X, torch.ones_like(mask))
    with pytest.raises(ContractError, match="int64"):
        validate_inputs(X, mask, torch.tensor([0.0, 1.0]))
