"""attrbench.core.shuffle (k-mer shuffles, hypothetical contributions) and the genomics workflow
of the methods, side by side with tangermeme on the shipped utr5 and promoter CNNs."""

from __future__ import annotations

import pytest
import torch

from attrbench.core.plugin import METHODS, TASKS
from attrbench.core.shuffle import dinucleotide_shuffle, hypothetical, kmer_counts, kmer_shuffle
from attrbench.running.training import load_model


def one_hot(codes: torch.Tensor, A: int = 4) -> torch.Tensor:
    return torch.nn.functional.one_hot(codes, A).transpose(1, 2).float()


@pytest.fixture(scope="module")
def X() -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    X = one_hot(torch.randint(0, 4, (4, 60), generator=g))
    X[1, :, 45:] = 0  # padding
    X[2, :, 10] = 0  # an unknown letter inside
    return X


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_kmer_shuffle_keeps_every_kmer_count_and_the_padding(X, k):
    S = kmer_shuffle(X, k, 6, torch.Generator().manual_seed(0))
    assert S.shape == (4, 6, 4, 60)
    want = kmer_counts(X, k)
    for r in range(6):
        assert kmer_counts(S[:, r], k) == want
    assert bool((S[1, :, :, 45:] == 0).all())
    assert bool((S.sum(2)[1, :, :45] == 1).all())
    if k > 1:  # the first and last (k-1)-mers stay in place
        assert torch.equal(S[0, :, :, : k - 1], X[0, None, :, : k - 1].expand(6, -1, -1))
        assert torch.equal(S[0, :, :, -(k - 1) :], X[0, None, :, -(k - 1) :].expand(6, -1, -1))
    assert not torch.equal(S[0, 0], X[0]) and not torch.equal(S[0, 0], S[0, 1])


def test_dinucleotide_shuffle_is_seeded_and_differs_from_the_input():
    X = one_hot(torch.tensor([[0, 1, 2, 3, 0, 2, 1, 3, 3, 0, 1, 1, 2, 0, 3, 2, 2, 1, 0, 3]]))
    a = dinucleotide_shuffle(X, 5, torch.Generator().manual_seed(7))
    b = dinucleotide_shuffle(X, 5, torch.Generator().manual_seed(7))
    c = dinucleotide_shuffle(X, 5, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_dinucleotide_shuffle_keeps_counts_like_tangermeme():
    """Different random numbers (tangermeme draws in numba), same invariants."""
    ersatz = pytest.importorskip("tangermeme.ersatz")
    g = torch.Generator().manual_seed(1)
    X = one_hot(torch.randint(0, 4, (3, 80), generator=g))
    ours = dinucleotide_shuffle(X, 4, g)
    theirs = ersatz.dinucleotide_shuffle(X, n=4, random_state=0)
    for r in range(4):
        assert kmer_counts(ours[:, r], 2) == kmer_counts(theirs[:, r], 2) == kmer_counts(X, 2)


def test_hypothetical_known_answer_and_projection():
    m = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]])  # (1, 4, 2)
    x0 = torch.tensor([[[0.0, 0.25], [1.0, 0.25], [0.0, 0.25], [0.0, 0.25]]])
    h = hypothetical(m, x0)
    want = m - torch.tensor([[[3.0, 5.0]]])  # column 0: m[C]; column 1: mean of m
    assert torch.allclose(h, want)
    X = torch.tensor([[[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 0.0]]])
    assert torch.allclose((h * X).sum(1), (m * (X - x0)).sum(1))


# --------------------------------------------------------------------------- methods


def _toy() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv1d(4, 8, 5, padding=2),
        torch.nn.ReLU(),
        torch.nn.MaxPool1d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 15, 3),
    ).eval()


