"""The attention methods: the model's own weights and the controls of seed 000 Table 3."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from attrbench.core.contract import mask_of, position_scores
from attrbench.core.plugin import METHODS, NotApplicable
from attrbench.core.weights import permute_weights, random_weights, uniform_weights


class ToyAttention(nn.Module):
    """Softmax over real positions of a per-letter score; logits = weighted letter counts."""

    def __init__(self, A: int = 4, T: int = 3):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        self.score = nn.Parameter(torch.randn(A, generator=gen))
        self.out = nn.Linear(A, T)

    def attention_weights(self, X: torch.Tensor) -> torch.Tensor:
        s = torch.einsum("a,nal->nl", self.score, X)
        return torch.softmax(s.masked_fill(~mask_of(X), float("-inf")), 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.out(torch.einsum("nl,nal->na", self.attention_weights(X), X))


def batch(N: int = 5, A: int = 4, L: int = 12, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, A, (N, L), generator=gen)
    X = nn.functional.one_hot(idx, A).permute(0, 2, 1).float()
    lengths = torch.tensor([L, 1, 7, 3, 10])[:N]
    mask = torch.arange(L)[None, :] < lengths[:, None]
    return X * mask[:, None, :], mask


def run(name: str, model: nn.Module, X: torch.Tensor, mask: torch.Tensor, seed: int | None = 0):
    target = torch.zeros(len(X), dtype=torch.int64)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    return METHODS.get(name)(model, X, target, mask, generator=gen)


def test_attention_scores_are_the_models_weights():
    model, (X, mask) = ToyAttention(), batch()
    attr = run("attention", model, X, mask)
    assert attr.shape == X.shape and attr.dtype == torch.float32
    torch.testing.assert_close(position_scores(attr, X), model.attention_weights(X))
    assert (attr[~mask[:, None, :].expand_as(X)] == 0).all()
    assert torch.allclose(position_scores(attr, X).sum(1), torch.ones(len(X)))


def test_uniform_is_exactly_uniform():
    X, mask = batch()
    scores = position_scores(run("attention_uniform", ToyAttention(), X, mask), X)
    expected = mask.float() / mask.sum(1, keepdim=True).float()
    assert torch.equal(scores, expected)


def test_permuted_is_a_permutation_of_the_models_weights():
    model, (X, mask) = ToyAttention(), batch()
    own = model.attention_weights(X)
    scores = position_scores(run("attention_permuted", model, X, mask, seed=3), X)
    for i in range(len(X)):
        assert torch.equal(scores[i, mask[i]].sort().values, own[i, mask[i]].sort().values)
        assert (scores[i, ~mask[i]] == 0).all()
    assert not torch.equal(scores, own)
    again = position_scores(run("attention_permuted", model, X, mask, seed=3), X)
    assert torch.equal(scores, again)


def test_permute_weights_touches_only_real_positions():
    w = torch.tensor([[0.5, 0.3, 0.2, 9.0], [1.0, 7.0, 8.0, 9.0]])
    mask = torch.tensor([[True, True, True, False], [True, False, False, False]])
    out = permute_weights(w, mask, torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 3], w[:, 3]) and torch.equal(out[1], w[1])
    assert sorted(out[0, :3].tolist()) == sorted(w[0, :3].tolist())


def test_random_weights_sum_to_one_over_real_positions_and_follow_the_seed():
    X, mask = batch()
    a = position_scores(run("attention_random", ToyAttention(), X, mask, seed=1), X)
    b = position_scores(run("attention_random", ToyAttention(), X, mask, seed=1), X)
    c = position_scores(run("attention_random", ToyAttention(), X, mask, seed=2), X)
    assert torch.equal(a, b) and not torch.equal(a, c)
    torch.testing.assert_close(a.sum(1), torch.ones(len(X)))
    assert (a[~mask] == 0).all() and (a[mask] > 0).all()


HAND_MASK = torch.tensor(
    [
        [True, True, True, False, False],
        [True, False, False, False, False],
        [True, True, True, True, True],
    ]
)


@pytest.mark.parametrize("distribution", ["softmax", "dirichlet"])
def test_random_weights_on_a_hand_mask_are_the_documented_draws(distribution):
    u = torch.rand(HAND_MASK.shape, generator=torch.Generator().manual_seed(7))
    raw = torch.exp(u) if distribution == "softmax" else -torch.log1p(-u)
    expected = torch.where(HAND_MASK, raw, torch.zeros(()))
    expected = expected / expected.sum(1, keepdim=True)
    got = random_weights(HAND_MASK, torch.Generator().manual_seed(7), distribution)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=0)
    assert got[1].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0]  # one real residue: all the weight


def test_attention_random_defaults_to_the_authors_softmax():
    X = torch.zeros(3, 4, 5)
    X[:, 0][HAND_MASK] = 1.0
    method = METHODS.get("attention_random")
    assert method.defaults == {"distribution": "softmax"}
    for distribution in ("softmax", "dirichlet"):
        opts = {} if distribution == "softmax" else {"distribution": distribution}
        attr = method(
            ToyAttention(A=4),
            X,
            torch.zeros(3, dtype=torch.int64),
            HAND_MASK,
            generator=torch.Generator().manual_seed(7),
            **opts,
        )
        expected = random_weights(HAND_MASK, torch.Generator().manual_seed(7), distribution)
        torch.testing.assert_close(position_scores(attr, X), expected)
    with pytest.raises(ValueError, match="unknown distribution 'gauss'"):
        method(
            ToyAttention(A=4),
            X,
            torch.zeros(3, dtype=torch.int64),
            HAND_MASK,
            generator=torch.Generator(),
            distribution="gauss",
        )


def test_softmax_and_dirichlet_differ_in_their_tails():
    # share of real positions above mean + 2 SD of their row, against the exact limits:
    # softmax of U(0, 1): exp(u) > e - 1 + 2 sd, sd**2 = (e**2 - 1) / 2 - (e - 1)**2;
    # flat Dirichlet: Exp(1) draws, P(E > 3) = exp(-3)
    mask = torch.ones(200, 1000, dtype=torch.bool)
    e = math.e
    limit = {
        "softmax": 1 - math.log(e - 1 + 2 * math.sqrt((e * e - 1) / 2 - (e - 1) ** 2)),
        "dirichlet": math.exp(-3),
    }
    for distribution, share in limit.items():
        w = random_weights(mask, torch.Generator().manual_seed(0), distribution)
        above = w > (w.mean(1, keepdim=True) + 2 * w.std(1, correction=0, keepdim=True))
        assert abs(above.float().mean().item() - share) < 1e-3, distribution
    assert limit["softmax"] < 0.007 < 0.049 < limit["dirichlet"]
    softmax = random_weights(mask, torch.Generator().manual_seed(0))
    assert (softmax.max(1).values / softmax.min(1).values).max() <= e  # within a factor e


def test_uniform_weights_by_hand():
    assert uniform_weights(HAND_MASK)[0].tolist() == pytest.approx([1 / 3] * 3 + [0, 0])


@pytest.mark.parametrize("name", ["attention_permuted", "attention_random"])
def test_stochastic_controls_need_a_generator(name):
    X, mask = batch()
    with pytest.raises(ValueError, match="needs a torch.Generator"):
        run(name, ToyAttention(), X, mask, seed=None)


@pytest.mark.parametrize(
    "name", ["attention", "attention_permuted", "attention_random", "attention_uniform"]
)
def test_declared_capabilities_and_models_without_attention(name):
    method = METHODS.get(name)
    assert method.needs_attention
    assert method.deterministic == (name in ("attention", "attention_uniform"))
    X, mask = batch()
    with pytest.raises(NotApplicable, match="needs a model with attention"):
        run(name, nn.Sequential(nn.Flatten(), nn.Linear(48, 3)), X, mask)


def test_batch_independence():
    model, (X, mask) = ToyAttention(), batch()
    full = run("attention", model, X, mask)
    torch.testing.assert_close(run("attention", model, X[2:4], mask[2:4]), full[2:4])
