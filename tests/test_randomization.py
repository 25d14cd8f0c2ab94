"""The randomization metric: known answers for a model-blind method, random scores, saliency."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from attrbench.core.data import Background
from attrbench.core.plugin import METHODS, METRICS, Explanation, Method
from attrbench.metrics.randomization import (
    COLUMNS,
    copy_generator,
    layers,
    randomised_copy,
    randomization,
    reinitialise,
    spearman,
    verdict,
)
from attrbench.reporting.stats import bootstrap_mean
from attrbench.testing import Linear, TinyCNN, random_onehot

BACKGROUND = Background(torch.full((4,), 0.25))


def _saliency(model, X, target, mask):
    X = X.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(X).gather(1, target[:, None]).sum(), X)
    return grad * mask[:, None, :]


def _blind(model, X, target, mask):
    """Ignores the model: the input weighted by its position."""
    return X * torch.arange(1, X.shape[2] + 1, dtype=X.dtype)


def _explanation(model, method: Method, n: int = 8, pad: int = 3, seed: int = 0) -> Explanation:
    X, mask = random_onehot(n=n, pad=pad, seed=seed)
    target = torch.arange(n) % 3
    gen = torch.Generator().manual_seed(seed)
    attr = method(model, X, target, mask, generator=gen, background=BACKGROUND)
    return Explanation(
        X=X,
        mask=mask,
        y=target,
        target=target,
        attributions=attr,
        model=model,
        explain=lambda x, t, m: method(model, x, t, m, generator=gen),
        method=method,
        background=BACKGROUND,
        generator=torch.Generator().manual_seed(seed + 1),
        dataset=None,
    )


def test_registered_as_a_check_with_its_cascade_columns():
    metric = METRICS.get("randomization")
    assert metric.higher_is_better is True  # drop: the map must change
    assert (
        metric.columns
        == ("drop", "cascade_auc", "same_model", "top_1", "top_25%", "top_50%", "top_75%", "full")
        == COLUMNS
    )
    assert metric.defaults["draws"] >= 3


def _cell_verdict(scores: torch.Tensor) -> str:
    return verdict(bootstrap_mean(scores[:, 0].numpy(), seed=0).low)


@pytest.mark.parametrize("absolute", [True, False])
def test_a_method_that_ignores_the_model_fails(absolute):
    """The input alone (weighted by position): every copy gives the same map; drop is exactly 0."""
    ex = _explanation(TinyCNN().eval(), Method("blind", _blind))
    scores = randomization(ex, absolute=absolute)
    assert scores.shape == (8, len(COLUMNS))
    expected = torch.ones_like(scores)
    expected[:, 0] = 0.0
    torch.testing.assert_close(scores, expected, rtol=0, atol=1e-12)
    assert _cell_verdict(scores) == "FAIL"


def test_a_sign_flipped_map_is_not_a_changed_map():
    """A map whose sign flips on every randomised copy: absolute variant unchanged (drop 0)."""
    base = TinyCNN().eval()

    def flipped(model, X, target, mask):
        return _saliency(base, X, target, mask) * (1.0 if model is base else -1.0)

    ex = _explanation(base, Method("flipped", flipped), n=4, pad=0)
    scores = randomization(ex)
    torch.testing.assert_close(
        scores[:, 0], torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-12
    )
    torch.testing.assert_close(
        randomization(ex, absolute=False)[:, 1],
        -torch.ones(4, dtype=torch.float64),
        rtol=0,
        atol=1e-12,
    )


def test_the_random_control_is_compared_with_its_own_redraw_and_fails():
    ex = _explanation(TinyCNN().eval(), METHODS.get("random"), n=300, pad=0)
    scores = randomization(ex, cascade=False)
    # 300 sequences of 24 positions: a mean of independent Spearman correlations has
    # standard error 1/sqrt(23 * 300) = 0.012; same_model and full are both about 0
    assert abs(float(scores[:, 2].mean())) < 0.04 and abs(float(scores[:, 7].mean())) < 0.04
    assert float(scores[:, 7].std()) > 0.05  # one value per sequence, not a constant
    assert _cell_verdict(scores) == "FAIL"


def test_saliency_on_a_toy_cnn_passes():
    ex = _explanation(TinyCNN().eval(), Method("saliency", _saliency), n=40)
    scores = randomization(ex)
    assert bool((scores[:, 2] == 1).all())  # deterministic: its re-run on the same model is itself
    assert float(scores[:, 7].mean()) < 0.5
    assert _cell_verdict(scores) == "PASS"


def test_methods_with_equal_maps_get_equal_scores_from_shared_copies():
    """saliency and grad x input have the same position scores on one-hot input; the copies do not
    depend on the method or on the cell's generator, so their scores are equal."""
    model = TinyCNN().eval()
    a = _explanation(model, Method("saliency", _saliency), n=10, seed=0)
    gxi = Method("grad_x_input", lambda m, X, t, k: _saliency(m, X, t, k) * X)
    b = _explanation(model, gxi, n=10, seed=0)
    b.generator.manual_seed(12345)
    torch.testing.assert_close(randomization(a), randomization(b), rtol=0, atol=1e-12)


