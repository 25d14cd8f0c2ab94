"""Reference tests of the method plugins: known answers and agreement with captum / shap."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from attrbench.core.data import Background
from attrbench.core.plugin import METHODS, NotApplicable
from attrbench.testing import Linear, TinyCNN, random_onehot
from attrbench_methods.deepshap import deepshap_baselines, rescale_attributions
from attrbench_methods.gradients import target_gradient, target_logits
from attrbench_methods.ig import ig_baseline
from attrbench_methods.ism import ism_deltas, ism_naive

N, L, PAD = 6, 24, 4
TARGET = torch.tensor([0, 1, 2, 0, 1, 2])


@pytest.fixture
def data() -> tuple[torch.Tensor, torch.Tensor]:
    return random_onehot(N, L, seed=1, pad=PAD)


@pytest.fixture
def background() -> Background:
    return Background.from_dataset(random_onehot(64, L, seed=7)[0])


def method(name: str):
    return METHODS.get(name)


def delta_f(
    model: nn.Module, X: torch.Tensor, x0: torch.Tensor, target: torch.Tensor
) -> torch.Tensor:
    return target_logits(model, X, target) - target_logits(model, x0, target)


def hook_state(model: nn.Module) -> list:
    """Everything captum or our hooks could leave behind on a model."""
    return [
        (
            len(m._forward_hooks),
            len(m._forward_pre_hooks),
            len(m._backward_hooks),
            len(m._backward_pre_hooks),
            sorted(vars(m)),
        )
        for m in model.modules()
    ]


# --------------------------------------------------------------------------- gradients


def test_saliency_and_grad_x_input_on_linear(data):
    X, mask = data
    model = Linear()
    W = model.weight.detach()[TARGET]
    keep = mask[:, None, :].float()
    torch.testing.assert_close(method("saliency")(model, X, TARGET, mask), W * keep)
    torch.testing.assert_close(method("grad_x_input")(model, X, TARGET, mask), W * X)
    centred = (W - W.mean(1, keepdim=True)) * keep
    torch.testing.assert_close(method("saliency")(model, X, TARGET, mask, correct=True), centred)
    corrected = method("grad_x_input")(model, X, TARGET, mask, correct=True)
    torch.testing.assert_close(corrected, centred * X)


def test_target_gradient_chunks_agree(data):
    X, _ = data
    model = TinyCNN().eval()
    chunked = target_gradient(model, X, TARGET, batch_size=4)
    torch.testing.assert_close(chunked, target_gradient(model, X, TARGET))


def test_random_uses_only_the_generator(data):
    X, mask = data
    draw = method("random")
    a = draw(None, X, TARGET, mask, generator=torch.Generator().manual_seed(3))
    b = draw(None, X, TARGET, mask, generator=torch.Generator().manual_seed(3))
    c = draw(None, X, TARGET, mask, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float32 and bool((a[:, :, L - PAD :] == 0).all())
    with pytest.raises(ValueError, match="generator"):
        draw(None, X, TARGET, mask)


# --------------------------------------------------------------------------- integrated gradients


@pytest.mark.parametrize("baseline", ["zeros", "background"])
def test_ig_on_linear_is_exact(data, background, baseline):
    X, mask = data
    model = Linear()
    x0 = ig_baseline(X, baseline, background)
    attr = method("ig")(model, X, TARGET, mask, baseline=baseline, background=background)
    expected = model.weight.detach()[TARGET] * (X - x0) * mask[:, None, :]
    torch.testing.assert_close(attr, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(attr.sum((1, 2)), delta_f(model, X, x0, TARGET), atol=1e-4, rtol=0)
    assert bool((attr[:, :, L - PAD :] == 0).all())


@pytest.mark.parametrize("how", ["gausslegendre", "riemann_trapezoid"])
@pytest.mark.parametrize("baseline", ["zeros", "background"])
def test_ig_agrees_with_captum(data, background, how, baseline):
    from captum.attr import IntegratedGradients

    X, mask = data
    model = TinyCNN().eval()
    x0 = ig_baseline(X, baseline, background)
    ours = method("ig")(
        model,
        X,
        TARGET,
        mask,
        n_steps=32,
        method=how,
        baseline=baseline,
        background=background,
        internal_batch_size=50,
    )
    ref = IntegratedGradients(model).attribute(X, x0, target=TARGET, n_steps=32, method=how)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref * mask[:, None, :], atol=1e-6, rtol=0)


def test_ig_takes_an_explicit_baseline(data, background):
    X, mask = data
    model = TinyCNN().eval()
    by_name = method("ig")(model, X, TARGET, mask, baseline="background", background=background)
    by_tensor = method("ig")(model, X, TARGET, mask, baseline=background.mean(X))
    assert torch.equal(by_name, by_tensor)
    with pytest.raises(ValueError, match="background"):
        ig_baseline(X, "background", None)


# --------------------------------------------------------------------------- DeepLIFT / DeepSHAP


class ActCNN(nn.Module):
    """Several activations and a non-overlapping max pool.

    captum gets it right only when no two hooked modules are adjacent
    (``captum_safe=True``): an activation feeding a MaxPool, or a MaxPool feeding
    an activation, breaks its DeepLift.
    """

    kind = "cnn"

    def __init__(self, act2: type[nn.Module] = nn.Tanh, captum_safe: bool = True):
        super().__init__()
        torch.manual_seed(2)
        safe = [nn.MaxPool1d(2), nn.Conv1d(6, 6, 1), nn.ELU()]
        first = safe if captum_safe else [nn.ELU(), nn.MaxPool1d(2)]
        self.body = nn.Sequential(
            nn.Conv1d(4, 6, 5, padding=2),
            *first,
            nn.Conv1d(6, 6, 3, padding=1),
            act2(),
            nn.Conv1d(6, 5, 3),
            nn.Softplus(),
            nn.Flatten(),
            nn.Linear(5 * 10, 8),
            nn.Sigmoid(),
            nn.Linear(8, 3),
        )

    def forward(self, X):
        return self.body(X)


class ResidualCNN(nn.Module):
    """Reuses one in-place ReLU, overlapping and adaptive max pools: only ours supports it."""

    kind = "cnn"

    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.conv1, self.conv2 = nn.Conv1d(4, 6, 5, padding=2), nn.Conv1d(6, 6, 3, padding=1)
        self.relu, self.gelu = nn.ReLU(inplace=True), nn.GELU()
        self.pool, self.gpool = nn.MaxPool1d(3, stride=1, padding=1), nn.AdaptiveMaxPool1d(2)
        self.head = nn.Linear(12, 3)

    def forward(self, X):
        h = self.relu(self.conv1(X))
        h = self.pool(self.gelu(self.conv2(h)) + h)
        return self.head(self.gpool(self.relu(h)).flatten(1))


class LSTMModel(nn.Module):
    kind = "lstm"

    def __init__(self):
        super().__init__()
        self.lstm, self.head = nn.LSTM(4, 5, batch_first=True), nn.Linear(5, 3)

    def forward(self, X):
        return self.head(self.lstm(X.transpose(1, 2))[0][:, -1])


class FunctionalReLU(nn.Module):
    kind = "cnn"

    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.conv, self.head = nn.Conv1d(4, 8, 5), nn.Linear(8, 3)

    def forward(self, X):
        return self.head(F.relu(self.conv(X)).mean(2))


@pytest.mark.parametrize("implementation", ["attrbench", "captum"])
@pytest.mark.parametrize("baseline", ["zeros", "background"])
def test_deeplift_equals_captum_and_leaves_model_clean(data, background, baseline, implementation):
    from captum.attr import DeepLift

    X, mask = data
    model = TinyCNN().eval()
    before = hook_state(model)
    ours = method("deeplift")(
        model,
        X,
        TARGET,
        mask,
        baseline=baseline,
        background=background,
        implementation=implementation,
    )
    assert hook_state(model) == before
    x0 = ig_baseline(X, baseline, background)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = DeepLift(model).attribute(X, x0, target=TARGET).detach()
    torch.testing.assert_close(ours, ref * mask[:, None, :], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ours.sum((1, 2)), delta_f(model, X, x0, TARGET), atol=1e-4, rtol=0)


def test_deeplift_is_right_where_captum_is_not(data):
    """conv -> ReLU -> MaxPool1d: captum 0.9 breaks summation-to-delta (captum #1104)."""
    X, mask = data
    model = nn.Sequential(
        nn.Conv1d(4, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Flatten(),
        nn.Linear(6 * 12, 3),
    ).eval()
    x0 = torch.full_like(X, 0.25) * mask[:, None, :]
    ours = method("deeplift")(model, X, TARGET, mask, baseline=x0)
    torch.testing.assert_close(ours.sum((1, 2)), delta_f(model, X, x0, TARGET), atol=1e-5, rtol=0)
    with pytest.raises(NotApplicable, match="summation-to-delta"):
        method("deeplift")(model, X, TARGET, mask, baseline=x0, implementation="captum")


def test_deeplift_relu_input_equal_to_reference_takes_the_derivative():
    """Where a ReLU's input equals its reference input (0/0), the multiplier is the local
    derivative ``x > 0`` (captum's and shap's rule), while the sequence still differs from the
    reference inside that unit's receptive field (so the multiplier shows in the attributions)."""
    from captum.attr import DeepLift

    torch.manual_seed(0)
    conv = nn.Conv1d(4, 8, 3, padding=1)
    with torch.no_grad():  # channels 0-3 see the letters at offset +1 all alike
        conv.weight[:4, :, 2] = conv.weight[:4, :1, 2]
        conv.bias[:2] = 2.0  # units that stay positive: derivative 1
        conv.bias[2:4] = -9.0  # units that stay negative: derivative 0
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), nn.Linear(8 * 10, 3)).eval()
    X = random_onehot(4, 10, seed=2)[0]
    x0 = X.clone()
    x0[:, :, 5] = X[:, :, 5].roll(1, dims=1)  # another letter at position 5 only
    with torch.no_grad():
        pre, pre0 = conv(X), conv(x0)
    assert torch.equal(pre[:, :4, 4], pre0[:, :4, 4]) and not torch.equal(
        pre[:, 4:, 4], pre0[:, 4:, 4]
    )
    target = torch.tensor([0, 1, 2, 0])
    ours = method("deeplift")(model, X, target, torch.ones(4, 10, dtype=torch.bool), baseline=x0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = DeepLift(model).attribute(X, x0, target=target).detach()
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=1e-5)
    assert ours[:, :, 5].abs().sum() > 0


