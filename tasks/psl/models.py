"""Model zoo of the ``psl`` task (Wang, Arora & Shah, sections 3.2-3.3).

Every model takes one-hot ``X`` (N, 21, L) and returns logits (N, 13). The padding
mask is derived from ``X`` itself: a protein's length is the position of its last
non-zero column + 1 (so an interior all-zero column, e.g. an occluded residue,
stays a real position with a zero input). Each batch is truncated to its longest
protein, which is exact because nothing reads beyond a protein's end.

Architectures (one-hot -> bias-free 1x1 embedding, so padding embeds to zero):

``bilstm``                  embedding -> BiLSTM -> final hidden states of both directions
``bilstm_att``              embedding -> BiLSTM -> additive attention (eq. 2)
``bilstm_uniform``          embedding -> BiLSTM -> attention frozen uniform over residues
``cnn_bilstm_small[_att]``  embedding -> convolutions k=3,5 (concatenated) -> BiLSTM -> ...
``cnn_bilstm_big[_att]``    the same with k=3,5,7,11
``mlp_uniform``             token-level affine + tanh -> uniform attention
``mlp_trained``             token-level affine + tanh -> its own additive attention
``mlp_preset``              token-level affine + tanh -> ``bilstm_att``'s attention

The BiLSTM ignores padding exactly: the forward LSTM reads each protein, the
backward LSTM reads each protein reversed within its own length (padding stays
after the residues), which equals ``pack_padded_sequence`` with a bidirectional
LSTM (tested) but avoids the packed backward pass, quadratic in the length on
CPU in torch 2.x. Proteins are sorted by length and run in chunks of 32, each
truncated to its longest protein, so short proteins cost little.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000).
Wiegreffe, S. & Pinter, Y. (2019). Attention is not not explanation. EMNLP.
Almagro Armenteros, J. J. et al. (2017). DeepLoc. Bioinformatics 33(21).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from attrbench.core.plugin import ModelSpec

from . import mutants

__all__ = [
    "CHECKPOINT_DIR",
    "ARCHS",
    "TRAIN",
    "Encoded",
    "BiLSTM",
    "Backbone",
    "AdditiveAttention",
    "LastStateNet",
    "AttentionNet",
    "PresetAttentionNet",
    "build_model",
    "zoo",
    "lengths_of",
]

CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "psl"
N_LETTERS, N_CLASSES = 21, 13

_LSTM = {"kind": "lstm", "embed_dim": 16, "hidden": 32}
#: Architecture of each zoo model: ``head`` ("last", "attention", "uniform", "preset") + backbone.
ARCHS: dict[str, dict] = {
    "bilstm": {"head": "last", **_LSTM, "kernels": []},
    "bilstm_att": {"head": "attention", **_LSTM, "kernels": []},
    "bilstm_uniform": {"head": "uniform", **_LSTM, "kernels": []},
    "cnn_bilstm_small": {"head": "last", **_LSTM, "kernels": [3, 5], "channels": 16},
    "cnn_bilstm_small_att": {"head": "attention", **_LSTM, "kernels": [3, 5], "channels": 16},
    "cnn_bilstm_big": {"head": "last", **_LSTM, "kernels": [3, 5, 7, 11], "channels": 16},
    "cnn_bilstm_big_att": {"head": "attention", **_LSTM, "kernels": [3, 5, 7, 11], "channels": 16},
    "mlp_uniform": {"head": "uniform", "kind": "mlp", "hidden": 64},
    "mlp_trained": {"head": "attention", "kind": "mlp", "hidden": 64},
    "mlp_preset": {"head": "preset", "kind": "mlp", "hidden": 64, "teacher": "bilstm_att"},
}
#: Training configuration of each zoo model (fields of :class:`attrbench.running.training.TrainConfig`).
#: Plain cross-entropy (no class weights) and the kept epoch is the one of best validation
#: accuracy: the class explained is the predicted one, so accuracy is what every cell rests on
#: (an inverse-frequency weighted loss trades accuracy for macro F1; both are reported). The
#: learning rate shrinks by 0.8 after each epoch without a better validation accuracy; batches
#: hold proteins of similar length. Epochs are sized so each model trains in at most about 25
#: minutes on one CPU thread. ``bilstm_uniform`` alone has weight decay: its validation accuracy
#: stopped at 0.539 without (0.548 with 3e-4; 1e-4 gave 0.543, dropout 0.5 gave 0.533).
_FIT_LSTM = {
    "batch_size": 64,
    "lr": 4e-3,
    "lr_decay": 0.8,
    "patience": 4,
    "length_buckets": True,
    "clip_norm": 1.0,
    "select": "accuracy",
}
_FIT_MLP = {
    "epochs": 30,
    "batch_size": 128,
    "lr": 1e-2,
    "lr_decay": 0.8,
    "patience": 4,
    "length_buckets": True,
    "select": "accuracy",
}
TRAIN: dict[str, dict] = {
    "bilstm": {"epochs": 15, **_FIT_LSTM},
    "bilstm_att": {"epochs": 15, **_FIT_LSTM},
    "bilstm_uniform": {"epochs": 20, **_FIT_LSTM, "weight_decay": 3e-4},
    "cnn_bilstm_small": {"epochs": 12, **_FIT_LSTM},
    "cnn_bilstm_small_att": {"epochs": 8, **_FIT_LSTM},
    "cnn_bilstm_big": {"epochs": 8, **_FIT_LSTM},
    "cnn_bilstm_big_att": {"epochs": 8, **_FIT_LSTM},
    "mlp_uniform": _FIT_MLP,
    "mlp_trained": _FIT_MLP,
    "mlp_preset": {**_FIT_MLP, "epochs": 15},
}


class Encoded(NamedTuple):
    """Per-residue features of a batch truncated to its longest protein.

    H : torch.Tensor, shape=(N, T, D), or :class:`.mutants.MutantStates` (the mutants
    of one protein, features kept in pieces; heads read it through
    :meth:`AdditiveAttention.mutant_scores` and :func:`_pool`);
    mask : torch.Tensor, shape=(N, T), bool; lengths : torch.Tensor, shape=(N,), int64.
    """

    H: torch.Tensor | mutants.MutantStates
    mask: torch.Tensor
    lengths: torch.Tensor


def lengths_of(X: torch.Tensor) -> torch.Tensor:
    """Protein lengths: position of the last non-zero column + 1 (at least 1).

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L)

    Returns
    -------
    lengths : torch.Tensor, shape=(N,), int64
    """
    real = X.detach().abs().sum(1) > 0
    last = real.flip(1).int().argmax(1)
    return torch.where(real.any(1), X.shape[2] - last, torch.ones_like(last)).long()


def _reverse_index(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """Index (N, T) reversing each row within its length, padding kept in place."""
    t = torch.arange(T, device=lengths.device)[None, :]
    return torch.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)


class BiLSTM(nn.Module):
    """Bidirectional LSTM that ignores right padding exactly (see the module docstring).

    Parameters
    ----------
    in_dim, hidden : int
    chunk : int
        Proteins per length-sorted chunk.
    """

    def __init__(self, in_dim: int, hidden: int, chunk: int = 32):
        super().__init__()
        self.fwd = nn.LSTM(in_dim, hidden, batch_first=True)
        self.bwd = nn.LSTM(in_dim, hidden, batch_first=True)
        self.chunk = chunk
        with torch.no_grad():  # forget-gate bias 1 (Jozefowicz et al., 2015): remember by default
            for lstm in (self.fwd, self.bwd):
                lstm.bias_ih_l0[hidden : 2 * hidden].fill_(1.0)

    def _run(self, z: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
        T = z.shape[1]
        f, _ = self.fwd(z)
        if bool((n == T).all()):  # one length: a flip reverses every row, nothing to mask
            b = self.bwd(z.flip(1))[0].flip(1)
            return torch.cat([f, b], 2)
        rev = _reverse_index(n, T)[..., None]
        b, _ = self.bwd(z.gather(1, rev.expand_as(z)))
        b = b.gather(1, rev.expand_as(b))
        keep = torch.arange(T, device=z.device)[None, :] < n[:, None]
        return torch.cat([f, b], 2) * keep[..., None]

    def forward(self, Z: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Hidden states of both directions.

        A batch of proteins of one length (e.g. the mutants of one protein) runs as
        one chunk, with no sorting, padding or reordering.

        Parameters
        ----------
        Z : torch.Tensor, shape=(N, T, in_dim)
        lengths : torch.Tensor, shape=(N,), int64

        Returns
        -------
        H : torch.Tensor, shape=(N, T, 2 * hidden), zero on padding
            ``H[:, :, :hidden]`` forward, ``H[:, :, hidden:]`` backward direction.
        """
        T = Z.shape[1]
        if bool((lengths == T).all()):
            return self._run(Z, lengths)
        order = torch.argsort(lengths, descending=True, stable=True)
        outs = []
        for i in range(0, len(order), self.chunk):
            idx = order[i : i + self.chunk]
            t = int(lengths[idx].max())
            outs.append(F.pad(self._run(Z[idx, :t], lengths[idx]), (0, 0, 0, T - t)))
        return torch.cat(outs)[torch.argsort(order)]