@pytest.mark.parametrize("absolute", [True, False])
def test_linear_saliency_matches_scipy_on_the_shared_copies(absolute):
    model = Linear().eval()
    ex = _explanation(model, Method("saliency", _saliency), n=5, pad=2)
    got = randomization(ex, absolute=absolute, cascade=False)[:, 7].numpy()
    fold = np.abs if absolute else (lambda v: v)
    expected = np.zeros(5)
    for draw in range(3):
        twin = Linear().eval()
        reinitialise(twin, copy_generator(ex, 0, draw, 1))
        again = _saliency(twin, ex.X, ex.target, ex.mask)
        for i in range(5):
            real = ex.mask[i].numpy()
            a = (ex.attributions[i] * ex.X[i]).sum(0).detach().numpy()[real]
            b = (again[i] * ex.X[i]).sum(0).detach().numpy()[real]
            expected[i] += spearmanr(fold(a), fold(b)).statistic / 3
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_cascade_reinitialises_from_the_top_layer_down():
    model = TinyCNN().eval()
    assert layers(model) == ["conv1", "conv2", "head"]
    twin = randomised_copy(model, 1, torch.Generator().manual_seed(0))
    assert torch.equal(twin.conv1.weight, model.conv1.weight)
    assert torch.equal(twin.conv2.weight, model.conv2.weight)
    assert not torch.equal(twin.head.weight, model.head.weight)
    bound = 1 / np.sqrt(model.head.weight.shape[1])
    assert float(twin.head.weight.detach().abs().max()) <= bound
    same = randomised_copy(model, 1, torch.Generator().manual_seed(0))
    assert torch.equal(same.head.weight, twin.head.weight)


def test_spearman_averages_ties_and_ignores_padding():
    a = torch.tensor([[1.0, 2.0, 2.0, 3.0, 99.0]])
    b = torch.tensor([[1.0, 3.0, 2.0, 4.0, -99.0]])
    mask = torch.tensor([[True, True, True, True, False]])
    expected = spearmanr([1, 2, 2, 3], [1, 3, 2, 4]).statistic
    assert float(spearman(a, b, mask)[0]) == pytest.approx(expected, abs=1e-12)


def test_without_the_cascade_only_the_full_column_is_computed():
    ex = _explanation(TinyCNN().eval(), Method("saliency", _saliency), n=6)
    full = randomization(ex)[:, 7]
    only = randomization(ex, cascade=False)
    torch.testing.assert_close(only[:, 7], full, rtol=0, atol=0)
    torch.testing.assert_close(only[:, 1], full, rtol=0, atol=0)  # the area is the one step
    assert bool(torch.isnan(only[:, 3:7]).all())


def test_metric_loads_without_scipy():
    """``pip install -e .`` has no scipy: the metric must not import it."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['scipy'] = None; "
        "import attrbench.metrics.randomization, attrbench_tasks.common.baselines; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_average_ranks_equal_scipy_rankdata():
    import numpy as np
    from scipy.stats import rankdata

    from attrbench.reporting.stats import average_ranks

    g = np.random.default_rng(0)
    for _ in range(50):
        v = g.integers(0, 5, size=int(g.integers(1, 40))) * 0.5
        assert np.array_equal(average_ranks(v), rankdata(v, method="average"))


def test_on_the_trained_utr5_model_saliency_passes_and_the_random_control_fails(tmp_path):
    """Calibration on a trained model: measured drop 0.731 [0.717, 0.745] for saliency and
    -0.005 [-0.047, 0.037] for random on 50 sequences (seed 0); 20 sequences here."""
    from attrbench.reporting.tables import tables
    from attrbench.running.results import ResultStore
    from attrbench.running.runner import RunConfig, run

    config = RunConfig(
        task="utr5",
        methods=["saliency", "random"],
        metrics=["randomization"],
        n=20,
        seed=0,
        device="cpu",
        progress=False,
    )
    (table,) = tables(run(config, ResultStore(tmp_path)))
    j = next(i for i, c in enumerate(table.columns) if c.metric == "randomization")
    checks = {row.method: row.cells[j].check for row in table.rows}
    assert checks == {"saliency": "PASS", "random": "FAIL"}
    assert not any(row.cells[j].best for row in table.rows)
