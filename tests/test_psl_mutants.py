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


def test_fast_tanh_is_tanh_to_float_round_off():
    from attrbench_tasks.psl.models import fast_tanh

    x = torch.cat([torch.linspace(-20, 20, 10001), torch.tensor([0.0, 1e-8, -1e-8, 1e-3])])
    torch.testing.assert_close(fast_tanh(x.clone()), torch.tanh(x), atol=2e-7, rtol=0)
    assert fast_tanh(torch.tensor([0.0])).item() == 0.0
    assert fast_tanh(torch.tensor([50.0, -50.0])).tolist() == [1.0, -1.0]



@pytest.mark.parametrize("positions", [[0, 0, 1], [5, 9, 9], [24, 23, 24]])
def test_mutant_states_give_what_the_features_give(positions):
    """``linear``, ``pool`` and ``ends`` of the states in pieces equal those of the whole features."""
    model = trained("cnn_bilstm_small_att")
    X, _ = proteins([25], 25, seed=4)
    backbone = model.backbone
    with torch.no_grad():
        base = backbone.base_states(X[0])
        states = backbone.mutant_features(base, torch.tensor(positions), torch.tensor([3, 7, 20]))
        M = len(positions)
        H = torch.cat([torch.cat([base.hf[: states.lo].expand(M, -1, -1), states.f], 1),
                       torch.cat([states.b, base.hb[states.hi + 1 :].expand(M, -1, -1)], 1)], 2)
        assert tuple(H.shape) == states.shape == (3, 25, 64)
        assert 0 <= states.lo <= min(positions) and max(positions) <= states.hi <= 24
        proj = model.attention.proj
        blocks = states.linear(proj.weight, proj.bias)
        assert [b.shape[1] for b in blocks] == [states.lo, states.hi + 1 - states.lo, 24 - states.hi]
        torch.testing.assert_close(torch.cat(blocks, 1), proj(H), atol=ATOL, rtol=0)
        w = torch.softmax(torch.randn(3, 25, generator=torch.Generator().manual_seed(0)), 1)
        torch.testing.assert_close(states.pool(w), torch.einsum("mt,mtd->md", w, H), atol=ATOL, rtol=0)
        torch.testing.assert_close(states.ends(), torch.cat([H[:, -1, :32], H[:, 0, 32:]], 1))