class Backbone(nn.Module):
    """Per-residue features: (CNN +) BiLSTM, or a token-level affine + tanh (MLP).

    Parameters
    ----------
    kind : str
        ``"lstm"`` or ``"mlp"``.
    embed_dim, hidden, channels : int
    kernels : list of int
        Convolution widths before the BiLSTM (empty: none), outputs concatenated.
    """

    def __init__(
        self,
        kind: str,
        hidden: int,
        embed_dim: int = 32,
        kernels: list[int] | None = None,
        channels: int = 32,
    ):
        super().__init__()
        self.kind = kind
        if kind == "mlp":
            self.token = nn.Conv1d(N_LETTERS, hidden, 1)
            self.dim = hidden
            return
        self.embed = nn.Conv1d(N_LETTERS, embed_dim, 1, bias=False)
        self.convs = nn.ModuleList(
            nn.Conv1d(embed_dim, channels, k, padding=k // 2) for k in kernels or []
        )
        in_dim = channels * len(self.convs) if self.convs else embed_dim
        self.lstm = BiLSTM(in_dim, hidden)
        self.dim = 2 * hidden

    def forward(self, X: torch.Tensor) -> Encoded:
        """Features of ``X`` (N, A, L) truncated to the longest protein of the batch."""
        lengths = lengths_of(X)
        T = int(lengths.max())
        x = X[:, :, :T]
        mask = torch.arange(T, device=X.device)[None, :] < lengths[:, None]
        if self.kind == "mlp":
            return Encoded(torch.tanh(self.token(x)).transpose(1, 2), mask, lengths)
        z = self.embed(x)
        if len(self.convs):
            z = torch.cat([F.relu(conv(z)) for conv in self.convs], 1)
        return Encoded(self.lstm(z.transpose(1, 2), lengths), mask, lengths)

    def base_states(self, x: torch.Tensor) -> mutants.BaseStates:
        """Recurrent states of one protein ``x`` (A, n) of ``n`` real residues (``"lstm"`` only)."""
        return mutants.base_states(self.embed, self.convs, self.lstm, x)

    def mutant_features(
        self, base: mutants.BaseStates, positions: torch.Tensor, letters: torch.Tensor
    ) -> mutants.MutantStates:
        """States of single-letter mutants, features (M, n, dim) in pieces (see :mod:`.mutants`)."""
        return mutants.mutant_features(self.embed, self.convs, self.lstm, base, positions, letters)


class AdditiveAttention(nn.Module):
    """Additive attention, eq. 2: ``u_i = tanh(W h_i + b)``, ``a = softmax_i(u_i . c)``.

    The softmax runs over real residues only (padding gets exactly 0).
    """

    def __init__(self, dim: int, attn_dim: int = 64):
        super().__init__()
        self.proj = nn.Linear(dim, attn_dim)
        self.context = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, enc: Encoded) -> torch.Tensor:
        """Attention weights (N, T), summing to 1 over ``enc.mask``."""
        if isinstance(enc.H, mutants.MutantStates):
            scores = self.mutant_scores(enc.H)
        else:
            scores = self.context(torch.tanh(self.proj(enc.H)))[..., 0]
        return torch.softmax(scores.masked_fill(~enc.mask, float("-inf")), 1)

    def mutant_scores(self, H: mutants.MutantStates) -> torch.Tensor:
        """The scores ``u_i . c`` of the mutants' features, up to a constant: (M, n).

        ``tanh(x) = 2 sigmoid(2x) - 1``, so ``c . tanh(W h + b) = (2c) . sigmoid(2W h + 2b) - sum(c)``;
        the constant cancels in the softmax, and the factors of 2 go into the weights.
        One pass of ``sigmoid`` (in place) and a matrix-vector product replace ``tanh``
        (about 3x dearer than ``sigmoid`` on CPU) and the context layer. The round-off
        differs from :meth:`forward`'s by about 1e-7, so only the ISM mutant path uses it.
        """
        return H.sigmoid_scores(
            2 * self.proj.weight, 2 * self.proj.bias, 2 * self.context.weight[0]
        )