@pytest.mark.parametrize("name", ["deepshap", "deeplift", "ig", "grad_x_input"])
def test_hypothetical_projects_onto_the_default_map(name):
    model, g = _toy(), torch.Generator().manual_seed(2)
    X = one_hot(torch.randint(0, 4, (5, 30), generator=g))
    target, mask = torch.arange(5) % 3, torch.ones(5, 30, dtype=torch.bool)
    method = METHODS.get(name)
    opts = {
        "deepshap": {"references": "dinucleotide_shuffle", "n_background": 4},
        "deeplift": {"baseline": "dinucleotide_shuffle"},
        "ig": {"baseline": "dinucleotide_shuffle", "n_steps": 16},
    }.get(name, {})
    kw = {**method.defaults, **opts}
    default = method(model, X, target, mask, generator=torch.Generator().manual_seed(5), **kw)
    hyp = method(
        model, X, target, mask, generator=torch.Generator().manual_seed(5), hypothetical=True, **kw
    )
    assert torch.allclose((hyp * X).sum(1), default.sum(1), atol=1e-5)
    assert bool(((hyp * (1 - X)).abs() > 0).any())  # unobserved letters carry scores


def test_reference_functions_draw_the_shuffles_from_the_generator():
    X = one_hot(torch.randint(0, 4, (2, 30), generator=torch.Generator().manual_seed(4)))
    ref = METHODS.get("deepshap").reference(
        X, None, torch.Generator().manual_seed(1), references="dinucleotide_shuffle", n_background=3
    )
    assert torch.equal(ref, dinucleotide_shuffle(X, 3, torch.Generator().manual_seed(1)))
    ref = METHODS.get("ig").reference(
        X, None, torch.Generator().manual_seed(1), baseline="dinucleotide_shuffle"
    )
    assert torch.equal(ref, dinucleotide_shuffle(X, 1, torch.Generator().manual_seed(1))[:, 0])


# --------------------------------------------------------------------------- tangermeme


@pytest.fixture(scope="module", params=["utr5", "promoter"])
def shipped(request):
    task = TASKS.get(request.param)
    model = load_model(task, "cnn").eval()
    X = task.data("test").X[:6].float()
    return model, X


def test_deepshap_with_shuffled_references_equals_tangermeme(shipped):
    dls = pytest.importorskip("tangermeme.deep_lift_shap")
    model, X = shipped
    refs = dinucleotide_shuffle(X, 8, torch.Generator().manual_seed(0))
    target, mask = (
        torch.ones(len(X), dtype=torch.long),
        torch.ones(len(X), X.shape[2], dtype=torch.bool),
    )
    deepshap = METHODS.get("deepshap")
    for hyp in (True, False):
        theirs = dls.deep_lift_shap(
            model, X, target=1, references=refs, hypothetical=hyp, device="cpu", batch_size=64
        )
        ours = deepshap(model, X, target, mask, baseline=refs, hypothetical=True)
        if not hyp:  # tangermeme's projection: the hypothetical map times the one-hot
            ours = ours * X
        assert torch.allclose(ours, theirs.float(), atol=1e-5), float((ours - theirs).abs().max())
    # our default map m * (X - x0) differs by letter but has the same column sums
    default = deepshap(model, X, target, mask, baseline=refs)
    assert torch.allclose(default.sum(1), theirs.sum(1).float(), atol=1e-5)


def test_ism_equals_tangermeme_saturation_mutagenesis(shipped):
    sm = pytest.importorskip("tangermeme.saturation_mutagenesis")
    model, X = shipped
    target, mask = (
        torch.ones(len(X), dtype=torch.long),
        torch.ones(len(X), X.shape[2], dtype=torch.bool),
    )
    theirs = sm.saturation_mutagenesis(
        model, X, device="cpu", batch_size=64, target=1, hypothetical=True, raw_outputs=False
    )
    ours = METHODS.get("ism")(model, X, target, mask)
    # ours: d - mean_b d over the letters of each position; tangermeme: the same centring
    assert torch.allclose(ours, theirs.float(), atol=1e-5), float((ours - theirs).abs().max())


@pytest.mark.parametrize("heatmap", [False, True])
def test_explain_draws_the_hypothetical_map(tmp_path, heatmap):
    from attrbench.reporting.explain import explain, prepare, task_sequence

    setup = prepare("utr5")
    ds = task_sequence(setup.task, setup.task.data("test").ids[0])
    out = explain(
        setup, ds, ["deepshap", "ism"], tmp_path / "h.png", heatmap=heatmap, hypothetical=True
    )
    assert out.stat().st_size > 1000
