"""``utr5``: synthetic start/stop logic in 50-nt 5' UTRs (SPEC section 3.4, seed 004).

A 5' UTR of ``UTR_LEN = 50`` nt sits directly upstream of a coding sequence
(CDS) whose start codon begins right after the last UTR position. Position
``p`` of the UTR is in the CDS frame when ``(50 - p) % 3 == 0``. The sequences
are generated (seeded, numpy ``default_rng``), so the codons that decide the
output are known exactly.

The oracle
----------
Optimus 5-Prime (Sample et al., 2019) cannot be downloaded, so a deterministic
oracle with its logic labels every sequence (:func:`oracle`, a pure function
of the 50 UTR letters). Every ``ATG`` at position ``i`` (codon inside the UTR)
opens a reading frame that is followed codon by codon (``i + 3, i + 6, ...``)
while the codon lies wholly inside the UTR:

* an in-frame stop (``TAA``, ``TAG``, ``TGA``) is met: the ATG opens an
  upstream ORF (**uORF**), which lowers translation of the CDS;
* no stop and ``(50 - i) % 3 != 0``: the ORF runs into the CDS out of frame
  (overlapping ORF, **oORF**), which lowers it more; a stop codon that would
  straddle the UTR/CDS boundary does not count (the oracle reads the UTR only);
* no stop and ``(50 - i) % 3 == 0``: an in-frame N-terminal extension of the
  CDS, which has no effect.

The class of a sequence (``CLASSES``) is ``"oorf"`` (2) if any ATG opens an
oORF, else ``"uorf"`` (1) if any ATG opens a uORF, else ``"none"`` (0).
:func:`deciding_codons` returns the codons that decide it: for ``oorf`` the
ATGs that open an oORF; for ``uorf`` the ATGs that open a uORF and every stop
in frame downstream of one of them (the first one ends the uORF, the others
end it when the first is lost: OR logic); for ``none`` nothing.

Splits
------
``test``: the four logic sets of the Scrambler paper (Fig. S4), ``TEST_PER_SET``
sequences each, in the order of ``LOGIC_SETS`` with ``extra["logic_set"]``.
Each plants ``n_start`` ATGs and ``n_stop`` stops, all in the CDS frame (the
paper's "IF" codons), at distinct random codon slots with every start upstream
of every stop, so any planted start with any planted stop forms a uORF. The
rest is uniform random background repaired until it holds no other ATG (any
frame) and no other stop in the CDS frame. Every test sequence is ``uorf`` and
its ground truth (the planted codons) equals its deciding codons.

``train`` / ``valid`` (``SIZES``): a mixture that teaches the logic. Each
sequence gets 0-2 ATGs and 0-2 stops (non-overlapping), planted either in one
shared random frame in random order (40 %) or at free positions where each stop
sits in frame downstream of a planted ATG half of the time (60 %). 70 % of the
sequences get the repaired background (no other ATG, no other stop in a planted
ATG's frame), 30 % keep raw random background (natural ATGs and stops).
Labels come from the oracle; the classes are balanced exactly by keeping the
first sequences of each class. Ground truth: the deciding codons.

Each split has its own random stream, ``default_rng([SEED, k])``; generating all
splits takes about a second and is cached in-process.

Background
----------
Uniform (0.25 per letter at every position): the distribution the generator
draws background letters from, known exactly, and free of the letter bias that
the planted codons and class balancing put into the training split's
per-position frequencies. Inclusion/occlusion metrics therefore resample with
random UTRs, which hold ATGs and stops at their natural rates, as the paper's
random-sequence background does.

References
----------
Linder, J., La Fleur, A., Chen, Z., Ljubetic, A., Baker, D., Kannan, S. and
Seelig, G. (2022). Interpreting neural networks for biological sequences by
learning stochastic masks. Nature Machine Intelligence 4, 41-54.
Supplementary Fig. S4.

Sample, P. J., Wang, B., Reid, D. W., Presnyak, V., McFadyen, I. J., Morris,
D. R. and Seelig, G. (2019). Human 5' UTR design and variant effect prediction
from a massively parallel translation assay. Nature Biotechnology 37, 803-809.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from attrbench.core.data import Background, Dataset, GroundTruth, Motif
from attrbench.core.plugin import ModelSpec, Task, register_task
from attrbench_tasks.common.alphabets import DNA

__all__ = [
    "UTR_LEN",
    "CLASSES",
    "LOGIC_SETS",
    "SEED",
    "SIZES",
    "TEST_PER_SET",
    "TASK",
    "oracle",
    "deciding_codons",
    "generate_logic_set",
    "data",
    "ground_truth",
    "background",
    "UTR5CNN",
]

UTR_LEN = 50
CLASSES = ("none", "uorf", "oorf")
#: logic set -> (planted starts, planted stops), seed 004 Fig. S4.
LOGIC_SETS = {
    "1start_1stop": (1, 1),
    "1start_2stop": (1, 2),
    "2start_1stop": (2, 1),
    "2start_2stop": (2, 2),
}
SEED = 5
SIZES = {"train": 40_000, "valid": 4_000}
TEST_PER_SET = 500
_STREAM = {"train": 0, "valid": 1, "test": 2}

_P = UTR_LEN - 2  # codon positions 0..47
_FRAME = np.arange(_P) % 3
_CDS_FRAME = (UTR_LEN - np.arange(_P)) % 3 == 0
_N_SLOTS = _P // 3  # codon slots per frame (16)
# codon letters, rows: ATG, TAA, TAG, TGA (DNA order ACGT: A=0 C=1 G=2 T=3)
_CODONS = np.array([[0, 3, 2], [3, 0, 0], [3, 0, 2], [3, 2, 0]], dtype=np.int8)
_ATG = 14
_IS_STOP = np.isin(np.arange(64), (48, 50, 56))  # TAA, TAG, TGA as 16 a + 4 b + c


# --------------------------------------------------------------------------- oracle


def _to_codes(seqs: Sequence[str]) -> np.ndarray:
    """Letters to codes 0..3 (ACGT), shape (N, UTR_LEN), int8; raise on other letters or lengths."""
    table = np.full(256, -1, dtype=np.int8)
    for i, letter in enumerate(DNA.letters):
        table[ord(letter)] = table[ord(letter.lower())] = i
    out = np.empty((len(seqs), UTR_LEN), dtype=np.int8)
    for n, seq in enumerate(seqs):
        if len(seq) != UTR_LEN:
            raise ValueError(f"sequence {n + 1}: length {len(seq)}, utr5 needs {UTR_LEN}")
        out[n] = table[np.frombuffer(seq.encode("latin-1"), dtype=np.uint8)]
        if (out[n] < 0).any():
            raise ValueError(f"sequence {n + 1}: letters outside {DNA.letters}")
    return out


def _scan(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ATG and stop codons starting at each codon position.

    Parameters
    ----------
    codes : np.ndarray, shape=(N, UTR_LEN), int

    Returns
    -------
    atg, stop : np.ndarray, shape=(N, UTR_LEN - 2), bool
    """
    c = codes.astype(np.int16)
    ids = 16 * c[:, :-2] + 4 * c[:, 1:-1] + c[:, 2:]
    return ids == _ATG, _IS_STOP[ids]