def _pool(weights: torch.Tensor, H: torch.Tensor | mutants.MutantStates) -> torch.Tensor:
    """Weighted sum (N, D) over positions of features H (N, T, D) or mutant states."""
    if isinstance(H, mutants.MutantStates):
        return H.pool(weights)
    return torch.einsum("nt,ntd->nd", weights, H)


def _uniform(mask: torch.Tensor) -> torch.Tensor:
    m = mask.float()
    return m / m.sum(1, keepdim=True)


class _Mutants:
    """``mutant_logits``: logits of the single-letter mutants of one protein (used by ``ism``).

    On a (CNN +) BiLSTM backbone the mutants reuse the unmutated protein's
    recurrent states (:mod:`.mutants`); otherwise they are built and run through
    ``forward`` in batches.
    """

    def mutant_logits(
        self,
        x: torch.Tensor,
        positions: torch.Tensor,
        letters: torch.Tensor,
        batch_size: int = 64,
        head_rows: int = 16,
    ) -> torch.Tensor:
        """Logits of ``x`` with ``x[:, positions[m]]`` replaced by the one-hot of ``letters[m]``.

        Parameters
        ----------
        x : torch.Tensor, shape=(A, L)
            One protein.
        positions, letters : torch.Tensor, shape=(M,), int64
            Real residues to mutate and their new letters.
        batch_size : int
            Mutants per pass (on a BiLSTM backbone: per recurrent pass).
        head_rows : int
            On a BiLSTM backbone, mutants per head pass: the recurrent steps are
            cheaper per row in passes of 64, the head's (rows, n, 64) temporaries
            stay in cache at 16 (together 18% less CPU than 32 / 32 at L = 1000).

        Returns
        -------
        logits : torch.Tensor, shape=(M, 13)
        """
        order = torch.argsort(positions, stable=True)
        out = torch.empty(len(positions), N_CLASSES, dtype=x.dtype, device=x.device)
        with torch.no_grad():
            fast = self.backbone.kind == "lstm"
            n = int(lengths_of(x[None])[0])
            base = self.backbone.base_states(x[:, :n]) if fast else None
            for s in range(0, len(order), batch_size):
                idx = order[s : s + batch_size]
                if fast:
                    states = self.backbone.mutant_features(base, positions[idx], letters[idx])
                    for r in range(0, len(idx), head_rows):
                        out[idx[r : r + head_rows]] = self._head(
                            states.rows(slice(r, r + head_rows))
                        )
                else:
                    out[idx] = self(_mutate(x, positions[idx], letters[idx]))
        return out


