"""Scrambler masks: sampler, conservation, a toy model with known important positions, fit cache, n/a."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from attrbench.core.data import Background, Dataset
from attrbench.core.plugin import METHODS, NotApplicable
from attrbench.running.fits import fits_dir
from attrbench.running.results import ResultStore
from attrbench.running.runner import RunConfig, run
from attrbench.testing import random_onehot
from attrbench_methods.scrambler import INCLUSION_DEFAULTS, fit_inclusion, scrambler_inclusion
from attrbench_methods.scrambler.network import ScramblerNet, segment_scores
from attrbench_methods.scrambler.sampling import conservation_bits, pssm, sample_st_gumbel

torch.set_num_threads(1)
UNIFORM = Background(torch.full((4,), 0.25))


def test_gumbel_samples_are_one_hot_and_unbiased():
    probs = torch.tensor([[0.7, 0.1, 0.25], [0.1, 0.2, 0.25], [0.1, 0.3, 0.25], [0.1, 0.4, 0.25]])
    logits = probs.log()[None].repeat(2, 1, 1)  # (2, 4, 3)
    mask = torch.tensor([[True, True, True], [True, True, False]])
    S = 20_000
    samples = sample_st_gumbel(logits, mask, S, torch.Generator().manual_seed(0))
    assert samples.shape == (2, S, 4, 3)
    real = samples[:, :, :, :][mask[:, None, None, :].expand_as(samples)].reshape(-1)
    assert set(real.unique().tolist()) <= {0.0, 1.0}
    col_sums = samples.sum(2)  # (2, S, 3)
    assert (col_sums[0] == 1).all() and (col_sums[1, :, :2] == 1).all()
    assert (samples[1, :, :, 2] == 0).all(), "padding columns stay zero"
    freq = samples[0].mean(0)
    # 4 binomial standard deviations of a mean of S draws
    torch.testing.assert_close(freq, probs, rtol=0, atol=4 * (0.25 / S) ** 0.5)


def test_gumbel_gradient_flows_to_logits():
    logits = torch.zeros(1, 4, 2, requires_grad=True)
    w = torch.arange(4.0)[None, None, :, None]
    out = (
        sample_st_gumbel(
            logits, torch.ones(1, 2, dtype=torch.bool), 8, torch.Generator().manual_seed(1)
        )
        * w
    ).sum()
    (grad,) = torch.autograd.grad(out, logits)
    assert grad.abs().sum() > 0


def test_conservation_equals_bits_of_a_hand_made_pssm():
    # columns: one-hot (2 bits), two letters at 1/2 (1 bit), uniform (0 bits), padding
    probs = torch.tensor(
        [
            [
                [1.0, 0.5, 0.25, 0.0],
                [0.0, 0.5, 0.25, 0.0],
                [0.0, 0.0, 0.25, 0.0],
                [0.0, 0.0, 0.25, 0.0],
            ]
        ]
    )
    mask = torch.tensor([[True, True, True, False]])
    bits = conservation_bits(probs, UNIFORM.probs_for(4), mask)
    torch.testing.assert_close(bits, torch.tensor([1.0]), rtol=0, atol=1e-5)
    # against a non-uniform background: KL([1, 0, 0, 0] || [1/2, 1/6, 1/6, 1/6]) = 1 bit
    bg = torch.tensor([0.5, 1 / 6, 1 / 6, 1 / 6])[:, None].expand(4, 1)
    one = torch.tensor([[[1.0], [0.0], [0.0], [0.0]]])
    torch.testing.assert_close(
        conservation_bits(one, bg, mask[:, :1]), torch.tensor([1.0]), rtol=0, atol=1e-5
    )


def test_pssm_is_background_at_zero_score_and_input_at_high_score():
    X, mask = random_onehot(2, 6, seed=0, pad=2)
    from attrbench_methods.scrambler.sampling import pssm_logits

    log_bg = UNIFORM.probs_for(6).log()
    at_zero = pssm(pssm_logits(X, torch.zeros(2, 6), log_bg), mask)
    torch.testing.assert_close(at_zero, 0.25 * mask[:, None, :].float().expand_as(X))
    at_high = pssm(pssm_logits(X, torch.full((2, 6), 50.0), log_bg), mask)
    torch.testing.assert_close(at_high, X, atol=1e-6, rtol=0)
    occluded = pssm(pssm_logits(X, torch.full((2, 6), 1e6), log_bg, occlusion=True), mask)
    torch.testing.assert_close(occluded, at_zero, atol=1e-5, rtol=0)


class TwoPositions(nn.Module):
    """Class 1 iff A at position 3 and G at position 9 (logit margin 6), else class 0."""

    kind = "linear"

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        both = X[:, 0, 3] + X[:, 2, 9]
        return torch.stack([torch.zeros_like(both), 6.0 * (both - 1.5)], 1)


TOY_OPTIONS = {
    **INCLUSION_DEFAULTS,
    "steps": 300,
    "init_score": 0.693,
    "batch_size": 16,
    "n_samples": 8,
    "channels": 8,
    "dilations": (1, 2, 4),
    "blocks_per_group": 1,
    "lr": 3e-3,
    "t_bits": 0.25,
    "finetune_steps": 0,
}


def _toy_train(n: int = 256, seed: int = 0) -> Dataset:
    X, mask = random_onehot(n, 16, seed=seed)
    half = torch.arange(n) % 2 == 0  # half of them class 1
    X[half, :, 3], X[half, :, 9] = torch.eye(4)[0], torch.eye(4)[2]
    return Dataset(
        X=X, mask=mask, y=torch.zeros(n, dtype=torch.long), ids=[str(i) for i in range(n)]
    )


def test_inclusion_scrambler_ranks_the_two_deciding_positions_first():
    model = TwoPositions()
    state = fit_inclusion(
        model, _toy_train(), UNIFORM, torch.Generator().manual_seed(0), **TOY_OPTIONS
    )
    test = _toy_train(32, seed=1)
    attr = scrambler_inclusion(model, test.X, None, test.mask, state=state, **TOY_OPTIONS)
    top2 = (attr * test.X).sum(1).topk(2, 1).indices.sort(1).values
    assert (top2 == torch.tensor([3, 9])).all(1).float().mean() == 1.0, top2


def test_per_example_optimization_from_flat_scores_finds_the_two_positions():
    """Fine-tuning from a flat start (``finetune_init="flat"``) needs no trained network."""
    model = TwoPositions()
    state = fit_inclusion(
        model,
        _toy_train(),
        UNIFORM,
        torch.Generator().manual_seed(0),
        **{**TOY_OPTIONS, "steps": 1},
    )
    test = _toy_train(16, seed=1)
    opts = {
        **TOY_OPTIONS,
        "finetune_steps": 150,
        "finetune_lr": 0.1,
        "finetune_init": "flat",
        "min_score": 1.0,
    }
    attr = scrambler_inclusion(
        model,
        test.X,
        None,
        test.mask,
        state=state,
        generator=torch.Generator().manual_seed(0),
        **opts,
    )
    top2 = (attr * test.X).sum(1).topk(2, 1).indices.sort(1).values
    assert (top2 == torch.tensor([3, 9])).all(1).float().mean() == 1.0, top2


def test_fine_tuning_starts_above_min_score_so_every_position_can_rise():
    """A network score of ~0 (a dead softplus) starts at ``min_score``; with zero steps the
    network's own scores come back unchanged."""
    model = TwoPositions()
    state = fit_inclusion(
        model,
        _toy_train(),
        UNIFORM,
        torch.Generator().manual_seed(0),
        **{**TOY_OPTIONS, "steps": 1, "init_score": 1e-3},
    )
    test = _toy_train(4, seed=1)
    plain = scrambler_inclusion(model, test.X, None, test.mask, state=state, **TOY_OPTIONS)
    assert float(plain.sum(1).max()) < 0.5  # every network score below min_score
    tuned = scrambler_inclusion(
        model,
        test.X,
        None,
        test.mask,
        state=state,
        **{**TOY_OPTIONS, "finetune_steps": 1, "finetune_lr": 1e-6, "min_score": 0.5},
    )
    torch.testing.assert_close(tuned.sum(1), torch.full((4, 16), 0.5), atol=1e-4, rtol=0)


