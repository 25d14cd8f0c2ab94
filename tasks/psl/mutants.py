"""Single-letter mutants of one protein through a (CNN +) BiLSTM backbone, reusing its states.

A substitution at position ``p`` changes the LSTM input only on the window
``[p - R, p + R]`` (``R = 0`` without convolutions, else half the widest kernel).
The forward LSTM's states before the window and the backward LSTM's states after
it are those of the unmutated protein, so each mutant runs the forward LSTM from
``p - R`` to the end and the backward LSTM from ``p + R`` to the start: ``n + 2R + 1``
recurrent steps instead of ``2 n``. Mutants are taken in order of position, so a
batch spans few positions and its rows need nearly the same number of steps.
The states are kept in pieces (:class:`MutantStates`): a head projects and pools the
unmutated parts once per batch instead of once per mutant, which halves the
attention projection's work and copies no (M, n, D) feature tensor.

The unmutated states come from the same ``nn.LSTM`` modules run one step at a
time, and each mutant's window is recomputed with the same convolutions, so a
mutant's features equal those of the full forward pass up to float round-off
(the order of a few sums differs; tested against the model's own forward).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BaseStates", "MutantStates", "base_states", "mutant_features"]


class BaseStates(NamedTuple):
    """The unmutated protein through the backbone (``n`` real residues).

    e : torch.Tensor, shape=(E, n); the 1x1 embedding. z : torch.Tensor, shape=(n, D);
    the LSTM input. hf, cf, hb, cb : torch.Tensor, shape=(n, H); hidden and cell
    states of the forward LSTM after reading position ``i`` and of the backward LSTM
    after reading positions ``n - 1 .. i``.
    """

    e: torch.Tensor
    z: torch.Tensor
    hf: torch.Tensor
    cf: torch.Tensor
    hb: torch.Tensor
    cb: torch.Tensor


class MutantStates(NamedTuple):
    """BiLSTM states of ``M`` single-letter mutants of one protein, kept in pieces.

    Only the forward states from ``lo`` on and the backward states up to ``hi``
    differ from the unmutated protein's (``base``), so those are all that is
    stored; :meth:`sigmoid_scores`, :meth:`pool` and :meth:`ends` compute what a head
    reads from the features without building them (the unmutated parts are
    computed once, not once per mutant).

    base : BaseStates. lo, hi : int. f : torch.Tensor, shape=(M, n - lo, H);
    forward states at positions ``lo .. n - 1``. b : torch.Tensor, shape=(M, hi + 1, H);
    backward states at positions ``0 .. hi``.
    """

    base: BaseStates
    lo: int
    hi: int
    f: torch.Tensor
    b: torch.Tensor

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape (M, n, 2H) of the features: forward states, then backward states, per position."""
        return (self.f.shape[0], self.base.z.shape[0], 2 * self.f.shape[2])

    def sigmoid_scores(
        self, weight: torch.Tensor, bias: torch.Tensor, c: torch.Tensor
    ) -> torch.Tensor:
        """``sigmoid(F.linear(H, weight, bias)) @ c`` of the features H (M, n, 2H): scores (M, n).

        For ``weight`` (K, 2H), ``bias`` (K,), ``c`` (K,). Per mutant only its mutated
        states are projected (forward from ``lo``, backward up to ``hi``); the unmutated
        halves are projected once. The projections stay contiguous tensors, so each
        product with ``c`` is one matrix-vector product.
        """
        lo, hi, H = self.lo, self.hi, self.f.shape[2]
        wf, wb = weight[:, :H].T, weight[:, H:].T
        pf, pb = self.f @ wf, self.b @ wb  # (M, n - lo, K), (M, hi + 1, K), fresh
        k = hi + 1 - lo
        pb[:, :lo].add_(self.base.hf[:lo] @ wf + bias)  # positions 0 .. lo - 1
        pf[:, :k].add_(pb[:, lo:]).add_(bias)  # lo .. hi
        pf[:, k:].add_(self.base.hb[hi + 1 :] @ wb + bias)  # hi + 1 .. n - 1
        # pb's columns lo .. hi hold only the backward half: scored, then dropped
        return torch.cat([(torch.sigmoid_(pb) @ c)[:, :lo], torch.sigmoid_(pf) @ c], 1)

    def pool(self, w: torch.Tensor) -> torch.Tensor:
        """``einsum("mt,mtd->md", w, H)`` of the features H, (M, 2H), for weights ``w`` (M, n)."""
        lo, hi = self.lo, self.hi
        fwd = w[:, :lo] @ self.base.hf[:lo] + torch.bmm(w[:, None, lo:], self.f)[:, 0]
        bwd = (
            torch.bmm(w[:, None, : hi + 1], self.b)[:, 0] + w[:, hi + 1 :] @ self.base.hb[hi + 1 :]
        )
        return torch.cat([fwd, bwd], 1)

    def rows(self, s: slice) -> MutantStates:
        """The states of mutants ``s`` of the batch (same ``lo``, ``hi``)."""
        return MutantStates(self.base, self.lo, self.hi, self.f[s], self.b[s])

    def ends(self) -> torch.Tensor:
        """The forward state at the last residue and the backward state at the first, (M, 2H)."""
        return torch.cat([self.f[:, -1], self.b[:, 0]], 1)


