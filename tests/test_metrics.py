"""Known-answer tests of the shared metrics (attrbench.metrics).

Every expected value is computed by hand in the comments (or, for AUROC and
average precision on random vectors, by scikit-learn).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from attrbench.core.data import Background, Dataset, GroundTruth, Motif
from attrbench.core.plugin import METRICS, Explanation, Method, NotApplicable
from attrbench.metrics._common import n_top, top_k_mask
from attrbench.metrics.completeness import COMPLETENESS_TOLERANCE, completeness
from attrbench.metrics.motif import (
    logic_accuracy,
    motif_auprc,
    motif_auroc,
    motif_importance,
    motif_recall,
)
from attrbench.metrics.perturbation import inclusion_kl, occlusion_kl
from attrbench.metrics.shift import shift_invariance
from attrbench.testing import random_onehot

NAN = math.nan
UNIFORM = Background(torch.full((4,), 0.25))


def make_ex(
    X: torch.Tensor,
    mask: torch.Tensor,
    *,
    scores: torch.Tensor | None = None,
    attributions: torch.Tensor | None = None,
    model: nn.Module | None = None,
    explain=None,
    gt: GroundTruth | None = None,
    background: Background = UNIFORM,
    baseline: torch.Tensor | None = None,
    target: torch.Tensor | None = None,
    y: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
) -> Explanation:
    """An Explanation built by hand. ``scores`` (N, L) makes a position-level method
    whose position scores are exactly ``scores``, padding included."""
    N, A, L = X.shape
    if scores is not None:
        attributions = scores[:, None, :].expand(N, A, L).clone()
    target = torch.zeros(N, dtype=torch.long) if target is None else target
    y = target if y is None else y
    dev = torch.device(device)
    method = Method("toy", lambda *a, **k: None, complete=True, position_level=scores is not None)
    return Explanation(
        X=X.to(dev),
        mask=mask.to(dev),
        y=y.to(dev),
        target=target.to(dev),
        attributions=attributions.to(dev),
        model=None if model is None else model.to(dev).eval(),
        explain=explain,
        method=method,
        background=background,
        generator=torch.Generator().manual_seed(0),
        dataset=Dataset(X, mask, y, [f"s{i}" for i in range(N)]),
        ground_truth=gt,
        baseline=None if baseline is None else baseline.to(dev),
        device=dev,
    )


def assert_values(actual: torch.Tensor, expected, atol: float = 1e-12) -> None:
    expected = torch.tensor(expected, dtype=torch.float64)
    torch.testing.assert_close(actual.double().cpu(), expected, rtol=0, atol=atol, equal_nan=True)


# --------------------------------------------------------------------------- helpers


def test_top_k_breaks_ties_by_lower_position_and_skips_padding():
    scores = torch.tensor([[1.0, 3, 3, 2, 3, 9]])
    mask = torch.tensor([[True, True, True, True, True, False]])
    top = top_k_mask(scores, mask, torch.tensor([2]))
    assert top.tolist() == [[False, True, True, False, False, False]]
    top = top_k_mask(scores, mask, torch.tensor([9]))  # k > n_real: all real, no padding
    assert top.tolist() == [[True, True, True, True, True, False]]


def test_n_top_is_robust_to_round_off():
    # 0.1 * 30 = 3.0000000000000004 in floating point; ceil must still give 3
    assert n_top(0.1, torch.tensor([30, 15, 1, 0])).tolist() == [3, 2, 1, 0]
    assert n_top(0.02, torch.tensor([50, 51])).tolist() == [1, 2]


# --------------------------------------------------------------------------- motif recall / logic

L12 = 12


def _motif_case():
    """Six hand-written sequences of length 12; sequence 2 has 4 padding positions."""
    X, mask = random_onehot(6, L12, seed=1)
    X[2, :, 8:] = 0
    mask[2, 8:] = False
    S, T = "start", "stop"
    scores = torch.tensor(
        [
            # start 2:5, stop 7:10, K=6 -> top {2,3,7,10,11,4}: start whole, stop partial
            [0, 0, 5, 5, 1, 0, 0, 4, 0, 0, 3, 3],
            # start 1:4, stop 8:11, K=6 -> {1,2,3} then ties at 1 -> lower positions 5,6,7; 8 missed
            [0, 2, 2, 2, 0, 1, 1, 1, 1, 0, 0, 0],
            # real 0:8, start 0:3, stop 4:7; padding holds 100 and must be ignored;
            # top {0,1,2,4,5} then the tie at 0 -> 3: start whole, stop partial
            [3, 3, 3, 0, 2, 2, -1, 0, 100, 100, 100, 100],
            # start 0:3, stop 5:8 exactly on top: logic 1
            [1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0],
            # no motif: NaN
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            # two starts 0:3, 4:7 and one stop 9:12, K=9 -> {0,1,2,9,10,11} + zeros at 3,7,8;
            # the second start (scores -1) is missed
            [3, 3, 3, 0, -1, -1, -1, 0, 0, 2, 2, 2],
        ],
        dtype=torch.float32,
    )
    gt = GroundTruth(
        [
            [Motif(S, 2, 5), Motif(T, 7, 10)],
            [Motif(S, 1, 4), Motif(T, 8, 11)],
            [Motif(S, 0, 3), Motif(T, 4, 7)],
            [Motif(S, 0, 3), Motif(T, 5, 8)],
            [],
            [Motif(S, 0, 3), Motif(S, 4, 7), Motif(T, 9, 12)],
        ]
    )
    return X, mask, scores, gt


def test_motif_recall_known_values(device):
    X, mask, scores, gt = _motif_case()
    ex = make_ex(X, mask, scores=scores, gt=gt, device=device)
    # the paper's definition with the utr5 K = 6: the top 6 hold a whole start and a whole stop codon
    assert_values(motif_recall(ex, k=6), [0, 0, 0, 1, NAN, 1])
    assert_values(motif_recall(ex, k=6, kind="start"), [1, 1, 1, 1, NAN, 1])
    assert_values(motif_recall(ex, k=6, kind="stop"), [0, 0, 0, 1, NAN, 1])
    assert_values(motif_recall(ex, k=6, kind="tata"), [NAN] * 6)
    lenient = {"definition": "lenient", "k": None}
    assert_values(motif_recall(ex, **lenient), [1, 0.5, 1, 1, NAN, 2 / 3])
    assert_values(motif_recall(ex, **lenient, kind="start"), [1, 1, 1, 1, NAN, 0.5])
    assert_values(motif_recall(ex, **lenient, kind="stop"), [1, 0, 1, 1, NAN, 1])
    assert_values(motif_recall(ex, **lenient, kind="tata"), [NAN] * 6)
    # k=3: sequence 0 keeps {2, 3, 7}: both motifs touched; sequence 1 keeps {1,2,3}
    assert_values(motif_recall(ex, definition="lenient", k=3)[:2], [1, 0.5])
    with pytest.raises(ValueError, match="definition"):
        motif_recall(ex, definition="strict")


def test_motif_recall_paper_definition_on_hand_examples():
    """Whole start + whole stop among the top 6 -> 1; a codon cut by the top 6 -> 0."""
    X, mask = random_onehot(3, L12, seed=2)
    gt = GroundTruth([[Motif("start", 1, 4), Motif("stop", 7, 10)]] * 3)
    scores = torch.tensor(
        [
            [0, 9, 9, 9, 0, 0, 0, 8, 8, 8, 0, 0],  # both whole: 1
            [0, 9, 9, 9, 7, 0, 0, 8, 8, 0, 0, 0],  # stop 7:10 has 2 of 3 in the top 6: 0
            [0, 9, 9, 0, 0, 0, 0, 8, 8, 0, 7, 7],  # letters of both codons, neither whole: 0
        ],
        dtype=torch.float32,
    )
    ex = make_ex(X, mask, scores=scores, gt=gt)
    assert_values(motif_recall(ex, k=6), [1, 0, 0])
    assert_values(motif_recall(ex, k=6, definition="lenient"), [1, 1, 1])


def test_motif_recall_other_kinds():
    """A protein's one C-terminal signal (kind "er") must be whole among the top 6."""
    X, mask = random_onehot(2, L12, seed=3)
    mask[1, 10:] = False
    X[1, :, 10:] = 0
    gt = GroundTruth([[Motif("er", 8, 12)], [Motif("pts1", 7, 10)]])
    scores = torch.tensor(
        [
            [5, 5, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4],
            [5, 5, 5, 5, 0, 0, 0, 4, 4, 0, 9, 9],  # padding (9) is never ranked; 9 not in top 6
        ],
        dtype=torch.float32,
    )
    ex = make_ex(X, mask, scores=scores, gt=gt)
    assert_values(motif_recall(ex, k=6), [1, 0])
    # default K = truth length (4 and 3): top 4 of row 0 are 0, 1, 8, 9; top 3 of row 1 are 0-2
    assert_values(motif_recall(ex), [0, 0])