def _mutate(x: torch.Tensor, positions: torch.Tensor, letters: torch.Tensor) -> torch.Tensor:
    """Mutants (M, A, L) of ``x`` (A, L): one new letter each."""
    X = x.expand(len(positions), -1, -1).clone()
    rows = torch.arange(len(positions), device=x.device)
    X[rows, :, positions] = 0
    X[rows, letters, positions] = 1
    return X


class LastStateNet(_Mutants, nn.Module):
    """BiLSTM classifier on the final hidden states (forward at the last residue, backward at the first)."""

    def __init__(self, kind: str, hidden: int, dropout: float = 0.25, **backbone):
        super().__init__()
        self.backbone = Backbone(kind, hidden, **backbone)
        self.kind = kind
        self.hidden = hidden
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(self.backbone.dim, N_CLASSES)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (N, 13) of ``X`` (N, 21, L)."""
        enc = self.backbone(X)
        rows = torch.arange(len(X), device=X.device)
        last = torch.cat(
            [enc.H[rows, enc.lengths - 1, : self.hidden], enc.H[:, 0, self.hidden :]], 1
        )
        return self.out(self.drop(last))

    def _head(self, states: mutants.MutantStates) -> torch.Tensor:
        """Logits (M, 13) of the mutants of one protein from their states."""
        return self.out(self.drop(states.ends()))


class AttentionNet(_Mutants, nn.Module):
    """Classifier on the attention-weighted sum of per-residue features.

    Parameters
    ----------
    kind : str
        Backbone: ``"lstm"`` or ``"mlp"``.
    head : str
        ``"attention"`` (learned, eq. 2) or ``"uniform"`` (frozen: 1 / length).
    hidden : int
    """

    def __init__(self, kind: str, head: str, hidden: int, dropout: float = 0.25, **backbone):
        super().__init__()
        self.backbone = Backbone(kind, hidden, **backbone)
        self.kind = kind
        self.head = head
        self.attention = AdditiveAttention(self.backbone.dim) if head == "attention" else None
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(self.backbone.dim, N_CLASSES)

    def attend(self, enc: Encoded, X: torch.Tensor | None) -> torch.Tensor:
        """The model's attention weights (N, T) on encoded ``X``."""
        return self.attention(enc) if self.attention is not None else _uniform(enc.mask)

    def classify(self, enc: Encoded, weights: torch.Tensor) -> torch.Tensor:
        """Logits (N, 13) from features and attention weights (N, T)."""
        pooled = _pool(weights, enc.H)
        return self.out(self.drop(pooled))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (N, 13) of ``X`` (N, 21, L)."""
        enc = self.backbone(X)
        return self.classify(enc, self.attend(enc, X))

    def _head(self, states: mutants.MutantStates) -> torch.Tensor:
        """Logits (M, 13) of the mutants of one protein from their states."""
        M, n, _ = states.shape
        device = states.f.device
        mask = torch.ones(M, n, dtype=torch.bool, device=device)
        enc = Encoded(states, mask, torch.full((M,), n, device=device))
        return self.classify(enc, self.attend(enc, None))

    def attention_weights(self, X: torch.Tensor) -> torch.Tensor:
        """Attention weights over the residues of ``X`` (N, 21, L).

        Returns
        -------
        weights : torch.Tensor, shape=(N, L)
            Sum to 1 over real residues, exactly 0 on padding.
        """
        enc = self.backbone(X)
        w = self.attend(enc, X)
        return F.pad(w, (0, X.shape[2] - w.shape[1]))

    def forward_with_attention(self, X: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Logits (N, 13) with the attention replaced by ``weights`` (N, L) (an intervention)."""
        enc = self.backbone(X)
        return self.classify(enc, weights[:, : enc.H.shape[1]].to(enc.H))