def _in_frame_after(flags: np.ndarray) -> np.ndarray:
    """``out[:, i]``: some ``flags[:, i + 3k]`` with k >= 1 is set; shape (N, P) bool."""
    out = np.zeros_like(flags)
    for i in range(_P - 4, -1, -1):
        out[:, i] = flags[:, i + 3] | out[:, i + 3]
    return out


def _in_frame_before(flags: np.ndarray) -> np.ndarray:
    """``out[:, j]``: some ``flags[:, j - 3k]`` with k >= 1 is set; shape (N, P) bool."""
    out = np.zeros_like(flags)
    for j in range(3, _P):
        out[:, j] = flags[:, j - 3] | out[:, j - 3]
    return out


def _orfs(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ATGs opening a uORF, ATGs opening an oORF, and stop codons; each (N, P) bool."""
    atg, stop = _scan(codes)
    closed = _in_frame_after(stop)
    return atg & closed, atg & ~closed & ~_CDS_FRAME, stop


def _labels(codes: np.ndarray) -> np.ndarray:
    """Oracle classes (N,) int64 of codes (N, UTR_LEN)."""
    uorf, oorf, _ = _orfs(codes)
    return np.where(oorf.any(1), 2, np.where(uorf.any(1), 1, 0)).astype(np.int64)


def _deciding(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Deciding start and stop codon positions (see the module docstring); each (N, P) bool."""
    uorf, oorf, stop = _orfs(codes)
    has_oorf = oorf.any(1, keepdims=True)
    starts = np.where(has_oorf, oorf, uorf)
    stops = stop & _in_frame_before(uorf) & ~has_oorf
    return starts, stops


def oracle(seqs: Sequence[str]) -> np.ndarray:
    """The Optimus-like oracle class of each 50-nt UTR (module docstring).

    Parameters
    ----------
    seqs : sequence of str
        UTRs of exactly ``UTR_LEN`` letters over ``ACGT``.

    Returns
    -------
    labels : np.ndarray, shape=(N,), int64
        0 ``none``, 1 ``uorf``, 2 ``oorf``.
    """
    return _labels(_to_codes(seqs))


def deciding_codons(seq: str) -> list[Motif]:
    """The start (``"start"``) and stop (``"stop"``) codons that decide ``oracle([seq])``.

    Returns
    -------
    motifs : list of Motif
        Sorted by position; empty for class ``none``.
    """
    starts, stops = _deciding(_to_codes([seq]))
    return _motifs(starts, stops)[0]


def _motifs(starts: np.ndarray, stops: np.ndarray) -> list[list[Motif]]:
    """Motif lists from start and stop position masks (N, P)."""
    out: list[list[Motif]] = [[] for _ in range(len(starts))]
    rows, cols = np.nonzero(starts | stops)
    is_start = starts[rows, cols]
    for r, c, s in zip(rows.tolist(), cols.tolist(), is_start.tolist(), strict=True):
        out[r].append(Motif("start" if s else "stop", c, c + 3))
    return out


# --------------------------------------------------------------------------- generation


def _plant(codes: np.ndarray, pos: np.ndarray, which: np.ndarray, active: np.ndarray) -> tuple:
    """Write codons ``_CODONS[which]`` at ``pos`` where ``active``, in place.

    Parameters
    ----------
    codes : np.ndarray, shape=(N, UTR_LEN), int8
    pos, which : np.ndarray, shape=(N, M), int
    active : np.ndarray, shape=(N, M), bool

    Returns
    -------
    starts, stops : np.ndarray, shape=(N, P), bool
        Where planted ATGs and planted stops begin.
    fixed : np.ndarray, shape=(N, UTR_LEN), bool
        Planted letters (never resampled).
    """
    rows, cols = np.nonzero(active)
    p, w = pos[rows, cols], which[rows, cols]
    fixed = np.zeros(codes.shape, dtype=bool)
    for k in range(3):
        codes[rows, p + k] = _CODONS[w, k]
        fixed[rows, p + k] = True
    starts = np.zeros((len(codes), _P), dtype=bool)
    stops = np.zeros_like(starts)
    starts[rows[w == 0], p[w == 0]] = True
    stops[rows[w > 0], p[w > 0]] = True
    return starts, stops, fixed


def _stray(codes: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """Unplanted ATGs (any frame) and unplanted stops in a planted ATG's frame; (N, P) bool."""
    atg, stop = _scan(codes)
    frames = np.stack([starts[:, f::3].any(1) for f in range(3)], 1)
    return (atg & ~starts) | (stop & ~stops & frames[:, _FRAME])


def _repair(
    rng: np.random.Generator,
    codes: np.ndarray,
    fixed: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    rounds: int = 40,
) -> np.ndarray:
    """Resample the free letters of stray codons (:func:`_stray`) until none is left; in place.

    Parameters
    ----------
    codes : np.ndarray, shape=(N, UTR_LEN), int8
    fixed : np.ndarray, shape=(N, UTR_LEN), bool
        Planted letters, never resampled.
    starts, stops : np.ndarray, shape=(N, P), bool
        The planted codons.

    Returns
    -------
    ok : np.ndarray, shape=(N,), bool
        Rows without a stray codon (one made of planted letters only cannot be repaired).
    """
    rows = np.arange(len(codes))
    for _ in range(rounds):
        flagged = _stray(codes[rows], starts[rows], stops[rows])
        left = flagged.any(1)
        rows, flagged = rows[left], flagged[left]
        if not len(rows):
            break
        redo = np.zeros((len(rows), UTR_LEN), dtype=bool)
        for k in range(3):
            redo[:, k : k + _P] |= flagged
        redo &= ~fixed[rows]
        sub = codes[rows]
        sub[redo] = rng.integers(0, 4, sub.shape, dtype=np.int8)[redo]
        codes[rows] = sub
    return ~_stray(codes, starts, stops).any(1)


def _logic_batch(rng: np.random.Generator, n: int, n_start: int, n_stop: int) -> tuple:
    """``n`` candidate sequences of one logic set and which of them are valid.

    Returns
    -------
    codes : np.ndarray, shape=(n, UTR_LEN), int8
    starts, stops : np.ndarray, shape=(n, P), bool
    ok : np.ndarray, shape=(n,), bool
    """
    m = n_start + n_stop
    slots = np.sort(rng.random((n, _N_SLOTS)).argsort(1)[:, :m], 1)
    pos = UTR_LEN % 3 + 3 * slots  # CDS-frame codon positions, starts first
    which = np.concatenate(
        [np.zeros((n, n_start), dtype=np.int64), rng.integers(1, 4, (n, n_stop))], 1
    )
    codes = rng.integers(0, 4, (n, UTR_LEN), dtype=np.int8)
    starts, stops, fixed = _plant(codes, pos, which, np.ones((n, m), dtype=bool))
    ok = _repair(rng, codes, fixed, starts, stops)
    return codes, starts, stops, ok


def generate_logic_set(seed: int | Sequence[int], n: int, n_start: int, n_stop: int) -> tuple:
    """``n`` UTRs of one logic set, deterministic in ``seed`` (module docstring).

    Returns
    -------
    codes : np.ndarray, shape=(n, UTR_LEN), int8
        Letter indices into ``ACGT``.
    starts, stops : np.ndarray, shape=(n, UTR_LEN - 2), bool
        Where the planted ATGs and stop codons begin.
    """
    rng = np.random.default_rng(seed)
    parts: list[tuple] = []
    have = 0
    while have < n:
        codes, starts, stops, ok = _logic_batch(rng, n - have + 8, n_start, n_stop)
        keep = np.flatnonzero(ok)[: n - have]
        parts.append((codes[keep], starts[keep], stops[keep]))
        have += len(keep)
    return tuple(np.concatenate(p) for p in zip(*parts, strict=True))


def _mixture_positions(rng: np.random.Generator, n: int, n_start: np.ndarray) -> np.ndarray:
    """Positions (n, 4) of 2 starts then 2 stops: one shared frame (40 %) or free (60 %)."""
    frame = rng.integers(0, 3, (n, 1))
    same = frame + 3 * rng.random((n, _N_SLOTS)).argsort(1)[:, :4]
    free = rng.integers(0, _P, (n, 4))
    pick = (rng.random((n, 2)) * np.maximum(n_start, 1)[:, None]).astype(int)
    anchor = np.take_along_axis(free, pick, 1)  # a planted start per stop
    room = (_P - 1 - anchor) // 3
    downstream = anchor + 3 * (1 + (rng.random((n, 2)) * np.maximum(room, 1)).astype(int))
    anchored = (rng.random((n, 2)) < 0.5) & (n_start > 0)[:, None] & (room > 0)
    free[:, 2:] = np.where(anchored, downstream, free[:, 2:])
    return np.where(rng.random((n, 1)) < 0.4, same, free)


def _mixture_batch(rng: np.random.Generator, n: int) -> np.ndarray:
    """Valid sequences (M <= n, UTR_LEN) of the train/valid mixture (module docstring)."""
    n_start, n_stop = rng.integers(0, 3, n), rng.integers(0, 3, n)
    pos = _mixture_positions(rng, n, n_start)
    which = np.concatenate([np.zeros((n, 2), dtype=np.int64), rng.integers(1, 4, (n, 2))], 1)
    active = np.concatenate([np.arange(2) < n_start[:, None], np.arange(2) < n_stop[:, None]], 1)
    both = active[:, :, None] & active[:, None, :] & ~np.eye(4, dtype=bool)
    overlap = (both & (np.abs(pos[:, :, None] - pos[:, None, :]) < 3)).any((1, 2))
    raw = rng.random(n) < 0.3
    codes = rng.integers(0, 4, (n, UTR_LEN), dtype=np.int8)
    starts, stops, fixed = _plant(codes, pos, which, active)
    clean = ~raw & ~overlap
    sub = codes[clean]
    ok = ~overlap
    ok[clean] = _repair(rng, sub, fixed[clean], starts[clean], stops[clean])
    codes[clean] = sub
    return codes[ok]


def _mixture(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` mixture sequences (n, UTR_LEN) with the three oracle classes balanced exactly."""
    need = np.array([n // 3 + (c < n % 3) for c in range(3)])
    parts = []
    while need.any():
        codes = _mixture_batch(rng, 2 * n)
        y = _labels(codes)
        rank = np.zeros(len(y), dtype=np.int64)
        for c in range(3):
            rank[y == c] = np.arange((y == c).sum())
        keep = rank < need[y]
        need -= np.bincount(y[keep], minlength=3)
        parts.append(codes[keep])
    return np.concatenate(parts)


# --------------------------------------------------------------------------- splits


def _dataset(codes: np.ndarray, ids: list[str], extra: dict | None = None) -> Dataset:
    gt = GroundTruth(_motifs(*_deciding(codes)))
    return Dataset(
        codes=torch.from_numpy(codes.astype(np.int8)),
        n_letters=len(DNA),
        y=torch.from_numpy(_labels(codes)),
        ids=ids,
        ground_truth=gt,
        extra=extra or {},
    )


def _test_split() -> Dataset:
    rng = np.random.default_rng([SEED, _STREAM["test"]])
    codes, names, ids = [], [], []
    for name, (n_start, n_stop) in LOGIC_SETS.items():
        c, starts, stops = generate_logic_set(rng.integers(2**32), TEST_PER_SET, n_start, n_stop)
        deciding = _deciding(c)
        if not (_labels(c) == 1).all():
            raise RuntimeError(f"utr5 {name}: a test sequence is not a uORF")
        if not ((deciding[0] == starts).all() and (deciding[1] == stops).all()):
            raise RuntimeError(f"utr5 {name}: planted codons differ from the deciding ones")
        codes.append(c)
        names += [name] * len(c)
        ids += [f"{name}-{i:03d}" for i in range(len(c))]
    return _dataset(np.concatenate(codes), ids, {"logic_set": names})


@functools.cache
def _split(split: str) -> Dataset:
    if split == "test":
        return _test_split()
    if split not in SIZES:
        raise ValueError(f"utr5 has splits train, valid, test; not {split!r}")
    codes = _mixture(np.random.default_rng([SEED, _STREAM[split]]), SIZES[split])
    return _dataset(codes, [f"{split}-{i:05d}" for i in range(len(codes))])


def data(split: str) -> Dataset:
    """One split (``train``, ``valid`` or ``test``), generated once per process.

    Returns
    -------
    ds : Dataset
        X (N, 4, 50) one-hot, y (N,) oracle classes, ground truth = deciding
        codons; the test split has ``extra["logic_set"]``. A shallow copy of the
        cached split: do not modify its tensors in place.
    """
    return replace(_split(split))


def ground_truth(ds: Dataset) -> GroundTruth:
    """The deciding start and stop codons of every sequence of ``ds``.

    For test sequences these are exactly the planted codons.

    Returns
    -------
    gt : GroundTruth
        One list of ``Motif("start" | "stop", p, p + 3)`` per sequence.
    """
    codes = ds.codes.numpy().astype(np.int8)
    return GroundTruth(_motifs(*_deciding(codes)))


def background(train: Dataset) -> Background:
    """Uniform letters at every position (module docstring explains why); ``train`` is unused."""
    return Background(torch.full((len(DNA),), 1.0 / len(DNA)))


# --------------------------------------------------------------------------- model zoo


class UTR5CNN(nn.Module):
    """Codon detector, frame-aligned dilated convolutions, dense head over positions.

    ``conv(4 -> C, k=3)`` detects codons; convolutions with dilations 3, 9, 27
    (k=3) connect codons of one reading frame up to 39 nt apart on either side;
    a dense head over all ``length`` positions knows each codon's frame relative
    to the CDS. Every nonlinearity is its own module, nothing is in place, and
    there is no max pooling (DeepLIFT / DeepSHAP friendly).

    X : (N, 4, length) -> logits (N, n_classes)
    """

    kind = "cnn"

    def __init__(
        self,
        channels: int = 32,
        dilations: Sequence[int] = (1, 3, 9, 27),
        hidden: int = 32,
        length: int = UTR_LEN,
        n_classes: int = len(CLASSES),
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i, d in enumerate(dilations):
            layers += [
                nn.Conv1d(len(DNA) if i == 0 else channels, channels, 3, dilation=d, padding=d),
                nn.ReLU(),
            ]
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * length, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n_classes),
        )
        for module in self.modules():  # He init: a deep plain ReLU stack trains from it
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) of one-hot X (N, 4, length)."""
        return self.head(self.body(X))


#: Architecture and training configuration of the ``cnn`` zoo model (stored in its checkpoint).
CNN_CONFIG = {
    "arch": {"channels": 32, "dilations": [1, 3, 9, 27], "hidden": 32},
    "train": {"epochs": 15, "batch_size": 128, "lr": 1e-3, "patience": 3},
}


def _build_cnn() -> UTR5CNN:
    return UTR5CNN(**CNN_CONFIG["arch"])


TASK = register_task(
    Task(
        name="utr5",
        version="1",
        alphabet=DNA,
        classes=CLASSES,
        data=data,
        models={
            "cnn": ModelSpec(
                "cnn",
                _build_cnn,
                CNN_CONFIG,
                "codon conv + dilated (3, 9, 27) frame convs + dense head, trained on oracle labels",
            )
        },
        default_model="cnn",
        checkpoint_dir=Path(__file__).parent / "checkpoints" / "utr5",
        ground_truth=ground_truth,
        background=background,
        default_n=200,
        quality_split="valid",
        # the seed paper's definition: the top 6 positions must cover whole codons
        metric_options={"motif_recall": {"k": 6}},
        description=(
            "Synthetic 50-nt 5' UTRs upstream of a CDS: upstream start and in-frame stop "
            "codons (uORFs) in four logic sets, labelled by a deterministic Optimus-like "
            "oracle (none / uORF / out-of-frame oORF); ground truth: the deciding codons."
        ),
    )
)
