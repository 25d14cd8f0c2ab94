"""``exact`` and ``exact_protein``: built models whose exact attributions are known.

For a trained network nobody knows the right attribution values, so ground-truth
metrics can only ask whether a map puts weight on planted positions. The models
here are *built* from seeded parameters (plain ``nn.Module``, no training, no
checkpoint file: their :class:`~attrbench.core.plugin.ModelSpec` has ``trained=False``)
and each carries its exact Shapley values, so a method's error is measured
directly (metric ``exact_error``, :mod:`attrbench_tasks.exact_error`).

Why a task of its own rather than models added to ``utr5`` / ``promoter``: a
task has one alphabet, one data generator and one background, and the exact
values depend on all three; these models need short sequences (the exact values
are enumerated), a background known exactly (uniform letters) and data whose
planted motifs match the models' PWMs. Mixing them into a task whose models are
trained on other data would change that task's version and records.

Every model returns logits ``(N, 2) = [g(x), -g(x) / 2]`` (the class is the sign
of g); the exact values of class 1 are those of class 0 times -1/2. (Not ``-g``:
the two logits would then sum to a constant, and a method that differentiates
the sum of the logits, like the scramblers' probe, would see no gradient.) The background is uniform over the standard
letters (0.25 each for DNA; 1/20 on the 20 amino acids and 0 on ``X`` for
protein), and "exact Shapley value" means the interventional Shapley value of
each position against it: ``v(S) = E_z g(x_S, z_rest)`` with z drawn from the
background independently per position.

Models (``g``; ``k`` the motif width)
-------------------------------------
``additive``: ``g = sum_l w[x_l, l] + b``. Exact: ``phi_l = w[x_l, l] -
sum_a p_a w[a, l]``. ISM (mean-centred) equals it; IG or DeepLIFT from the
background mean gives ``w * (x - p)``, whose sum over letters equals it.
For protein ``w[X, l]`` is the mean of the 20 standard rows, so ISM's mean over
all 21 letters is the background mean.

``scan_sum``: ``g = sum_j relu(s_j - tau)``, ``s_j = sum_i W[x_{j+i}, i]`` (a
known PWM's log-odds, convolution + ReLU + sum pool). Shapley values are linear
in the game, each window is a game of ``k`` positions: exact by enumerating the
``2^k`` coalitions of every window and the background letters of its absent
positions (``(A + 1)^k`` terms per window).

``scan_max``: ``g = max_j s_j`` (max pool). All positions interact through the
max, so its values are estimated by permutation sampling (``M = 2000`` seeded
permutations, each with a fresh background draw, an unbiased estimator); a
marginal contribution lies in ``[-D, D]`` with ``D = max_i (max_a W[a, i] -
min_a W[a, i])``, so by Hoeffding each value is within ``D sqrt(2 ln(2 /
delta) / M)`` of the exact one with probability ``1 - delta`` (``SCAN_MAX_BOUND``
at delta = 0.05; the typical error is several times smaller).

``logic_and``, ``logic_or``, ``logic_xor`` (two motifs) and ``logic_and3``
(three): motif presences ``p_m = sigmoid(beta (max_j s^m_j - tau))`` and a
smooth gate: AND ``h = sigmoid(gamma (p_1 + p_2 - 1.5))``, OR ``sigmoid(gamma
(p_1 + p_2 - 0.5))``, XOR the OR minus the AND, AND3 ``sigmoid(gamma (p_1 + p_2 +
p_3 - 2.5))``; ``g = 4 h - 2``. The players are the motifs: an absent motif has
presence 0 (the value of a background sequence up to ``sigmoid(-beta * 2.6)``
for one mismatch); exact by enumerating the ``2^K`` coalitions. Convention: a
motif's value is spread evenly over the ``k`` positions of its best-scoring
window (the one the max pool picks), zero elsewhere.

Data
----
Uniform random sequences (``L = 40`` DNA, ``30`` protein) in which each motif's
consensus is planted with probability 1/2 inside its own segment of the
sequence (segments do not overlap); ``y`` is whether motif 1 is planted; ground
truth: the planted motifs. Seeded per split, ``default_rng([SEED, k])``.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from attrbench.core.contract import Alphabet
from attrbench.core.data import Background, Dataset, GroundTruth, Motif, content_hash
from attrbench.core.plugin import ModelSpec, Task, register_task
from attrbench_tasks.common.alphabets import DNA, PROTEIN

__all__ = [
    "SEED",
    "CLASSES",
    "SIZES",
    "SCAN_MAX_SAMPLES",
    "SCAN_MAX_BOUND",
    "Setting",
    "DNA_SETTING",
    "PROTEIN_SETTING",
    "Additive",
    "ScanSum",
    "ScanMax",
    "Logic",
    "window_shapley",
    "logic_shapley",
    "sampled_shapley",
    "exact_shapley",
    "class_factor",
    "background_probs",
    "TASK",
    "PROTEIN_TASK",
]

SEED = 29
CLASSES = ("g", "minus_g")
SIZES = {"train": 64, "valid": 64, "test": 100}
_STREAM = {"train": 0, "valid": 1, "test": 2}
SCAN_MAX_SAMPLES = 2000
#: Hoeffding half-width of ``scan_max`` values in units of D, at delta = 0.05.
SCAN_MAX_BOUND = math.sqrt(2 * math.log(2 / 0.05) / SCAN_MAX_SAMPLES)


@dataclass(frozen=True)
class Setting:
    """One alphabet's task settings: length, standard letters, motif width and count."""

    alphabet: Alphabet
    length: int
    n_standard: int
    width: int
    n_motifs: int
    consensus_p: float


