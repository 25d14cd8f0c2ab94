"""The k-mer transformer: differentiable embedding, token mapping, layer IG, attention."""

from __future__ import annotations

import pytest
import torch

from attrbench.core.plugin import METHODS
from attrbench_methods.attention_rollout import rollout
from attrbench_methods.layer_ig import layer_ig_tokens
from attrbench_methods.layer_ig import tokens_to_nucleotides as method_mapping
from attrbench_tasks.common.kmer import (
    KmerEmbedding,
    KmerTransformer,
    kmer_ids,
    tokens_to_nucleotides,
)


def _one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()


@pytest.fixture(scope="module")
def toy() -> KmerTransformer:
    torch.manual_seed(0)
    return KmerTransformer(2, 20, k=3, d=8, heads=2, layers=2, ff=16).eval()


def test_kmer_ids_on_a_hand_example():
    X = torch.nn.functional.one_hot(torch.tensor([[0, 1, 2, 3, 3]]), 4).permute(0, 2, 1).float()
    # ACG = 0*16 + 1*4 + 2, CGT = 1*16 + 2*4 + 3, GTT = 2*16 + 3*4 + 3
    assert kmer_ids(X, 3).tolist() == [[6, 27, 47]]


def test_differentiable_embedding_equals_lookup_on_one_hot():
    torch.manual_seed(1)
    emb = KmerEmbedding(6, 5, chunk=3)
    X = _one_hot(7, 30)
    assert torch.allclose(emb.multilinear(X), emb.lookup(X), atol=1e-6)
    Xg = X.clone().requires_grad_(True)
    out = emb(Xg)  # gradient asked: the multilinear path
    assert torch.allclose(out, emb.lookup(X), atol=1e-6)
    out.sum().backward()
    assert Xg.grad is not None and Xg.grad.abs().sum() > 0


def test_embedding_is_multilinear_in_each_column():
    torch.manual_seed(2)
    emb = KmerEmbedding(3, 4)
    X = _one_hot(1, 8)
    a, b = X.clone(), X.clone()
    a[0, :, 4] = torch.tensor([1.0, 0, 0, 0])
    b[0, :, 4] = torch.tensor([0, 0, 1.0, 0])
    mix = 0.3 * a + 0.7 * b
    assert torch.allclose(
        emb.multilinear(mix), 0.3 * emb.multilinear(a) + 0.7 * emb.multilinear(b), atol=1e-6
    )
    zero = X.clone()
    zero[0, :, 4] = 0
    out = emb.multilinear(zero)[0]
    assert torch.all(out[2:5] == 0) and torch.all(out[[0, 1, 5]] != 0)  # tokens covering column 4


def test_tokens_to_nucleotides_on_a_hand_example():
    scores = torch.tensor([[3.0, 6.0, 9.0]])  # 3 tokens of k = 2 over 4 nucleotides
    expect = torch.tensor([[3.0, 4.5, 7.5, 9.0]])
    assert torch.equal(tokens_to_nucleotides(scores, 2), expect)
    assert torch.equal(method_mapping(scores, 2), expect)


def test_layer_ig_token_scores_are_complete(toy):
    X = _one_hot(4, 20, seed=3)
    target = torch.tensor([0, 1, 0, 1])
    x0 = torch.zeros_like(X)
    tokens = layer_ig_tokens(toy, X, target, x0, n_steps=64)
    with torch.no_grad():
        gap = (toy(X) - toy(x0)).gather(1, target[:, None])[:, 0]
    assert tokens.shape == (4, 18)
    assert torch.allclose(tokens.sum(1), gap, atol=1e-3 * max(1.0, float(gap.abs().max())))


def test_layer_ig_method_maps_tokens_to_nucleotides(toy):
    X = _one_hot(2, 20, seed=4)
    target = torch.tensor([1, 0])
    mask = torch.ones(2, 20, dtype=torch.bool)
    attr = METHODS.get("layer_ig")(toy, X, target, mask, n_steps=16)
    tokens = layer_ig_tokens(toy, X, target, torch.zeros_like(X), n_steps=16)
    assert torch.allclose((attr * X).sum(1), tokens_to_nucleotides(tokens, 3), atol=1e-6)


def test_attention_weights_and_rollout(toy):
    X = _one_hot(3, 20, seed=5)
    w = toy.attention_weights(X)
    assert w.shape == (3, 20) and torch.allclose(w.sum(1), torch.ones(3), atol=1e-5)
    maps = toy.attention_maps(X)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 19, 19)
    one = [torch.tensor([[[[0.5, 0.5], [0.0, 1.0]]]])]
    assert torch.allclose(rollout(one), torch.tensor([[[0.75, 0.25], [0.0, 1.0]]]))
    two = one * 2
    assert torch.allclose(rollout(two), torch.tensor([[[0.5625, 0.4375], [0.0, 1.0]]]))
    mask = torch.ones(3, 20, dtype=torch.bool)
    attr = METHODS.get("attention_rollout")(toy, X, torch.zeros(3, dtype=torch.long), mask)
    assert torch.allclose((attr * X).sum(1).sum(1), torch.ones(3), atol=1e-5)


def test_refusals_on_the_transformer_and_on_models_without_tokens(toy):
    for name in ("deeplift", "deepshap"):
        reason = METHODS.get(name).why_not(toy)
        assert reason and ("LayerNorm" in reason or "Softmax" in reason), name
    cnn = torch.nn.Sequential(torch.nn.Conv1d(4, 2, 3), torch.nn.Flatten())
    assert "embedding" in METHODS.get("layer_ig").why_not(cnn)
    assert "attention maps" in METHODS.get("attention_rollout").why_not(cnn)
    assert METHODS.get("layer_ig").why_not(toy) is None