def test_junction_cut_makes_the_two_halves_independent():
    net = ScramblerNet(4, channels=4, dilations=(1, 2), blocks_per_group=1).eval()
    X, mask = random_onehot(1, 20, seed=0)
    base = segment_scores(net, X, mask, junction=10)
    X2 = X.clone()
    X2[:, :, 9] = X2[:, :, 9].roll(1, 1)  # change the last letter of the head
    changed = segment_scores(net, X2, mask, junction=10)
    torch.testing.assert_close(changed[:, 10:], base[:, 10:], rtol=0, atol=0)
    whole = segment_scores(net, X2, mask, junction=None)
    assert not torch.equal(whole[:, 10:], segment_scores(net, X, mask, None)[:, 10:])


class TokenModel(nn.Module):
    """Reads letters through a token lookup: not drivable by a relaxed one-hot."""

    kind = "token"

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(4, 2)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.embedding(X.argmax(1)).mean(1)


class ArgmaxModel(nn.Module):
    """Counts letters after an argmax: its output does not depend differentiably on X."""

    kind = "counter"

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(4, 2))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        counts = nn.functional.one_hot(X.argmax(1), 4).float().sum(1)
        return counts @ self.w


def test_not_applicable_on_models_it_cannot_drive():
    method = METHODS.get("scrambler_inclusion")
    assert "tokens" in method.why_not(TokenModel())
    assert method.why_not(ArgmaxModel()) is None  # found by fit's probe
    with pytest.raises(NotApplicable, match="differentiabl"):
        fit_inclusion(
            ArgmaxModel(),
            _toy_train(8),
            UNIFORM,
            torch.Generator().manual_seed(0),
            **{**TOY_OPTIONS, "steps": 1},
        )