DNA_SETTING = Setting(DNA, 40, 4, 5, 3, 0.85)
PROTEIN_SETTING = Setting(PROTEIN, 30, 20, 3, 2, 0.8)


def background_probs(setting: Setting) -> torch.Tensor:
    """Uniform over the standard letters, 0 on the others; shape (A,), float32."""
    p = torch.zeros(len(setting.alphabet))
    p[: setting.n_standard] = 1.0 / setting.n_standard
    return p


# --------------------------------------------------------------------------- parameters


def _consensus(setting: Setting) -> np.ndarray:
    """Consensus letters (n_motifs, width) int, seeded, every motif different."""
    rng = np.random.default_rng([SEED, 100, len(setting.alphabet)])
    return rng.integers(0, setting.n_standard, (setting.n_motifs, setting.width))


def _pwm(setting: Setting, m: int) -> torch.Tensor:
    """Log2-odds (A, width) of motif ``m`` against the uniform background (X: the mean)."""
    q, n = setting.consensus_p, setting.n_standard
    bg = 1.0 / n
    W = np.full((len(setting.alphabet), setting.width), math.log2((1 - q) / (n - 1) / bg))
    W[_consensus(setting)[m], np.arange(setting.width)] = math.log2(q / bg)
    W[n:] = W[:n].mean(0)
    return torch.tensor(W, dtype=torch.float32)


def _additive_weights(setting: Setting) -> torch.Tensor:
    rng = np.random.default_rng([SEED, 200, len(setting.alphabet)])
    w = rng.normal(0.0, 1.0, (len(setting.alphabet), setting.length))
    w[setting.n_standard :] = w[: setting.n_standard].mean(0)
    return torch.tensor(w, dtype=torch.float32)


# --------------------------------------------------------------------------- models


class _TwoClass(nn.Module):
    """Logits ``[g, -g / 2]`` (N, 2) of a scalar score ``g`` (N,) from :meth:`score`."""

    kind = "built"

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (N, 2) of one-hot X (N, A, L)."""
        g = self.score(X)
        return torch.stack([g, -0.5 * g], 1)


class Additive(_TwoClass):
    """``g = sum_l w[x_l, l] + b``: a PWM over the whole sequence (module docstring)."""

    def __init__(self, w: torch.Tensor, bias: float = 0.5) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(float(bias)))

    def score(self, X: torch.Tensor) -> torch.Tensor:
        """g (N,) of X (N, A, L)."""
        return (X * self.w).sum((1, 2)) + self.b

    def exact(self, X: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Exact Shapley values (N, L) of g: ``w[x_l, l] - sum_a p_a w[a, l]``."""
        w = self.w.detach()
        return (X * w).sum(1) - (p[:, None] * w).sum(0)