def test_logic_accuracy_known_values(device):
    X, mask, scores, gt = _motif_case()
    ex = make_ex(X, mask, scores=scores, gt=gt, device=device)
    assert_values(logic_accuracy(ex), [0, 0, 0, 1, NAN, 1])
    # K=7 for sequence 0 adds position 0 (tie at 0, lowest position): stop still partial
    assert_values(logic_accuracy(ex, k=7)[:1], [0])


def test_motif_ranking_by_absolute_value():
    X, mask, scores, gt = _motif_case()
    flipped = make_ex(X[:1], mask[:1], scores=-scores[:1], gt=GroundTruth(gt.motifs[:1]))
    lenient = {"definition": "lenient", "k": None}
    assert_values(motif_recall(flipped, **lenient), [0.5])  # signed: the top 6 avoid both cores
    assert_values(motif_recall(flipped, **lenient, absolute=True), [1])
    assert_values(logic_accuracy(flipped, absolute=True), [0])


def test_motif_metrics_do_not_modify_inputs():
    X, mask, scores, gt = _motif_case()
    ex = make_ex(X, mask, scores=scores, gt=gt)
    before = [t.clone() for t in (ex.X, ex.mask, ex.attributions)]
    for fn in (motif_recall, logic_accuracy, motif_auroc, motif_auprc, motif_importance):
        fn(ex)
    for t, t0 in zip((ex.X, ex.mask, ex.attributions), before, strict=True):
        assert torch.equal(t, t0)


