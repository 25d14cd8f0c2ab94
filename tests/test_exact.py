"""The exact tasks: exact Shapley values against brute force, IG and ISM on the additive model,
every method on every built model, the metric on known answers."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from attrbench.core.data import Background
from attrbench.core.plugin import METHODS, METRICS, TASKS, NotApplicable
from attrbench.running.training import load_model
from attrbench_tasks import exact
from attrbench_tasks.exact_error import correlations

P4 = torch.full((4,), 0.25)


def _onehot(codes: list[int], A: int = 4) -> torch.Tensor:
    return torch.nn.functional.one_hot(torch.tensor(codes), A).float().T[None]


def _brute_force(score, x: torch.Tensor, p: torch.Tensor) -> np.ndarray:
    """Interventional Shapley values of ``score`` at one sequence x (1, A, L) by full enumeration.

    ``v(S) = sum_z prod p(z) score(x_S, z_rest)`` over every letter combination of the
    absent positions, and ``phi_i = sum_{S not i} |S|! (L - |S| - 1)! / L! (v(S + i) - v(S))``.
    """
    A, L = x.shape[1], x.shape[2]
    code = x[0].argmax(0).tolist()
    value = {}
    for S in itertools.product((0, 1), repeat=L):
        absent = [i for i in range(L) if not S[i]]
        total = 0.0
        for z in itertools.product(range(A), repeat=len(absent)):
            seq = list(code)
            prob = 1.0
            for i, a in zip(absent, z, strict=True):
                seq[i], prob = a, prob * float(p[a])
            if prob:
                total += prob * float(score(_onehot(seq, A))[0])
        value[S] = total
    phi = np.zeros(L)
    for S, v in value.items():
        for i in range(L):
            if not S[i]:
                k = sum(S)
                w = math.factorial(k) * math.factorial(L - k - 1) / math.factorial(L)
                phi[i] += w * (value[S[:i] + (1,) + S[i + 1 :]] - v)
    return phi


def test_additive_exact_equals_brute_force():
    w = torch.randn(4, 6, generator=torch.Generator().manual_seed(1))
    model = exact.Additive(w, bias=0.3)
    x = _onehot([0, 3, 2, 2, 1, 0])
    with torch.no_grad():
        expected = _brute_force(model.score, x, P4)
    np.testing.assert_allclose(model.exact(x, P4)[0].numpy(), expected, atol=1e-5)


@pytest.mark.parametrize("codes", [[0, 1, 2, 3, 0, 1], [2, 2, 0, 1, 3, 3]])
def test_scan_sum_exact_equals_brute_force(codes):
    W = torch.randn(4, 3, generator=torch.Generator().manual_seed(2))
    model = exact.ScanSum(W, tau=0.5)
    x = _onehot(codes)
    p = torch.tensor([0.1, 0.2, 0.3, 0.4])
    with torch.no_grad():
        expected = _brute_force(model.score, x, p)
    assert np.abs(expected).max() > 0.05  # the test can fail: the values are not all zero
    np.testing.assert_allclose(model.exact(x, p)[0].numpy(), expected, atol=1e-5)


def test_scan_max_sampling_within_its_bound():
    W = torch.randn(4, 3, generator=torch.Generator().manual_seed(3))
    model = exact.ScanMax(W, length=6)
    x = _onehot([1, 0, 3, 2, 2, 0])
    with torch.no_grad():
        expected = _brute_force(model.score, x, P4)
        got = exact.sampled_shapley(model.score, x, P4, 4000, torch.Generator().manual_seed(0))
    D = float((W.max(0).values - W.min(0).values).max())
    bound = D * math.sqrt(2 * math.log(2 / 0.05) / 4000)
    assert np.abs(got[0].numpy() - expected).max() < bound


def _permutation_shapley(head, p: torch.Tensor) -> torch.Tensor:
    """Shapley values over K players by the permutation definition (K! orderings)."""
    K = p.shape[1]
    phi = torch.zeros_like(p)
    orders = list(itertools.permutations(range(K)))
    for order in orders:
        mask = torch.zeros(K)
        prev = head(p * mask)
        for m in order:
            mask[m] = 1.0
            now = head(p * mask)
            phi[:, m] += now - prev
            prev = now
    return phi / len(orders)


@pytest.mark.parametrize("name", ["logic_and", "logic_or", "logic_xor", "logic_and3"])
def test_logic_shapley_equals_permutation_definition(name):
    model = exact.TASK.models[name].build()
    X = exact.TASK.data("test").X[:20]
    with torch.no_grad():
        p = model.presences(X)
        expected = _permutation_shapley(model.head, p)
        got = exact.logic_shapley(model.head, p)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    assert got.abs().max() > 0.5
    spread = model.exact(X, P4)
    torch.testing.assert_close(spread.sum(1), got.sum(1), atol=1e-4, rtol=0)


def test_logic_xor_is_xor():
    model = exact.TASK.models["logic_xor"].build()
    h = model.head(torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    assert (h[[1, 2]] > 1.9).all() and (h[[0, 3]] < -1.9).all()


@pytest.mark.parametrize("task", ["exact", "exact_protein"])
def test_ig_from_the_background_recovers_the_additive_values(task):
    t = TASKS.get(task)
    model = load_model(t, "additive")
    ds = t.data("test")
    X, mask = ds.X[:16], ds.mask[:16]
    target = model(X).argmax(1)
    bg = t.background(ds)
    probs = bg.probs_for(X.shape[2])
    attr = METHODS.get("ig")(model, X, target, mask, background=bg, baseline="background")
    factor = exact.class_factor(target)[:, None, None]
    torch.testing.assert_close(attr, factor * model.w.detach() * (X - probs), atol=1e-5, rtol=0)
    phi = exact.exact_shapley(model, X, target, probs[:, 0])
    torch.testing.assert_close(attr.sum(1), phi, atol=1e-5, rtol=0)


@pytest.mark.parametrize("task", ["exact", "exact_protein"])
def test_ism_equals_the_additive_terms(task):
    t = TASKS.get(task)
    model = load_model(t, "additive")
    ds = t.data("test")
    X, mask = ds.X[:16], ds.mask[:16]
    target = model(X).argmax(1)
    method = METHODS.get("ism")
    scores = method.position_scores(method(model, X, target, mask), X)
    probs = t.background(ds).probs_for(X.shape[2])[:, 0]
    torch.testing.assert_close(
        scores, exact.exact_shapley(model, X, target, probs), atol=1e-5, rtol=0
    )


_CELLS = [(t, m) for t in ("exact", "exact_protein") for m in TASKS.get(t).models]


@pytest.mark.parametrize(("task", "model_name"), _CELLS)
def test_every_method_runs_on_every_exact_model(task, model_name):
    t = TASKS.get(task)
    model = load_model(t, model_name)
    ds = t.data("test")
    X, mask = ds.X[:3], ds.mask[:3]
    target = model(X).argmax(1)
    bg: Background = t.background(ds)
    ran = []
    for method in METHODS:
        if method.why_not(model):
            continue  # attention / embedding methods: n/a with a reason
        gen = torch.Generator().manual_seed(0)
        opts = {**method.defaults, **t.method_options.get(method.name, {})}
        kwargs = {**opts, "background": bg, "generator": gen}
        try:
            if method.fit is not None:
                short = {k: 2 for k in ("steps", "finetune_steps") if k in opts}
                kwargs["state"] = method.fit(
                    model, ds.subset(range(8)), background=bg, generator=gen, **{**opts, **short}
                )
            if method.reference is not None:
                kwargs["baseline"] = method.reference(X, bg, gen, **opts)
            attr = method(model, X, target, mask, **kwargs)
        except NotApplicable as exc:  # declared refusal (e.g. the scramblers' probe)
            assert str(exc)
            continue
        assert attr.shape == X.shape and torch.isfinite(attr).all(), method.name
        ran.append(method.name)
    assert {"ig", "ism", "deeplift", "deepshap", "saliency", "grad_x_input"} <= set(ran)


def test_correlations_known_answers():
    exact_values = np.array([1.0, 2.0, 3.0, 4.0])
    s, r, l2 = correlations(2 * exact_values, exact_values)
    assert s == pytest.approx(1.0) and r == pytest.approx(1.0)
    assert l2 == pytest.approx(1.0)  # ||2 phi - phi|| / ||phi||
    s, r, l2 = correlations(np.array([4.0, 3.0, 1.0, 2.0]), exact_values)
    assert s == pytest.approx(-0.8) and l2 == pytest.approx(math.sqrt(18 / 30))
    assert all(math.isnan(v) for v in correlations(exact_values, np.zeros(4)))


def test_metric_is_declared_and_applies_only_where_exact_values_exist():
    metric = METRICS.get("exact_error")
    assert metric.columns[0] == "spearman" and metric.column_directions == {
        "l2": False,
        "summed_l2": False,
    }
    ig = METHODS.get("ig")
    assert metric.why_not(TASKS.get("exact"), ig, True) is None
    assert "exact_attributions" in metric.why_not(TASKS.get("utr5"), ig, True)


def test_built_models_need_no_checkpoint_and_are_seeded():
    t = TASKS.get("exact")
    a, b = load_model(t, "scan_max"), load_model(t, "scan_max")
    assert a.checkpoint_hash == b.checkpoint_hash and not t.models["scan_max"].trained
    assert load_model(t, "additive").checkpoint_hash != a.checkpoint_hash


def test_site_pages_carry_the_model_formula():
    from attrbench.site.build import model_description

    assert "w[x_l, l]" in model_description("exact", "additive")
    assert "XOR" in model_description("exact", "logic_xor")
    assert model_description("no_such_task", "additive") == ""