def test_fit_cache_is_reused_and_invalidated_by_a_new_checkpoint(tmp_path, capsys):
    shipped = Path(__file__).parents[1] / "tasks" / "checkpoints" / "utr5" / "cnn.pt"
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    shutil.copy(shipped, ckpt / "cnn.pt")
    tiny = {"steps": 2, "batch_size": 4, "n_samples": 2, "channels": 4, "blocks_per_group": 1}
    store = ResultStore(tmp_path / "r")

    def go(metric: str) -> str:
        config = RunConfig(
            task="utr5",
            methods=["scrambler_inclusion"],
            metrics=[metric],
            n=4,
            device="cpu",
            progress=False,
            checkpoint_dir=ckpt,
            method_options={"scrambler_inclusion": tiny},
        )
        records = run(config, store)
        assert {r.status for r in records if r.key.metric == metric} == {"ok"}
        return capsys.readouterr().err

    fits = fits_dir()
    assert "fitted scrambler_inclusion" in go("motif_recall")
    assert "fitted scrambler_inclusion" not in go("motif_auroc"), "second run reuses the fit"
    assert len(list(fits.rglob("*.pt"))) == 1
    tiny["finetune_steps"] = 1  # an explain-only option (Method.fit_ignores): same fit
    assert "fitted scrambler_inclusion" not in go("inclusion_kl"), "fine-tuning reuses the fit"
    assert len(list(fits.rglob("*.pt"))) == 1
    checkpoint = torch.load(ckpt / "cnn.pt", weights_only=True)
    first = next(iter(checkpoint["state_dict"]))
    checkpoint["state_dict"][first] = checkpoint["state_dict"][first] * 1.01
    torch.save(checkpoint, ckpt / "cnn.pt")
    assert "fitted scrambler_inclusion" in go("motif_auprc"), "a changed checkpoint retrains"
    assert len(list(fits.rglob("*.pt"))) == 2