def test_motif_metrics_need_ground_truth():
    X, mask, scores, _ = _motif_case()
    with pytest.raises(NotApplicable):
        motif_recall(make_ex(X, mask, scores=scores))


# --------------------------------------------------------------------------- AUROC / AP


def test_auroc_auprc_hand_computed(device):
    X, mask = random_onehot(3, 6, pad=1, seed=2)
    scores = torch.tensor(
        [
            [0.9, 0.8, 0.8, 0.3, 0.1, 100.0],  # positives 0 and 2; position 5 is padding
            [0.5, 0.4, 0.3, 0.2, 0.1, 100.0],  # every real position positive: NaN
            [0.5, 0.4, 0.3, 0.2, 0.1, 100.0],  # no motif: NaN
        ]
    )
    gt = GroundTruth([[Motif("m", 0, 1), Motif("m", 2, 3)], [Motif("m", 0, 5)], []])
    ex = make_ex(X, mask, scores=scores, gt=gt, device=device)
    # AUROC: pairs (pos, neg): 0.9 beats 3 negatives, 0.8 ties 0.8 (1/2) and beats 2 -> 5.5 / 6
    assert_values(motif_auroc(ex), [11 / 12, NAN, NAN])
    # AP: threshold 0.9 -> P=1, R=1/2; threshold 0.8 -> P=2/3, R=1: 1/2 * 1 + 1/2 * 2/3
    assert_values(motif_auprc(ex), [5 / 6, NAN, NAN])


