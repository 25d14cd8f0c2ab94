"""Training a scrambler on a task's training split, explaining with it, per-example fine-tuning.

The objective of seed 004 (the authors' ``Scrambler.train``): for a batch of
sequences, the PSSM of the scrambled input is sampled ``n_samples`` times with
straight-through Gumbel-softmax and fed to the frozen predictor;

* inclusion: ``KL(p(x) || p(x~)) + w (bits - t_bits)^2``, keep the prediction
  with a PSSM whose mean conservation (bits over the background, real
  positions only) is ``t_bits``;
* occlusion: ``-KL(p(x) || p(x~)) + w (bits - t_bits)^2`` with a high
  ``t_bits``: change the prediction while keeping most of the input.

``p`` is the predictor's softmax over all classes (the explained class does
not enter: a scrambler explains the whole predicted distribution).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from attrbench.core.data import Background, Dataset
from attrbench.core.plugin import NotApplicable

from .network import ScramblerNet, segment_scores
from .sampling import conservation_bits, pssm, pssm_logits, sample_st_gumbel

__all__ = ["NETWORK_KEYS", "fit_scrambler", "explain_scrambler", "why_not", "objective"]

#: Options that define the network (stored in the state).
NETWORK_KEYS = ("channels", "kernel", "dilations", "blocks_per_group")


def why_not(model: nn.Module) -> str | None:
    """The reason a scrambler cannot drive ``model``, or None.

    A model must take a relaxed one-hot X: one that reads letters through a
    token lookup (``model.embedding`` an ``nn.Embedding``) or declares
    ``relaxed_input = False`` cannot.
    """
    name = getattr(model, "zoo_name", type(model).__name__)
    if getattr(model, "relaxed_input", True) is False:
        return f"scramblers feed sampled relaxed one-hot inputs; {name} does not accept them"
    if isinstance(getattr(model, "embedding", None), nn.Embedding):
        return (
            f"scramblers need a model that reads one-hot X differentiably; {name} looks tokens up"
        )
    return None


@contextmanager
def frozen(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode without parameter gradients; both restored on exit."""
    flags = [p.requires_grad for p in model.parameters()]
    was_training = model.training
    model.eval().requires_grad_(False)
    try:
        yield model
    finally:
        for p, f in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(f)
        model.train(was_training)


def objective(
    model: nn.Module,
    X: torch.Tensor,
    mask: torch.Tensor,
    scores: torch.Tensor,
    background: torch.Tensor,
    generator: torch.Generator,
    occlusion: bool,
    t_bits: float,
    entropy_weight: float,
    n_samples: int,
    temperature: float,
) -> torch.Tensor:
    """Per-sequence scrambler loss (N,): signed prediction KL plus the conservation penalty.

    Parameters
    ----------
    model : nn.Module
        The frozen predictor.
    X : torch.Tensor, shape=(N, A, L)
    mask : torch.Tensor, shape=(N, L), bool
    scores : torch.Tensor, shape=(N, L)
    background : torch.Tensor, shape=(A, L)
        Background probabilities.

    Returns
    -------
    loss : torch.Tensor, shape=(N,)
    """
    with torch.no_grad():
        log_p = F.log_softmax(model(X), 1)
    logits = pssm_logits(X, scores, background.clamp_min(1e-7).log(), occlusion)
    samples = sample_st_gumbel(logits, mask, n_samples, generator, temperature)
    N, S, A, L = samples.shape
    log_q = F.log_softmax(model(samples.reshape(N * S, A, L)), 1).reshape(N, S, -1)
    kl = (log_p.exp()[:, None] * (log_p[:, None] - log_q)).sum(2).mean(1)
    bits = conservation_bits(pssm(logits, mask), background, mask)
    return (-kl if occlusion else kl) + entropy_weight * (bits - t_bits) ** 2


def _init(net: ScramblerNet, generator: torch.Generator, init_score: float) -> None:
    """Glorot-normal convolution weights (the authors' initializer) from ``generator``, zero biases.

    The output bias starts every score near ``init_score`` (softplus inverse):
    training starts from a PSSM that keeps most of the input and removes what
    the prediction does not need.
    """
    for module in net.modules():
        if isinstance(module, nn.Conv1d):
            fan_in = module.in_channels * module.kernel_size[0]
            fan_out = module.out_channels * module.kernel_size[0]
            std = math.sqrt(2.0 / (fan_in + fan_out))
            with torch.no_grad():
                module.weight.normal_(0.0, std, generator=generator)
                module.bias.zero_()
    with torch.no_grad():
        net.out.bias.fill_(init_score + math.log(-math.expm1(-init_score)))


def _junction(train: Dataset, junction: str | int | None) -> int | None:
    """``"auto"``: L // 2 if some training sequence is longer than L (``extra["length"]``), else None."""
    if junction != "auto":
        return None if junction is None else int(junction)
    lengths = train.extra.get("length") if train.extra else None
    L = train.length
    if lengths is not None and any(int(n) > L for n in lengths):
        return L // 2
    return None