class ScanSum(_TwoClass):
    """``g = sum_j relu(s_j - tau)``: PWM convolution, ReLU, sum pool."""

    def __init__(self, W: torch.Tensor, tau: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(W.shape[0], 1, W.shape[1])
        with torch.no_grad():
            self.conv.weight.copy_(W[None])
            self.conv.bias.fill_(-tau)
        self.act = nn.ReLU()

    def score(self, X: torch.Tensor) -> torch.Tensor:
        """g (N,) of X (N, A, L)."""
        return self.act(self.conv(X)).sum((1, 2))

    def exact(self, X: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Exact Shapley values (N, L), by :func:`window_shapley`."""
        W, tau = self.conv.weight.detach()[0], -float(self.conv.bias.detach())
        return window_shapley(X, W, tau, p)


class ScanMax(_TwoClass):
    """``g = max_j s_j``: PWM convolution, global max pool."""

    def __init__(self, W: torch.Tensor, length: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(W.shape[0], 1, W.shape[1], bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(W[None])
        self.pool = nn.MaxPool1d(length - W.shape[1] + 1)

    def score(self, X: torch.Tensor) -> torch.Tensor:
        """g (N,) of X (N, A, L)."""
        return self.pool(self.conv(X)).flatten(1).amax(1)

    def exact(self, X: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Shapley values (N, L) by seeded permutation sampling (:data:`SCAN_MAX_BOUND`)."""
        gen = torch.Generator().manual_seed(SEED)
        return sampled_shapley(self.score, X, p, SCAN_MAX_SAMPLES, gen)


class Logic(_TwoClass):
    """``g = 4 h(p) - 2`` of motif presences ``p`` (module docstring); all modules, no functional ops."""

    def __init__(
        self,
        W: torch.Tensor,
        length: int,
        gates: list[tuple[float, float]],
        beta: float = 2.0,
        tau: float = 6.0,
        gamma: float = 10.0,
    ) -> None:
        super().__init__()
        k, width = W.shape[0], W.shape[2]
        self.width = width
        self.conv = nn.Conv1d(W.shape[1], k, width)
        self.pool = nn.MaxPool1d(length - width + 1)
        self.presence = nn.Sigmoid()
        self.gate = nn.Linear(k, len(gates))
        self.gate_act = nn.Sigmoid()
        self.out = nn.Linear(len(gates), 1)
        with torch.no_grad():
            self.conv.weight.copy_(beta * W)
            self.conv.bias.fill_(-beta * tau)
            self.gate.weight.fill_(gamma)
            self.gate.bias.copy_(torch.tensor([-gamma * t for _, t in gates]))
            self.out.weight.copy_(torch.tensor([[4.0 * c for c, _ in gates]]))
            self.out.bias.fill_(-2.0)

    def presences(self, X: torch.Tensor) -> torch.Tensor:
        """Motif presences p (N, K) in [0, 1]."""
        return self.presence(self.pool(self.conv(X)).flatten(1))

    def head(self, p: torch.Tensor) -> torch.Tensor:
        """g (N,) of presences p (N, K)."""
        return self.out(self.gate_act(self.gate(p)))[:, 0]

    def score(self, X: torch.Tensor) -> torch.Tensor:
        """g (N,) of X (N, A, L)."""
        return self.head(self.presences(X))

    def exact(self, X: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """Exact Shapley values over motif players (N, L), spread over each motif's best window."""
        with torch.no_grad():
            phi = logic_shapley(self.head, self.presences(X))
            where = self.conv(X).argmax(2)  # (N, K) best window of each motif
        out = torch.zeros(X.shape[0], X.shape[2])
        for i in range(self.width):
            out.scatter_add_(1, where + i, phi / self.width)
        return out


# --------------------------------------------------------------------------- exact values


def _shapley_weight(size: int, k: int) -> float:
    return math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)


def window_shapley(X: torch.Tensor, W: torch.Tensor, tau: float, p: torch.Tensor) -> torch.Tensor:
    """Exact interventional Shapley values of ``sum_j relu(s_j - tau)`` against background ``p``.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, A, L), one-hot
    W : torch.Tensor, shape=(A, k)
    tau : float
    p : torch.Tensor, shape=(A,)
        Background letter probabilities (the same at every position).

    Returns
    -------
    phi : torch.Tensor, shape=(N, L), float32
    """
    Wd, pd = W.double(), p.double()
    A, k = Wd.shape
    N, _, L = X.shape
    J = L - k + 1
    codes = X.argmax(1)  # (N, L)
    # observed column scores per window: obs[n, j, i] = W[x_{j+i}, i]
    idx = torch.stack([codes[:, i : i + J] for i in range(k)], 2)
    obs = Wd[idx, torch.arange(k)]  # (N, J, k)
    value = {}
    for S in itertools.product((False, True), repeat=k):
        absent = [i for i in range(k) if not S[i]]
        c = (
            obs[:, :, list(np.flatnonzero(S))].sum(2)
            if any(S)
            else torch.zeros(N, J, dtype=torch.float64)
        )
        part, prob = torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64)
        for i in absent:
            part = (part[:, None] + Wd[:, i][None]).flatten()
            prob = (prob[:, None] * pd[None]).flatten()
        value[S] = (torch.relu(c[..., None] + part - tau) * prob).sum(-1)  # (N, J)
    phi_w = torch.zeros(N, J, k, dtype=torch.float64)
    for S, v in value.items():
        for i in range(k):
            if not S[i]:
                with_i = S[:i] + (True,) + S[i + 1 :]
                phi_w[:, :, i] += _shapley_weight(sum(S), k) * (value[with_i] - v)
    phi = torch.zeros(N, L, dtype=torch.float64)
    for i in range(k):
        phi[:, i : i + J] += phi_w[:, :, i]
    return phi.float()


def logic_shapley(head, p: torch.Tensor) -> torch.Tensor:
    """Exact Shapley values over K players of ``head(p)``, absent players at presence 0.

    Parameters
    ----------
    head : callable
        ``head(p) -> g``, (M, K) -> (M,).
    p : torch.Tensor, shape=(N, K)

    Returns
    -------
    phi : torch.Tensor, shape=(N, K), float32
    """
    N, K = p.shape
    phi = torch.zeros(N, K)
    for S in itertools.product((0.0, 1.0), repeat=K):
        mask = torch.tensor(S)
        v = head(p * mask)
        for m in range(K):
            if not S[m]:
                with_m = mask.clone()
                with_m[m] = 1.0
                phi[:, m] += _shapley_weight(int(sum(S)), K) * (head(p * with_m) - v)
    return phi


def sampled_shapley(
    score,
    X: torch.Tensor,
    p: torch.Tensor,
    n_samples: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """Interventional Shapley values by permutation sampling (unbiased; see the module docstring).

    Each sample draws a permutation and a background sequence z, and walks from z
    to x one position at a time in the permutation's order; the change of
    ``score`` at each step is that position's marginal contribution.

    Parameters
    ----------
    score : callable
        ``score(X) -> g``, (M, A, L) -> (M,).
    X : torch.Tensor, shape=(N, A, L)
    p : torch.Tensor, shape=(A,)
    n_samples : int
    generator : torch.Generator

    Returns
    -------
    phi : torch.Tensor, shape=(N, L), float32
    """
    N, A, L = X.shape
    out = torch.zeros(N, L, dtype=torch.float64)
    for n in range(N):
        perm = torch.argsort(torch.rand(n_samples, L, generator=generator), 1)
        z = torch.multinomial(p, n_samples * L, replacement=True, generator=generator)
        seq = torch.nn.functional.one_hot(z.view(n_samples, L), A).float().transpose(1, 2)
        steps = [seq.clone()]
        rows = torch.arange(n_samples)
        for t in range(L):
            seq[rows, :, perm[:, t]] = X[n, :, perm[:, t]].T
            steps.append(seq.clone())
        with torch.no_grad():
            g = score(torch.cat(steps)).view(L + 1, n_samples).double()
        delta = g[1:] - g[:-1]  # (L, M): step t changes position perm[:, t]
        out[n].index_add_(0, perm.T.flatten(), delta.flatten())
        out[n] /= n_samples
    return out.float()


def exact_shapley(
    model: nn.Module, X: torch.Tensor, target: torch.Tensor, p: torch.Tensor
) -> torch.Tensor:
    """Exact position values (N, L) of a built model's target logit (class 1: times -1/2)."""
    return model.exact(X.cpu(), p.cpu()) * class_factor(target)[:, None]


def class_factor(target: torch.Tensor) -> torch.Tensor:
    """The factor (N,) from g to the target logit: 1 for class 0, -1/2 for class 1."""
    return 1.0 - 1.5 * target.cpu().float()


# --------------------------------------------------------------------------- zoo


def _zoo(setting: Setting) -> dict[str, ModelSpec]:
    L, k = setting.length, setting.width
    formula = "A = " + str(len(setting.alphabet)) + f" letters, L = {L}, k = {k}"
    pwm = functools.partial(_pwm, setting)
    top = float(pwm(0).max(0).values.sum())
    specs = {
        "additive": (
            lambda: Additive(_additive_weights(setting)),
            "Additive PWM over the whole sequence, g = sum_l w[x_l, l] + b with seeded "
            "normal weights. Exact Shapley value of position l: w[x_l, l] minus its "
            f"background mean sum_a p_a w[a, l] ({formula}).",
        ),
        "scan_sum": (
            lambda: ScanSum(pwm(0), top - 5.0),
            "Sum-pooled motif scan, g = sum_j relu(s_j - tau) over the PWM log-odds s_j of "
            "every window (conv, ReLU, sum pool). Exact Shapley values by enumerating the "
            f"2^k coalitions of each window and the background letters of its absent positions ({formula}).",
        ),
    }
    if setting.alphabet is DNA:
        specs["scan_max"] = (
            lambda: ScanMax(pwm(0), L),
            "Max-pooled motif scan, g = max_j s_j (conv, global max pool), so every position "
            f"interacts. Shapley values by {SCAN_MAX_SAMPLES} seeded permutation samples; "
            f"Hoeffding bound {SCAN_MAX_BOUND:.3f} D at delta 0.05, D the largest letter range of a PWM column ({formula}).",
        )
        gates = {
            "logic_and": ([(1.0, 1.5)], 2, "AND: h = sigmoid(gamma (p1 + p2 - 1.5))"),
            "logic_or": ([(1.0, 0.5)], 2, "OR: h = sigmoid(gamma (p1 + p2 - 0.5))"),
            "logic_xor": (
                [(1.0, 0.5), (-1.0, 1.5)],
                2,
                "XOR: h = sigmoid(gamma (p1 + p2 - 0.5)) - sigmoid(gamma (p1 + p2 - 1.5))",
            ),
            "logic_and3": (
                [(1.0, 2.5)],
                3,
                "AND of three: h = sigmoid(gamma (p1 + p2 + p3 - 2.5))",
            ),
        }
        for name, (g, K, text) in gates.items():
            specs[name] = (
                functools.partial(
                    lambda g, K: Logic(torch.stack([pwm(m) for m in range(K)]), L, g), g, K
                ),
                f"Logic of motif presences p_m = sigmoid(beta (max_j s^m_j - tau)), {text}, g = 4 h - 2. "
                "Exact Shapley values over the motifs (absent: p = 0) by enumerating 2^K coalitions, "
                f"each motif's value spread evenly over its best window ({formula}).",
            )
    return {
        n: ModelSpec(n, build, {"arch": n, "seed": SEED}, text, trained=False)
        for n, (build, text) in specs.items()
    }


# --------------------------------------------------------------------------- data


def _generate(setting: Setting, split: str) -> Dataset:
    rng = np.random.default_rng([SEED, _STREAM[split], len(setting.alphabet)])
    n, L, k, K = SIZES[split], setting.length, setting.width, setting.n_motifs
    codes = rng.integers(0, setting.n_standard, (n, L))
    planted = rng.random((n, K)) < 0.5
    seg = L // K
    starts = np.arange(K) * seg + rng.integers(0, seg - k + 1, (n, K))
    cons = _consensus(setting)
    motifs: list[list[Motif]] = [[] for _ in range(n)]
    for r, m in zip(*np.nonzero(planted), strict=True):
        codes[r, starts[r, m] : starts[r, m] + k] = cons[m]
        motifs[r].append(Motif(f"m{m + 1}", int(starts[r, m]), int(starts[r, m]) + k))
    return Dataset(
        codes=torch.from_numpy(codes.astype(np.int8)),
        n_letters=len(setting.alphabet),
        y=torch.from_numpy(planted[:, 0].astype(np.int64)),
        ids=[f"{split}-{i:03d}" for i in range(n)],
        ground_truth=GroundTruth(motifs),
    )


@functools.cache
def _split(setting: Setting, split: str) -> Dataset:
    if split not in SIZES:
        raise ValueError(f"exact tasks have splits train, valid, test; not {split!r}")
    return _generate(setting, split)


def _data(setting: Setting, split: str) -> Dataset:
    return replace(_split(setting, split))


def _ground_truth(ds: Dataset) -> GroundTruth | None:
    return ds.ground_truth


class ExactValues:
    """Task resource ``exact_attributions``: ``resource(model, X, target, probs) -> (N, L)``.

    Cached by the content of ``X`` and the model's parameters (the sampled
    ``scan_max`` values cost seconds and every method's cell asks for them).
    """

    hash = content_hash("exact-values-v1")

    def __init__(self) -> None:
        self._cache: dict[tuple, torch.Tensor] = {}

    def __call__(
        self, model: nn.Module, X: torch.Tensor, target: torch.Tensor, probs: torch.Tensor
    ) -> torch.Tensor:
        if not hasattr(model, "exact"):
            from attrbench.core.plugin import NotApplicable

            raise NotApplicable(f"{type(model).__name__} has no exact attributions")
        key = (
            getattr(model, "checkpoint_hash", id(model)),
            content_hash(X.cpu()),
            content_hash(probs.cpu()),
        )
        if key not in self._cache:
            self._cache[key] = model.exact(X.cpu(), probs.cpu())
        return self._cache[key] * class_factor(target)[:, None]


#: Scrambler fit budget on these small tasks (the whole task runs in minutes on one core);
#: no per-sequence fine-tuning, as everywhere by default.
_SCRAMBLER = {"steps": 60, "channels": 16}


def _task(name: str, setting: Setting, what: str) -> Task:
    probs = background_probs(setting)
    return Task(
        name=name,
        version="1",
        alphabet=setting.alphabet,
        classes=CLASSES,
        data=functools.partial(_data, setting),
        models=_zoo(setting),
        default_model="additive",
        checkpoint_dir=Path(__file__).parent / "checkpoints" / name,
        ground_truth=_ground_truth,
        background=lambda train: Background(probs.clone()),
        default_n=SIZES["test"],
        method_options={
            "ig": {"baseline": "background"},
            "deeplift": {"baseline": "background"},
            **{s: _SCRAMBLER for s in ("scrambler_inclusion", "scrambler_occlusion")},
        },
        resources={"exact_attributions": ExactValues},
        description=(
            f"Built (untrained) {what} models with known exact Shapley values against a "
            "uniform background: additive PWM, motif scans and motif logic; metric "
            "exact_error measures each method's error directly."
        ),
    )


TASK = register_task(_task("exact", DNA_SETTING, "DNA"))
PROTEIN_TASK = register_task(_task("exact_protein", PROTEIN_SETTING, "protein"))