def test_auroc_auprc_match_sklearn_on_random_vectors():
    sk = pytest.importorskip("sklearn.metrics")
    g = torch.Generator().manual_seed(5)
    N, L = 25, 40
    X, mask = random_onehot(N, L, seed=4)
    n_real = torch.randint(10, L + 1, (N,), generator=g)
    for i, n in enumerate(n_real.tolist()):
        X[i, :, n:] = 0
        mask[i, n:] = False
    # integer scores in 0..7 make many ties
    scores = torch.randint(0, 8, (N, L), generator=g).float()
    labels = (torch.rand(N, L, generator=g) < 0.3) & mask
    labels[:, 0] = True
    labels[:, 1] = False
    gt = GroundTruth(
        [[Motif("m", p, p + 1) for p in torch.nonzero(row).flatten().tolist()] for row in labels]
    )
    ex = make_ex(X, mask, scores=scores, gt=gt)
    auroc, ap = motif_auroc(ex), motif_auprc(ex)
    for i in range(N):
        yt, ys = labels[i, mask[i]].numpy(), scores[i, mask[i]].numpy()
        assert auroc[i].item() == pytest.approx(sk.roc_auc_score(yt, ys), abs=1e-12)
        assert ap[i].item() == pytest.approx(sk.average_precision_score(yt, ys), abs=1e-12)


# --------------------------------------------------------------------------- importance


def test_motif_importance_known_values(device):
    X, mask = random_onehot(3, 8, pad=2, seed=6)
    # real scores [4, 4, 0, 0, 2, 2]: mean 2, population variance 16/6 = 8/3
    row = [4.0, 4, 0, 0, 2, 2, 50, 50]
    scores = torch.tensor([row, row, [1.0] * 6 + [50, 50]])
    both = [Motif("start", 0, 2), Motif("stop", 2, 3)]
    gt = GroundTruth([both, [], both])
    ex = make_ex(X, mask, scores=scores, gt=gt, device=device)
    # all motifs: positions 0,1,2 -> 8/3; background 3,4,5 -> 4/3
    raw = motif_importance(ex, normalize=False)
    assert_values(raw, [[4 / 3, 8 / 3, 4 / 3], [NAN] * 3, [0, 1, 1]])
    # start only: positions 0,1 -> 4; the background still excludes the stop codon
    assert_values(motif_importance(ex, kind="start", normalize=False)[0], [8 / 3, 4, 4 / 3])
    sd = math.sqrt(8 / 3)
    out = motif_importance(ex)
    assert_values(out[0], [4 / 3 / sd, 8 / 3 / sd, 4 / 3 / sd])
    assert torch.isnan(out[1:]).all()  # no motif; constant map
    assert METRICS.get("motif_importance").columns == ("motif_vs_background", "motif", "background")


# --------------------------------------------------------------------------- inclusion / occlusion

J = 5  # the only position the model reads


class OnePosition(nn.Module):
    """logits = W[:, letter at position J]: W[:, G] = 0 (uniform), W[:, A] = (ln 2, 0, 0)."""

    def __init__(self):
        super().__init__()
        W = torch.zeros(3, 4)
        W[0, 0] = math.log(2.0)
        self.register_buffer("W", W)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X[:, :, J] @ self.W.T


# KL((1/3, 1/3, 1/3) || (1/2, 1/4, 1/4)) = 1/3 [ln(2/3) + 2 ln(4/3)] = ln(32/27) / 3
KL_G_TO_A = math.log(32 / 27) / 3


def _perturbation_case(device):
    X, mask = random_onehot(3, 20, seed=7)
    X[:, :, J] = torch.tensor([0.0, 0, 1, 0])[None, :]  # G at position J in every sequence
    X[1:, :, 15:] = 0
    mask[1:, 15:] = False  # 15 real positions: k = 3, 2, 1, 1 for q = .2, .1, .05, .02
    scores = torch.rand(3, 20, generator=torch.Generator().manual_seed(1))  # in [0, 1)
    scores[0, J] = 10.0  # J ranks first
    scores[1, J] = -1.0  # J ranks last
    scores[2, J], scores[2, 0] = 5.0, 6.0  # J ranks second among real positions
    scores[1:, 15:] = 1000.0  # padding must never be ranked
    point_mass = Background(torch.tensor([1.0, 0, 0, 0]))  # resampled letters are all A
    return make_ex(
        X, mask, scores=scores, model=OnePosition(), background=point_mass, device=device
    )