def _probe(model: nn.Module, A: int, L: int) -> None:
    """Raise NotApplicable unless ``model`` passes gradients back to a relaxed one-hot input."""
    X = torch.full((1, A, L), 1.0 / A, requires_grad=True)
    try:
        out = model(X)
        (grad,) = torch.autograd.grad(out.sum(), X, allow_unused=True)
    except RuntimeError as err:
        raise NotApplicable(f"scramblers need a differentiable one-hot input: {err}") from err
    if grad is None or not torch.isfinite(grad).all() or not bool(grad.abs().sum() > 0):
        raise NotApplicable("scramblers need a model whose output depends differentiably on X")


def fit_scrambler(
    model: nn.Module,
    train: Dataset,
    background: Background,
    generator: torch.Generator,
    occlusion: bool,
    steps: int,
    batch_size: int,
    n_samples: int,
    lr: float,
    t_bits: float,
    entropy_weight: float,
    temperature: float,
    junction: str | int | None,
    init_score: float = 0.693,
    **network,
) -> dict:
    """Train a scrambler network on ``train`` against the frozen ``model``.

    ``**network`` takes the network's options (:data:`NETWORK_KEYS`); any other
    option (e.g. fine-tuning's, when a caller passes a method's whole defaults)
    does not enter the fit.

    Returns
    -------
    state : dict
        ``network`` (its options), ``state_dict``, ``occlusion``, ``junction``,
        ``background`` (A, L) and ``losses`` (the loss of every step).
    """
    device = next(iter(model.parameters()), torch.empty(0)).device
    A, L = train.n_letters, train.length
    net_options = {k: network[k] for k in NETWORK_KEYS if k in network}
    net = ScramblerNet(A, **net_options).to(device)
    _init(net, generator, init_score)
    cut = _junction(train, junction)
    bg = background.probs_for(L).float().to(device)
    optim = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.5, 0.9))
    losses = []
    with frozen(model):
        _probe(model, A, L)
        for _ in range(steps):
            idx = torch.randint(len(train), (batch_size,), generator=generator)
            X, mask = train.onehot(idx).to(device), (train.codes[idx] >= 0).to(device)
            scores = segment_scores(net, X, mask, cut)
            loss = objective(
                model,
                X,
                mask,
                scores,
                bg,
                generator,
                occlusion,
                t_bits,
                entropy_weight,
                n_samples,
                temperature,
            ).mean()
            optim.zero_grad()
            loss.backward()
            optim.step()
            losses.append(float(loss.detach()))
    state_dict = {k: v.cpu() for k, v in net.state_dict().items()}
    return {
        "network": net_options,
        "state_dict": state_dict,
        "occlusion": occlusion,
        "junction": cut,
        "background": bg.cpu(),
        "losses": losses,
    }


def load_network(state: dict, n_letters: int, device: torch.device) -> ScramblerNet:
    """The trained network of ``state``, in eval mode on ``device``."""
    net = ScramblerNet(n_letters, **state["network"])
    net.load_state_dict(state["state_dict"])
    return net.to(device).eval()


def explain_scrambler(
    model: nn.Module,
    X: torch.Tensor,
    mask: torch.Tensor,
    state: dict,
    generator: torch.Generator | None,
    finetune_steps: int = 0,
    finetune_lr: float = 0.01,
    t_bits: float = 0.125,
    entropy_weight: float = 10.0,
    n_samples: int = 32,
    temperature: float = 0.5,
    max_score: float = 4.0,
    min_score: float = 0.5,
    finetune_init: str = "network",
) -> torch.Tensor:
    """Importance scores (N, L) of a trained scrambler, optionally fine-tuned per example.

    Fine-tuning (the authors' ``Scrambler.finetune``) optimizes each sequence's
    scores directly with Adam (``finetune_lr``) on the training objective summed
    over sequences, so every sequence is optimized on its own. It starts from
    the network's scores clipped to ``[min_score, max_score]``
    (``finetune_init="network"``; the lower clip keeps every position's
    softplus gradient alive: at a score near 0 it vanishes and the position
    can never be chosen) or from the flat score ``min_score`` everywhere
    (``"flat"``: the paper's per-example optimization, Fig. S4H).
    """
    if finetune_init not in ("network", "flat"):
        raise ValueError(f"finetune_init must be 'network' or 'flat', got {finetune_init!r}")
    if state is None:
        raise ValueError("a scrambler explains with its fitted state (Method.fit); got none")
    net = load_network(state, X.shape[1], X.device)
    with torch.no_grad():
        scores = segment_scores(net, X, mask, state["junction"])
    if finetune_steps <= 0:
        return scores
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    bg = state["background"].to(X.device)[:, : X.shape[2]]
    s0 = (
        scores.clamp(min_score, max_score)
        if finetune_init == "network"
        else torch.full_like(scores, min_score)
    )
    raw = (s0 + torch.log(-torch.expm1(-s0))).clone().requires_grad_(True)  # inverse softplus
    optim = torch.optim.Adam([raw], lr=finetune_lr, betas=(0.5, 0.9))
    with frozen(model), torch.enable_grad():
        for _ in range(finetune_steps):
            s = F.softplus(raw) * mask.to(raw.dtype)
            loss = objective(
                model,
                X,
                mask,
                s,
                bg,
                gen,
                state["occlusion"],
                t_bits,
                entropy_weight,
                n_samples,
                temperature,
            ).sum()
            optim.zero_grad()
            loss.backward()
            optim.step()
    return (F.softplus(raw) * mask.to(raw.dtype)).detach()
