"""ISM through the psl models' ``mutant_logits`` (reused recurrent states) against the naive loop."""

from __future__ import annotations

import pytest
import torch

from attrbench_methods.ism import ism, ism_deltas, ism_naive
from attrbench_tasks.psl.models import CHECKPOINT_DIR, build_model

#: The mutants reuse the unmutated states computed by the same LSTM modules one step at a
#: time; a different batch size may change the summation order inside the LSTM and
#: attention kernels, so agreement is to float32 round-off of logits of order 1-10.
ATOL = 1e-5


def trained(name: str) -> torch.nn.Module:
    model = build_model(name)
    ckpt = torch.load(CHECKPOINT_DIR / f"{name}.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def proteins(lengths: list[int], L: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """One-hot proteins (N, 21, L) of the given lengths, right-padded, and their mask."""
    g = torch.Generator().manual_seed(seed)
    codes = torch.randint(0, 20, (len(lengths), L), generator=g)
    X = torch.nn.functional.one_hot(codes, 21).permute(0, 2, 1).float()
    mask = torch.arange(L)[None, :] < torch.tensor(lengths)[:, None]
    return X * mask[:, None, :], mask


@pytest.mark.parametrize(
    "name", ["bilstm_att", "bilstm", "bilstm_uniform", "cnn_bilstm_big_att", "mlp_trained"]
)
def test_ism_with_mutant_logits_equals_the_naive_loop(name):
    model = trained(name)
    X, mask = proteins([30, 17, 1], 34)
    target = torch.tensor([0, 5, 12])
    fast = ism(model, X, target, mask, batch_size=7)
    torch.testing.assert_close(fast, ism_naive(model, X, target, mask), atol=ATOL, rtol=0)


@pytest.mark.parametrize("name", ["bilstm_att", "cnn_bilstm_small"])
def test_mutant_logits_equal_the_forward_pass_of_the_mutants(name):
    model = trained(name)
    X, _ = proteins([25], 25, seed=3)
    positions = torch.tensor([24, 0, 12, 3, 3, 20])
    letters = torch.tensor([1, 2, 3, 4, 20, 0])
    mutants = X.repeat(len(positions), 1, 1)
    rows = torch.arange(len(positions))
    mutants[rows, :, positions] = 0
    mutants[rows, letters, positions] = 1
    with torch.no_grad():
        expected = model(mutants)
    got = model.mutant_logits(X[0], positions, letters, batch_size=4)
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


def test_generic_batches_equal_the_capability():
    model = trained("bilstm_att")
    X, mask = proteins([40, 33], 40, seed=1)
    target = torch.tensor([2, 7])

    class Plain(torch.nn.Module):  # the same model without mutant_logits
        def forward(self, x):
            return model(x)

    fast = ism_deltas(model, X, target, mask, batch_size=32)
    plain = ism_deltas(Plain(), X, target, mask, batch_size=32)
    torch.testing.assert_close(fast, plain, atol=ATOL, rtol=0)
    assert fast.abs().max() > 0.01  # mutations do move the target logit


def test_mutant_scores_are_the_attention_scores_up_to_a_constant():
    """2 c . sigmoid(2u) = c . tanh(u) + sum(c): the softmax of either is the attention."""
    from attrbench_tasks.psl import mutants

    model = trained("bilstm_att")
    X, _ = proteins([40], 40, seed=4)
    positions, letters = torch.tensor([3, 3, 17, 39]), torch.tensor([0, 20, 5, 9])
    bb, att = model.backbone, model.attention
    with torch.no_grad():
        states = mutants.mutant_features(
            bb.embed, bb.convs, bb.lstm, bb.base_states(X[0]), positions, letters
        )
        got = att.mutant_scores(states)
        mutated = X.repeat(4, 1, 1)
        mutated[torch.arange(4), :, positions] = 0
        mutated[torch.arange(4), letters, positions] = 1
        H = bb(mutated).H
        expected = att.context(torch.tanh(att.proj(H)))[..., 0]
    shift = att.context.weight.sum()
    torch.testing.assert_close(got, expected + shift, atol=2e-6, rtol=0)


@pytest.mark.parametrize("positions", [[0, 0, 1], [5, 9, 9], [24, 23, 24]])
def test_mutant_states_give_what_the_features_give(positions):
    """``sigmoid_scores``, ``pool`` and ``ends`` of the states in pieces equal those of the whole
    features."""
    model = trained("cnn_bilstm_small_att")
    X, _ = proteins([25], 25, seed=4)
    backbone = model.backbone
    with torch.no_grad():
        base = backbone.base_states(X[0])
        states = backbone.mutant_features(base, torch.tensor(positions), torch.tensor([3, 7, 20]))
        M = len(positions)
        H = torch.cat(
            [
                torch.cat([base.hf[: states.lo].expand(M, -1, -1), states.f], 1),
                torch.cat([states.b, base.hb[states.hi + 1 :].expand(M, -1, -1)], 1),
            ],
            2,
        )
        assert tuple(H.shape) == states.shape == (3, 25, 64)
        assert 0 <= states.lo <= min(positions) and max(positions) <= states.hi <= 24
        proj, c = model.attention.proj, model.attention.context.weight[0]
        scores = states.sigmoid_scores(proj.weight, proj.bias, c)
        torch.testing.assert_close(scores, torch.sigmoid(proj(H)) @ c, atol=ATOL, rtol=0)
        w = torch.softmax(torch.randn(3, 25, generator=torch.Generator().manual_seed(0)), 1)
        torch.testing.assert_close(
            states.pool(w), torch.einsum("mt,mtd->md", w, H), atol=ATOL, rtol=0
        )
        torch.testing.assert_close(states.ends(), torch.cat([H[:, -1, :32], H[:, 0, 32:]], 1))