class PresetAttentionNet(AttentionNet):
    """MLP whose attention is another model's (``bilstm_att``), frozen.

    The teacher is a submodule: its weights are saved in this model's checkpoint
    (so the model is self-contained) and never trained (no gradients, always in
    eval mode). On each input the teacher computes its attention weights and this
    model pools its token features with them, at training and at inference.
    """

    def __init__(self, kind: str, head: str, hidden: int, teacher: nn.Module, **rest):
        super().__init__(kind, "uniform", hidden, **rest)
        self.head = head
        self.teacher = teacher.eval().requires_grad_(False)
        self.register_buffer("teacher_ready", torch.zeros((), dtype=torch.bool))

    def train(self, mode: bool = True) -> PresetAttentionNet:
        """Train mode for this model; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def attend(self, enc: Encoded, X: torch.Tensor | None) -> torch.Tensor:
        """The teacher's attention weights on ``X``, truncated like ``enc``."""
        if not bool(self.teacher_ready):
            raise RuntimeError(
                "mlp_preset's teacher bilstm_att is untrained: train it first "
                "(attrbench train --task psl --model bilstm_att)"
            )
        return self.teacher.attention_weights(X)[:, : enc.H.shape[1]]

    def load_teacher(self, state_dict: dict) -> None:
        """Load the teacher's trained weights (a ``bilstm_att`` state dict)."""
        self.teacher.load_state_dict(state_dict)
        self.teacher_ready.fill_(True)


def build_model(name: str) -> nn.Module:
    """An untrained zoo model ``name`` (mlp_preset: with bilstm_att's shipped weights as teacher)."""
    arch = dict(ARCHS[name])
    head = arch.pop("head")
    if head == "last":
        return LastStateNet(**arch)
    if head != "preset":
        return AttentionNet(head=head, **arch)
    teacher_name = arch.pop("teacher")
    model = PresetAttentionNet(head=head, teacher=build_model(teacher_name), **arch)
    path = CHECKPOINT_DIR / f"{teacher_name}.pt"
    if path.is_file():
        model.load_teacher(torch.load(path, map_location="cpu", weights_only=True)["state_dict"])
    return model


def zoo() -> dict[str, ModelSpec]:
    """The zoo's :class:`~attrbench.core.plugin.ModelSpec` records, by name."""
    return {
        name: ModelSpec(
            name=name,
            build=functools.partial(build_model, name),
            config={"arch": arch, "train": TRAIN[name]},
            description=_DESCRIPTIONS[name],
        )
        for name, arch in ARCHS.items()
    }


_DESCRIPTIONS = {
    "bilstm": "BiLSTM, final hidden states",
    "bilstm_att": "BiLSTM + additive attention (eq. 2)",
    "bilstm_uniform": "BiLSTM + attention frozen uniform",
    "cnn_bilstm_small": "conv k=3,5 + BiLSTM, final hidden states",
    "cnn_bilstm_small_att": "conv k=3,5 + BiLSTM + additive attention",
    "cnn_bilstm_big": "conv k=3,5,7,11 + BiLSTM, final hidden states",
    "cnn_bilstm_big_att": "conv k=3,5,7,11 + BiLSTM + additive attention",
    "mlp_uniform": "token-level affine+tanh, uniform attention",
    "mlp_trained": "token-level affine+tanh, learned attention",
    "mlp_preset": "token-level affine+tanh, attention of bilstm_att (frozen)",
}