def test_inclusion_kl_known_values(device):
    ex = _perturbation_case(device)
    v = KL_G_TO_A
    expected = [
        [0, 0, 0, 0, 0],  # J kept at every q: identical predictions, KL exactly 0
        [v, v, v, v, v],  # J never kept
        [v / 2, 0, 0, v, v],  # J kept while k >= 2
    ]
    # the model computes in float32: ln 2 is exact to ~1e-8
    assert_values(inclusion_kl(ex, n_samples=4), expected, atol=1e-7)
    assert_values(inclusion_kl(ex, n_samples=3, batch_size=1), expected, atol=1e-7)
    assert inclusion_kl(ex)[0].eq(0).all()  # exactly 0, not just close
    assert METRICS.get("inclusion_kl").columns == ("mean", "q20", "q10", "q5", "q2")


def test_occlusion_kl_known_values(device):
    ex = _perturbation_case(device)
    v = KL_G_TO_A
    expected = [[v, v, v, v, v], [0, 0, 0, 0, 0], [v / 2, v, v, 0, 0]]
    assert_values(occlusion_kl(ex, n_samples=4), expected, atol=1e-7)


def test_perturbation_does_not_modify_inputs_and_checks_fractions():
    ex = _perturbation_case("cpu")
    X0, a0 = ex.X.clone(), ex.attributions.clone()
    occlusion_kl(ex, n_samples=2)
    assert torch.equal(ex.X, X0) and torch.equal(ex.attributions, a0)
    with pytest.raises(ValueError, match="4 fractions"):
        inclusion_kl(ex, fractions=(0.5,))


# --------------------------------------------------------------------------- shift invariance

LETTER_VALUE = torch.tensor([1.0, 2.0, 3.0, 4.0])


def _letter_explain(X, target, mask):
    """Shift-equivariant: the score of a position depends only on its letter."""
    return X * LETTER_VALUE.to(X)[None, :, None]


def _alternating_explain(X, target, mask):
    """Depends on absolute position only: position score (-1)^l on real positions."""
    sign = (-1.0) ** torch.arange(X.shape[2], device=X.device)
    return X * sign[None, None, :]


def _shift_case(explain, device, calls=None):
    X, mask = random_onehot(4, 16, seed=9)
    for i, pad in enumerate([0, 2, 4, 6]):  # even real lengths 16, 14, 12, 10
        if pad:
            X[i, :, -pad:] = 0
            mask[i, -pad:] = False

    def counted(x, t, m):
        if calls is not None:
            calls.append(len(x))
        return explain(x, t, m)

    target = torch.zeros(4, dtype=torch.long)
    attr = explain(X, target, mask)
    return make_ex(X, mask, attributions=attr, explain=counted, target=target, device=device)


@pytest.mark.parametrize("circular", [False, True])
def test_shift_invariance_is_one_for_an_equivariant_map(device, circular):
    calls = []
    ex = _shift_case(_letter_explain, device, calls)
    assert_values(shift_invariance(ex, circular=circular), [1.0] * 4)
    assert calls == [16]  # one explain call: 4 sequences x 4 shifts


@pytest.mark.parametrize("circular", [False, True])
def test_shift_invariance_of_a_position_dependent_map(device, circular):
    ex = _shift_case(_alternating_explain, device)
    # shifted back by s the map is (-1)^s times the original: correlations -1, +1 for
    # |s| = 1, 2; mean over s = -2, -1, 1, 2 is (1 - 1 - 1 + 1) / 4 = 0
    assert_values(shift_invariance(ex, circular=circular), [0.0] * 4)
    assert_values(shift_invariance(ex, n_shift=1, circular=circular), [-1.0] * 4)


def test_shift_invariance_of_a_quadratic_position_map():
    X, mask = random_onehot(1, 12, seed=3)
    X[:, :, 10:] = 0
    mask[:, 10:] = False

    def explain(x, t, m):
        return x * (torch.arange(12.0) ** 2)[None, None, :]

    ex = make_ex(X, mask, attributions=explain(X, None, mask), explain=explain)
    # the map r^2 on real positions 0..9, shifted back by s, is (r + s)^2 on the overlap
    r = np.arange(10.0)
    expected = np.mean(
        [
            np.corrcoef(
                (r + s)[max(0, -s) : 10 - max(0, s)] ** 2, r[max(0, -s) : 10 - max(0, s)] ** 2
            )[0, 1]
            for s in (-2, -1, 1, 2)
        ]
    )
    assert expected < 0.999
    assert_values(shift_invariance(ex), [expected])