def _stepwise(lstm: nn.LSTM, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Hidden and cell states (n, H) after each step of ``lstm`` over ``z`` (n, D)."""
    hs, cs, state = [], [], None
    for t in range(z.shape[0]):
        _, state = lstm(z[None, t : t + 1], state)
        hs.append(state[0][0, 0])
        cs.append(state[1][0, 0])
    return torch.stack(hs), torch.stack(cs)


def base_states(
    embed: nn.Conv1d, convs: nn.ModuleList, lstm: nn.Module, x: torch.Tensor
) -> BaseStates:
    """States of the unmutated protein ``x`` (A, n), truncated to its ``n`` real residues."""
    e = embed(x[None])
    z = torch.cat([F.relu(conv(e)) for conv in convs], 1) if len(convs) else e
    z = z[0].T
    hf, cf = _stepwise(lstm.fwd, z)
    hb, cb = _stepwise(lstm.bwd, z.flip(0))
    return BaseStates(e[0], z, hf, cf, hb.flip(0), cb.flip(0))


def _window(
    embed: nn.Conv1d,
    convs: nn.ModuleList,
    e: torch.Tensor,
    pos: torch.Tensor,
    letters: torch.Tensor,
) -> torch.Tensor:
    """LSTM inputs (M, 2R + 1, D) of each mutant on positions ``pos - R .. pos + R``."""
    column = embed.weight[:, letters, 0].T  # (M, E): the embedding of the new letter
    if not len(convs):
        return column[:, None, :]
    R = max(conv.kernel_size[0] // 2 for conv in convs)
    n = e.shape[1]
    cols = pos[:, None] + torch.arange(-2 * R, 2 * R + 1, device=pos.device)
    inside = ((cols >= 0) & (cols < n)).to(e.dtype)
    local = e[:, cols.clamp(0, n - 1)].permute(1, 0, 2) * inside[:, None, :]
    local[:, :, 2 * R] = column
    outs = []
    for conv in convs:
        r = conv.kernel_size[0] // 2
        outs.append(F.relu(F.conv1d(local[:, :, R - r : 3 * R + r + 1], conv.weight, conv.bias)))
    return torch.cat(outs, 1).transpose(1, 2)


def _inputs(
    z: torch.Tensor, win: torch.Tensor, at: torch.Tensor, pos: torch.Tensor
) -> torch.Tensor:
    """LSTM inputs (M, T, D) at positions ``at`` (T,): ``z``, with each mutant's window written in.

    Built time-major, (T, M, D) in memory, and returned as its transposed view: the
    layout a batch-first ``nn.LSTM`` turns its input into, so it copies nothing more.
    """
    M, W, _ = win.shape
    x = z[at.clamp(0, z.shape[0] - 1)][:, None].expand(-1, M, -1).clone()
    step = 1 if len(at) < 2 else int(at[1] - at[0])
    t = (pos[:, None] + torch.arange(-(W // 2), W // 2 + 1, device=pos.device) - at[0]) * step
    ok = (t >= 0) & (t < len(at))
    rows = torch.arange(M, device=pos.device)[:, None].expand(-1, W)
    x[t[ok], rows[ok]] = win[ok]
    return x.transpose(0, 1)


def _initial(
    h: torch.Tensor, c: torch.Tensor, at: int, M: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Initial states (1, M, H): the unmutated states at ``at``, zero outside the protein."""
    if 0 <= at < h.shape[0]:
        return h[at].expand(1, M, -1).contiguous(), c[at].expand(1, M, -1).contiguous()
    zero = h.new_zeros(1, M, h.shape[1])
    return zero, zero


def mutant_features(
    embed: nn.Conv1d,
    convs: nn.ModuleList,
    lstm: nn.Module,
    base: BaseStates,
    pos: torch.Tensor,
    letters: torch.Tensor,
) -> MutantStates:
    """BiLSTM states of the mutants ``x[:, pos[m]] = onehot(letters[m])`` of one protein.

    All mutants of a batch restart the forward LSTM at the first position any of
    their windows touches and the backward LSTM at the last (rows whose window
    starts later re-read unmutated inputs from the unmutated state, which gives
    the unmutated states again), so the outputs of every row line up with the
    positions and need no per-row reindexing.

    Parameters
    ----------
    embed, convs, lstm :
        The backbone's modules (1x1 embedding, convolutions, BiLSTM with ``fwd``, ``bwd``).
    base : BaseStates
        The unmutated protein (:func:`base_states`).
    pos, letters : torch.Tensor, shape=(M,), int64
        Mutated position (a real residue) and its new letter; best sorted by
        position (a batch costs ``n + 1 + (max - min)`` recurrent steps).

    Returns
    -------
    MutantStates
        In pieces, what the backbone's BiLSTM returns on each mutant, (M, n, 2 * hidden).
    """
    n, M = base.z.shape[0], len(pos)
    win = _window(embed, convs, base.e, pos, letters)
    R = win.shape[1] // 2
    lo, hi = max(int(pos.min()) - R, 0), min(int(pos.max()) + R, n - 1)
    at = torch.arange(lo, n, device=pos.device)
    # batch-first LSTM outputs are transposed views: one copy here (the flip copies b) lets
    # every head block and pooling product read its rows as one matrix
    f = lstm.fwd(_inputs(base.z, win, at, pos), _initial(base.hf, base.cf, lo - 1, M))[
        0
    ].contiguous()
    at = torch.arange(hi, -1, -1, device=pos.device)
    b = lstm.bwd(_inputs(base.z, win, at, pos), _initial(base.hb, base.cb, hi + 1, M))[0]
    return MutantStates(base, lo, hi, f, b.flip(1))