def test_deepshap_agrees_with_captum_and_shap(background):
    """Same references for every sequence and no padding: the set-up captum and shap support."""
    from captum.attr import DeepLiftShap

    X, mask = random_onehot(N, 20, seed=5)
    model = TinyCNN(channels=16).eval()
    refs = background.sample(10, 20, torch.Generator().manual_seed(0))
    before = hook_state(model)
    ours = method("deepshap")(model, X, TARGET, mask, baseline=refs.expand(N, -1, -1, -1))
    assert hook_state(model) == before
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = DeepLiftShap(model).attribute(X, refs, target=TARGET).detach()
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-4)
    shap = pytest.importorskip("shap")
    values = torch.as_tensor(shap.DeepExplainer(model, refs).shap_values(X, check_additivity=False))
    values = values[torch.arange(N), ..., TARGET].float()
    torch.testing.assert_close(ours, values, atol=1e-5, rtol=1e-4)


def test_deepshap_rules_agree_with_captum_and_shap_on_more_modules():
    """ELU, MaxPool1d, Tanh/GELU, Softplus, Sigmoid; continuous inputs so no |x - x0| is tiny."""
    from captum.attr import DeepLiftShap

    g = torch.Generator().manual_seed(0)
    X, refs = torch.randn(4, 4, 24, generator=g), torch.randn(5, 4, 24, generator=g)
    target, mask = torch.tensor([0, 1, 2, 1]), torch.ones(4, 24, dtype=torch.bool)
    model = ActCNN().eval()
    ours = method("deepshap")(model, X, target, mask, baseline=refs.expand(4, -1, -1, -1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = DeepLiftShap(model).attribute(X, refs, target=target).detach()
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-4)
    shap = pytest.importorskip("shap")
    other = ActCNN(nn.GELU, captum_safe=False).eval()  # captum gets neither GELU nor ELU -> pool
    ours = method("deepshap")(other, X, target, mask, baseline=refs.expand(4, -1, -1, -1))
    values = torch.as_tensor(shap.DeepExplainer(other, refs).shap_values(X, check_additivity=False))
    values = values[torch.arange(4), ..., target].float()
    torch.testing.assert_close(ours, values, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("model_cls", [TinyCNN, ResidualCNN])
@pytest.mark.parametrize("shared", [True, False])
def test_deepshap_is_complete(data, background, model_cls, shared):
    X, mask = data
    model = model_cls().eval()
    before = hook_state(model)
    attr = method("deepshap")(
        model,
        X,
        TARGET,
        mask,
        background=background,
        n_background=8,
        shared=shared,
        generator=torch.Generator().manual_seed(1),
    )
    assert hook_state(model) == before
    refs = deepshap_baselines(X, mask, background, torch.Generator().manual_seed(1), 8, shared)
    f_ref = target_logits(model, refs.flatten(0, 1), TARGET.repeat_interleave(8)).view(N, 8)
    expected = target_logits(model, X, TARGET) - f_ref.mean(1)
    torch.testing.assert_close(attr.sum((1, 2)), expected, atol=1e-4, rtol=0)
    assert bool((attr[:, :, L - PAD :] == 0).all())
    per_pair = rescale_attributions(model, X, refs, TARGET)
    torch.testing.assert_close(per_pair.mean(1) * mask[:, None, :], attr)


@pytest.mark.parametrize("name", ["deeplift", "deepshap"])
def test_rescale_methods_refuse_recurrent_models(data, background, name):
    X, mask = data
    with pytest.raises(NotApplicable, match="LSTM"):
        method(name)(
            LSTMModel(),
            X,
            TARGET,
            mask,
            background=background,
            generator=torch.Generator().manual_seed(0),
        )


@pytest.mark.parametrize("name", ["deeplift", "deepshap"])
def test_rescale_methods_refuse_unseen_nonlinearity(data, background, name):
    X, mask = data
    model = FunctionalReLU().eval()
    before = hook_state(model)
    with pytest.raises(NotApplicable, match="summation-to-delta"):
        method(name)(
            model,
            X,
            TARGET,
            mask,
            background=background,
            generator=torch.Generator().manual_seed(0),
        )
    assert hook_state(model) == before


def test_captum_deeplift_refuses_what_captum_gets_wrong(data):
    X, mask = data
    model = ResidualCNN().eval()
    with pytest.raises(NotApplicable, match="GELU"):
        method("deeplift")(model, X, TARGET, mask, implementation="captum")
    model.gelu = nn.Tanh()
    model.gpool = nn.MaxPool1d(L // 2)
    before = hook_state(model)
    with pytest.raises(NotApplicable, match="more than once"):
        method("deeplift")(model, X, TARGET, mask, implementation="captum")
    assert hook_state(model) == before
    attr = method("deeplift")(model, X, TARGET, mask)  # ours handles it
    torch.testing.assert_close(
        attr.sum((1, 2)), delta_f(model, X, torch.zeros_like(X), TARGET), atol=1e-4, rtol=0
    )


# --------------------------------------------------------------------------- ISM


def test_ism_batched_equals_naive(data):
    X, mask = data
    model = TinyCNN().eval()
    fast = method("ism")(model, X, TARGET, mask, batch_size=37)
    torch.testing.assert_close(fast, ism_naive(model, X, TARGET, mask), atol=1e-6, rtol=0)
    assert bool((fast[:, :, L - PAD :] == 0).all())
    d = ism_deltas(model, X, TARGET, mask)
    assert bool(((d * X).sum(1) == 0).all())
    torch.testing.assert_close((fast * X).sum(1), -d.mean(1))


# --------------------------------------------------------------------------- shift smoothing


@pytest.mark.parametrize("base", ["saliency", "grad_x_input", "ig"])
def test_shift_smoothed_n0_is_the_base_method(data, background, base):
    X, mask = data
    model = TinyCNN().eval()
    ours = method("shift_smoothed")(model, X, TARGET, mask, n=0, base=base, background=background)
    assert torch.equal(ours, method(base)(model, X, TARGET, mask))


@pytest.mark.parametrize("fill", ["background", "zeros"])
def test_shift_smoothed_on_linear_is_a_moving_average_of_weights(data, background, fill):
    """Saliency of a linear model is W[t]; shifting averages W over the window that stays inside."""
    X, mask = data
    model, n, m = Linear(), 2, L - PAD
    W = model.weight.detach()[TARGET]
    expected = torch.zeros_like(W)
    for q in range(m):
        window = range(max(0, q - n), min(m, q + n + 1))
        expected[:, :, q] = W[:, :, list(window)].mean(2)
    ours = method("shift_smoothed")(model, X, TARGET, mask, n=n, fill=fill, background=background)
    torch.testing.assert_close(ours, expected, atol=1e-6, rtol=0)


def test_shift_smoothed_equals_saliency_where_the_model_is_shift_equivariant():
    """TinyCNN's gradient at q depends on x[q-6 : q+7] only: interior positions are unchanged."""
    X, mask = random_onehot(4, 40, seed=2, pad=5)
    model, n, radius, m = TinyCNN().eval(), 2, 6, 35
    background = Background.from_dataset(random_onehot(64, 40, seed=7)[0])
    ours = method("shift_smoothed")(model, X, TARGET[:4], mask, n=n, background=background)
    plain = method("saliency")(model, X, TARGET[:4], mask)
    interior = slice(n + radius, m - n - radius)
    torch.testing.assert_close(ours[:, :, interior], plain[:, :, interior], atol=1e-6, rtol=0)
    assert not torch.allclose(ours[:, :, :n], plain[:, :, :n])


# --------------------------------------------------------------------------- devices


@pytest.mark.parametrize("name", ["ig", "ism", "deepshap", "shift_smoothed"])
def test_methods_agree_across_devices(data, background, device, name):
    """``device`` (tests/conftest.py) is cpu, and cuda where a GPU exists."""
    X, mask = data
    model = TinyCNN().eval()
    kwargs = {"background": background}
    if name == "deepshap":
        draw = torch.Generator().manual_seed(0)
        kwargs["baseline"] = deepshap_baselines(X, mask, background, draw, 4)
    cpu = method(name)(model, X, TARGET, mask, **kwargs)
    on_device = {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    model, X, target, mask = model.to(device), X.to(device), TARGET.to(device), mask.to(device)
    out = method(name)(model, X, target, mask, **on_device)
    assert out.device.type == device.type
    torch.testing.assert_close(out.cpu(), cpu, atol=1e-5, rtol=1e-4)


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize("name", [m.name for m in METHODS if m.complete])
def test_complete_methods_declare_the_reference_they_use(data, background, name):
    """As the runner does: draw ``Method.reference``, pass it as ``baseline=``; completeness."""
    X, mask = data
    model, record = TinyCNN().eval(), method(name)
    options = {**record.defaults, "n_steps": 256} if name == "ig" else dict(record.defaults)
    ref = record.reference(X, background, torch.Generator().manual_seed(0), **options)
    assert ref.shape[0] == N and ref.shape[-2:] == X.shape[1:]
    kwargs = {**options, "background": background, "generator": torch.Generator().manual_seed(9)}
    attr = record(model, X, TARGET, mask, **{**kwargs, "baseline": ref})
    refs = ref if ref.dim() == 4 else ref[:, None]
    f_ref = target_logits(model, refs.flatten(0, 1), TARGET.repeat_interleave(refs.shape[1]))
    expected = target_logits(model, X, TARGET) - f_ref.view(N, -1).mean(1)
    torch.testing.assert_close(attr.sum((1, 2)), expected, atol=1e-4, rtol=0)
    kwargs["generator"] = torch.Generator().manual_seed(0)
    assert torch.equal(attr, record(model, X, TARGET, mask, **kwargs))  # what it draws itself