def test_shift_invariance_nan_for_constant_map_and_inputs_untouched():
    ex = _shift_case(lambda x, t, m: torch.zeros_like(x), "cpu")
    X0 = ex.X.clone()
    assert torch.isnan(shift_invariance(ex)).all()
    assert torch.equal(ex.X, X0)


# --------------------------------------------------------------------------- completeness


class Counter(nn.Module):
    """f_0(x) = number of real letters + 1 (bias); f_1(x) = 0."""

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        f0 = X.sum((1, 2)) + 1.0
        return torch.stack([f0, torch.zeros_like(f0)], 1)


def _completeness_case():
    X, mask = random_onehot(2, 5, seed=11)
    X[1, :, 3:] = 0
    mask[1, 3:] = False
    return X, mask


def test_completeness_exact_and_wrong_attributions(device):
    X, mask = _completeness_case()
    baseline = torch.zeros_like(X)
    # f_0(x) - f_0(0) = n_real: 5 and 3; the exact attribution is X itself
    exact = make_ex(
        X, mask, attributions=X.clone(), model=Counter(), baseline=baseline, device=device
    )
    assert_values(completeness(exact), [0.0, 0.0])
    wrong = X * torch.tensor([2.0, 0.5])[:, None, None]  # sums 10 and 1.5
    wrong[:, :, -1] += 1e6 * (~mask[:, -1]).float()[:, None]  # padding must be ignored
    ex = make_ex(X, mask, attributions=wrong, model=Counter(), baseline=baseline, device=device)
    assert_values(completeness(ex), [abs(10 - 5) / 5, abs(1.5 - 3) / 3])


def test_completeness_with_a_set_of_baselines(device):
    X, mask = _completeness_case()
    # B = 2 baselines per sequence: all zero and X itself -> mean f_0 = (1 + n_real + 1) / 2
    base = torch.stack([torch.zeros_like(X), X], 1)
    half = X * 0.5  # sums n_real / 2 = f_0(x) - mean f_0(baselines)
    ex = make_ex(X, mask, attributions=half, model=Counter(), baseline=base, device=device)
    assert_values(completeness(ex), [0.0, 0.0])
    ex = make_ex(X, mask, attributions=X.clone(), model=Counter(), baseline=base, device=device)
    assert_values(completeness(ex), [1.0, 1.0])  # |n - n/2| / (n/2)


def test_completeness_on_the_linear_toy_model():
    from attrbench.testing import Linear

    model = Linear().eval()
    X, mask = random_onehot(4, pad=3, seed=12)
    target = torch.tensor([0, 1, 2, 1])
    baseline = torch.full_like(X, 0.25) * mask[:, None, :]
    W = model.weight.detach()[target]  # IG on a linear model: W_t * (x - x') exactly
    ex = make_ex(
        X, mask, attributions=W * (X - baseline), model=model, baseline=baseline, target=target
    )
    X0 = X.clone()
    torch.testing.assert_close(
        completeness(ex), torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-5
    )
    assert torch.equal(ex.X, X0)


def test_completeness_needs_a_baseline_and_declares_its_tolerance():
    X, mask = _completeness_case()
    with pytest.raises(NotApplicable, match="baseline"):
        completeness(make_ex(X, mask, attributions=X, model=Counter()))
    record = METRICS.get("completeness")
    assert record.invalid_above == COMPLETENESS_TOLERANCE == 0.05
    assert record.only_complete and not record.higher_is_better


def test_registered_directions():
    lower = {"inclusion_kl", "completeness"}
    for name in (
        "motif_recall",
        "logic_accuracy",
        "motif_auroc",
        "motif_auprc",
        "motif_importance",
        "inclusion_kl",
        "occlusion_kl",
        "shift_invariance",
        "completeness",
    ):
        assert METRICS.get(name).higher_is_better == (name not in lower), name
    assert METRICS.get("motif_recall").needs_ground_truth
