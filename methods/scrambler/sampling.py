"""PSSMs from importance scores, straight-through Gumbel-softmax sampling, conservation in bits.

The scrambling operation of seed 004: with importance scores ``s`` (N, L), the
one-hot input written as logits ``2 x - 1`` and the background ``p_bg``, the
PSSM of position ``i`` is ``softmax(s_i (2 x_i - 1) + log p_bg_i)`` (inclusion:
a large score keeps the input letter) or ``softmax((2 x_i - 1) / s_i + log p_bg_i)``
(occlusion: a large score hands the position to the background). Padding
columns (all zero in ``X``) get an all-zero PSSM column and all-zero samples.
"""

from __future__ import annotations

import math

import torch

__all__ = ["pssm_logits", "pssm", "sample_st_gumbel", "conservation_bits"]

_EPS = 1e-7


def pssm_logits(
    X: torch.Tensor, scores: torch.Tensor, log_background: torch.Tensor, occlusion: bool = False
) -> torch.Tensor:
    """Logits of the scrambled PSSM.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)
        One-hot; padding columns all zero.
    scores : torch.Tensor, shape=(N, L)
        Non-negative importance scores.
    log_background : torch.Tensor, shape=(A, L)
        Log background probabilities.
    occlusion : bool
        Divide by the scores instead of multiplying.

    Returns
    -------
    logits : torch.Tensor, shape=(N, A, L)
    """
    s = scores[:, None, :]
    signed = 2 * X - 1
    scaled = signed / s.clamp_min(_EPS) if occlusion else signed * s
    return scaled + log_background[None]


def pssm(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Letter probabilities (N, A, L) of ``logits`` (N, A, L); zero on padding (``mask`` (N, L) False)."""
    return torch.softmax(logits, 1) * mask[:, None, :].to(logits.dtype)


def sample_st_gumbel(
    logits: torch.Tensor,
    mask: torch.Tensor,
    n_samples: int,
    generator: torch.Generator,
    temperature: float = 0.5,
) -> torch.Tensor:
    """One-hot samples of the PSSM with straight-through Gumbel-softmax gradients.

    The forward value is the hard one-hot ``argmax(logits + g)`` (an exact draw
    from ``softmax(logits)``); the gradient is that of
    ``softmax((logits + g) / temperature)``.

    Parameters
    ----------
    logits : torch.Tensor, shape=(N, A, L)
    mask : torch.Tensor, shape=(N, L), bool
        Padding columns of the samples are zero.
    n_samples : int
        S samples per sequence.
    generator : torch.Generator
    temperature : float

    Returns
    -------
    samples : torch.Tensor, shape=(N, S, A, L)
    """
    N, A, L = logits.shape
    u = torch.rand((N, n_samples, A, L), generator=generator, device=logits.device)
    gumbel = -torch.log(-torch.log(u.clamp(_EPS, 1 - _EPS)))
    z = logits[:, None] + gumbel.to(logits.dtype)
    soft = torch.softmax(z / temperature, 2)
    hard = torch.nn.functional.one_hot(z.argmax(2), A).permute(0, 1, 3, 2).to(soft.dtype)
    return (hard - soft.detach() + soft) * mask[:, None, None, :].to(soft.dtype)


def conservation_bits(
    probs: torch.Tensor, background: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Mean conservation per sequence: KL(PSSM || background) in bits over real positions.

    Parameters
    ----------
    probs : torch.Tensor, shape=(N, A, L)
        PSSM columns (zero on padding).
    background : torch.Tensor, shape=(A, L)
    mask : torch.Tensor, shape=(N, L), bool

    Returns
    -------
    bits : torch.Tensor, shape=(N,)
    """
    p = probs.clamp(_EPS, 1 - _EPS)
    per_position = (probs * torch.log(p / background[None].clamp_min(_EPS))).sum(1) / math.log(2)
    m = mask.to(probs.dtype)
    return (per_position * m).sum(1) / m.sum(1).clamp_min(1)
