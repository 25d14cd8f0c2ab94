"""Hit rate (seed 000 section 3.4.2, SPEC section 5): are the top subsequences where the protein is?

Extraction
----------
Per sequence, over its real residues only: the positions whose score is above
``mean + n_sd * SD`` (population SD, ``n_sd = 2``) are peaks; each peak grows
to a window of ``flank = 2`` residues on both sides, clipped at the ends;
windows that overlap (share a residue) merge into one subsequence, windows
that only touch stay apart. A protein longer than the encoded length L keeps
its first ``L // 2`` and last ``L - L // 2`` residues (the psl task's DeepLoc
convention; ``dataset.extra["length"]`` holds original lengths): its encoded
position ``p >= L // 2`` is residue ``p + length - L``, and the junction of the
two halves is an end like the protein's own, so no subsequence spans residues
that are not adjacent in the protein. Subsequence positions are read in the
original protein's coordinates. Scores without a tail give few peaks or none:
uniform draws are at most ``mean + 1.73 SD`` of their distribution, so uniform
random scores extract almost nothing (such sequences count in ``no_match`` and
in the warning).

Searching
---------
Every subsequence is looked up exactly in the knowledge base
(:class:`attrbench_tasks.psl.knowledge.KnowledgeBase`, a suffix-array index); the query
protein's own entry (same accession) never counts. With E the entries that
contain subsequence s, p_e the position of s in entry e (the occurrence nearest
p_s when e contains s several times: each entry counts once) and p_s its
position in the query protein::

    hitrate(s) = sum_e w_e [loc_e matches loc_P] / sum_e w_e
    w_e = 1 if p_e == p_s else min(1, |s| / |p_e - p_s|)      (weight="bounded")

the authors' bounded weight (a match within one subsequence length of the
same position weighs fully). ``weight="literal"`` is the paper's equation (5),
``w_e = 1 / (p_e - p_s)`` for ``p_e != p_s``: it is negative for entries where s
sits earlier than in the query, so the "rate" can leave [0, 1] or be undefined
(a zero sum of weights, then the subsequence is not scored). Locations match
when the sets share any name (multi-location entries and classes). A
sequence's hit rate is the mean over its subsequences that matched at least
one entry; a sequence none of whose subsequences matched anything but itself
has no hit rate (NaN, counted in ``no_match``), never 0.

Minimum length
--------------
Subsequences shorter than ``min_length`` (default 5) are skipped and counted
(a warning gives the count; :class:`HitRates` keeps it). Merged windows are at
least ``2 * flank + 1 = 5`` long, so only windows clipped at an end or at the
junction, and proteins shorter than 5, are affected. Five is the paper's
subsequence length, and the shortest length at which a match means more than
amino-acid composition: a random k-mer occurs about R / 20**k times in R
residues, about 60 times for k = 4 in SCL2205's 9.8 million residues, 3 for
k = 5 and 0.15 for k = 6, so 3- and 4-mers match hundreds of unrelated
entries and would pull every hit rate toward the knowledge base's location
frequencies.

Columns
-------
``hit_rate`` against the true location, every sequence with a match;
``correct``: the same for correctly predicted sequences (NaN otherwise);
``wrong_predicted`` and ``wrong_true``: for wrong predictions, against the
predicted and against the true location (the rows of the paper's Tables 2-3);
``no_match``: 1.0 when no subsequence matched any other entry, else 0.0 (its
mean is the fraction without a match). "Predicted" is ``ex.target``, the class
explained (the predicted class in a benchmark run).

Chance level
------------
``chance``: the share of knowledge-base entries (the query's own entry left out)
whose locations match the protein's true location: the hit rate of a
subsequence found in entries drawn at random, whatever the method (0.282 on
average over SCL2205's held-out split). ``chance_correct``,
``chance_wrong_predicted`` and ``chance_wrong_true`` are the same for the
proteins of each row of Tables 2-3, against the location that row uses, for
*every* protein of the row (with or without a match): a protein with a chance
value and no hit rate in a row is a protein of that row without a match.
These columns do not depend on the method; the paired comparison of a hit-rate
column with its chance column (on the proteins both score) says whether the
subsequences know more than the location frequencies.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000), section 3.4.2, eq. (4)-(5), Tables 2-3.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from attrbench.core.plugin import Explanation, NotApplicable, register_metric
from attrbench_tasks.common.alphabets import PROTEIN

from .knowledge import KnowledgeBase

__all__ = [
    "COLUMNS",
    "WEIGHTS",
    "Subsequences",
    "HitRates",
    "extract_subsequences",
    "extract_batch",
    "peptides_of",
    "positional_weight",
    "subsequence_hit_rates",
    "hit_rates",
    "hit_rate",
    "chance_levels",
    "CHANCE",
]

#: Columns of the ``hit_rate`` metric; the first is the main score.
COLUMNS = (
    "hit_rate",
    "correct",
    "wrong_predicted",
    "wrong_true",
    "no_match",
    "chance",
    "chance_correct",
    "chance_wrong_predicted",
    "chance_wrong_true",
)
#: Chance-level columns: the same for every method (their direction is the hit rate's).
CHANCE = COLUMNS[5:]
#: Positional weights: the authors' bounded one and the paper's literal 1 / (p_e - p_s).
WEIGHTS = ("bounded", "literal")
_DEFAULTS = {"n_sd": 2.0, "flank": 2, "min_length": 5, "weight": "bounded", "absolute": False}
_LETTERS = np.frombuffer(PROTEIN.letters.encode(), dtype=np.uint8)


class Subsequences(NamedTuple):
    """Extracted subsequences of a batch, as flat arrays of length S (sorted by sequence, start).

    Parameters
    ----------
    seq : np.ndarray, shape=(S,), int64
        Index of the sequence.
    start, end : np.ndarray, shape=(S,), int64
        Encoded positions, ``end`` exclusive.
    origin : np.ndarray, shape=(S,), int64
        0-based start in the original (untrimmed) protein.
    """

    seq: np.ndarray
    start: np.ndarray
    end: np.ndarray
    origin: np.ndarray

    @property
    def length(self) -> np.ndarray:
        """Lengths (S,)."""
        return self.end - self.start

    def take(self, keep: np.ndarray) -> Subsequences:
        """The subsequences where ``keep`` (S,) is True."""
        return Subsequences(*(a[keep] for a in self))


def _segments(mask: np.ndarray, junction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and exclusive end (N, L) of the run of real positions holding each position.

    Runs are maximal stretches of ``mask``, cut at ``junction[i]`` (-1: no cut).
    """
    N, L = mask.shape
    pos = np.arange(L)
    cut = pos[None, :] == junction[:, None]
    prev = np.zeros_like(mask)
    prev[:, 1:] = mask[:, :-1]
    after = np.zeros_like(mask)
    after[:, :-1] = mask[:, 1:] & ~cut[:, 1:]
    begin = mask & (~prev | cut)
    start = np.maximum.accumulate(np.where(begin, pos, -1), axis=1)
    finish = np.where(mask & ~after, pos + 1, L + 1)
    end = np.minimum.accumulate(finish[:, ::-1], axis=1)[:, ::-1]
    return start, end


def _numpy(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else a


def extract_batch(
    scores: np.ndarray | torch.Tensor,
    mask: np.ndarray | torch.Tensor,
    lengths: np.ndarray | torch.Tensor | None = None,
    *,
    n_sd: float = 2.0,
    flank: int = 2,
) -> Subsequences:
    """Subsequences around the peaks of position scores (module notes), for a batch.

    Parameters
    ----------
    scores : array, shape=(N, L)
        Position scores; padding is ignored whatever it holds.
    mask : array, shape=(N, L), bool
        True on real residues.
    lengths : array, shape=(N,), int, optional
        Original protein lengths; a protein longer than L is read as its first
        ``L // 2`` and last ``L - L // 2`` residues. None: no protein was trimmed.
    n_sd : float
        Peaks are above ``mean + n_sd * SD`` of the sequence's real scores.
    flank : int
        Residues added on each side of a peak.

    Returns
    -------
    subsequences : Subsequences
    """
    s = np.asarray(_numpy(scores), np.float64)
    m = np.asarray(_numpy(mask), bool)
    N, L = s.shape
    n = np.maximum(m.sum(1), 1)
    s = np.where(m, s, 0.0)
    mean = s.sum(1) / n
    sd = np.sqrt((np.where(m, s - mean[:, None], 0.0) ** 2).sum(1) / n)
    peak = m & (s > (mean + n_sd * sd)[:, None])
    lengths = np.full(N, L) if lengths is None else np.asarray(lengths, np.int64)
    junction = np.where(lengths > L, L // 2, -1)
    seg_start, seg_end = _segments(m, junction)
    seq, pos = np.nonzero(peak)
    if len(seq) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Subsequences(empty, empty, empty, empty)
    first = seg_start[seq, pos]
    lo = np.maximum(pos - flank, first)
    hi = np.minimum(pos + flank + 1, seg_end[seq, pos])
    new = np.ones(len(pos), dtype=bool)  # lo, hi grow with pos within a segment
    new[1:] = (seq[1:] != seq[:-1]) | (first[1:] != first[:-1]) | (lo[1:] >= hi[:-1])
    at = np.flatnonzero(new)
    g_seq, g_lo, g_hi = seq[at], lo[at], np.maximum.reduceat(hi, at)
    shift = np.where((junction[g_seq] >= 0) & (g_lo >= junction[g_seq]), lengths[g_seq] - L, 0)
    return Subsequences(
        g_seq.astype(np.int64),
        g_lo.astype(np.int64),
        g_hi.astype(np.int64),
        (g_lo + shift).astype(np.int64),
    )


def extract_subsequences(
    scores: np.ndarray | torch.Tensor,
    mask: np.ndarray | torch.Tensor | None = None,
    length: int | None = None,
    *,
    n_sd: float = 2.0,
    flank: int = 2,
) -> Subsequences:
    """Subsequences of one sequence (see :func:`extract_batch`).

    Parameters
    ----------
    scores : array, shape=(L,)
    mask : array, shape=(L,), bool, optional
        Real residues (default: every position).
    length : int, optional
        The original protein length, when the encoding trimmed it.

    Returns
    -------
    subsequences : Subsequences
        ``seq`` is 0 throughout.

    Examples
    --------
    >>> subs = extract_subsequences([0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0])
    >>> subs.start.tolist(), subs.end.tolist()
    ([4], [9])
    """
    s = np.asarray(scores, dtype=np.float64)[None]
    m = np.ones(s.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)[None]
    lengths = None if length is None else np.array([length])
    return extract_batch(s, m, lengths, n_sd=n_sd, flank=flank)


def peptides_of(X: torch.Tensor, subs: Subsequences) -> list[str]:
    """The letters of each subsequence, read from one-hot protein sequences.

    Parameters
    ----------
    X : torch.Tensor, shape=(N, 21, L)
        One-hot over :data:`attrbench_tasks.common.alphabets.PROTEIN`.

    Returns
    -------
    peptides : list of str, length S
    """
    letters = _LETTERS[X.argmax(1).cpu().numpy()]
    rows = zip(subs.seq, subs.start, subs.end, strict=True)
    return [letters[i, a:b].tobytes().decode() for i, a, b in rows]


def positional_weight(
    distance: np.ndarray, length: np.ndarray, weight: str = "bounded"
) -> np.ndarray:
    """Weight of a match at ``distance = p_e - p_s`` residues from the query's position.

    Parameters
    ----------
    distance : np.ndarray, shape=(K,), int
    length : np.ndarray, shape=(K,), int
        Length of the subsequence.
    weight : str
        ``"bounded"``: ``min(1, |s| / |p_e - p_s|)``; ``"literal"``: ``1 / (p_e - p_s)``
        (negative when ``p_e < p_s``). Both are 1 at distance 0.

    Returns
    -------
    w : np.ndarray, shape=(K,), float64
    """
    if weight not in WEIGHTS:
        raise ValueError(f"unknown weight {weight!r}; choose one of {WEIGHTS}")
    d = np.asarray(distance, dtype=np.float64)
    safe = np.where(d == 0, 1.0, d)
    w = np.minimum(1.0, length / np.abs(safe)) if weight == "bounded" else 1.0 / safe
    return np.where(d == 0, 1.0, w)


def _occurrences(kb: KnowledgeBase, peptides: Sequence[str]) -> tuple[np.ndarray, ...]:
    """Every occurrence of every peptide (each distinct peptide searched once).

    Returns
    -------
    sub, entry, position : np.ndarray, shape=(K,), int64
        The peptide's index in ``peptides``, the entry and the position.
    """
    unique, inverse = np.unique(np.asarray(peptides, dtype=str), return_inverse=True)
    found = kb.find_many(list(unique))
    per_unique = np.bincount(found.query, minlength=len(unique))
    first = np.cumsum(per_unique) - per_unique  # where each unique peptide's rows start
    count = per_unique[inverse]
    sub = np.repeat(np.arange(len(peptides)), count)
    offset = np.arange(len(sub)) - np.repeat(np.cumsum(count) - count, count)
    rows = np.repeat(first[inverse], count) + offset
    return sub, found.entry[rows], found.position[rows]


def _nearest_per_entry(sub: np.ndarray, entry: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Indices keeping, per (subsequence, entry), the occurrence nearest the query position."""
    order = np.lexsort((np.abs(dist), entry, sub))
    first = np.ones(len(order), dtype=bool)
    first[1:] = (sub[order][1:] != sub[order][:-1]) | (entry[order][1:] != entry[order][:-1])
    return order[first]


def subsequence_hit_rates(
    kb: KnowledgeBase,
    peptides: Sequence[str],
    origins: np.ndarray,
    own_entry: np.ndarray,
    masks: Sequence[np.ndarray],
    weight: str = "bounded",
) -> tuple[np.ndarray, np.ndarray]:
    """The hit rate of each subsequence against one or more location sets.

    Parameters
    ----------
    kb : KnowledgeBase
    peptides : sequence of str, length S
    origins : np.ndarray, shape=(S,), int
        Start of each subsequence in its (original) query protein.
    own_entry : np.ndarray, shape=(S,), int
        The query protein's entry in ``kb`` (-1 if absent); it never counts.
    masks : sequence of np.ndarray, each shape=(S, W), uint8
        Location masks (:meth:`KnowledgeBase.location_mask`) per subsequence,
        e.g. the true and the predicted locations.
    weight : str
        ``"bounded"`` or ``"literal"`` (:func:`positional_weight`).

    Returns
    -------
    rates : np.ndarray, shape=(len(masks), S), float64
        NaN where the subsequence matched no other entry (or, literal weights
        only, its weights sum to 0).
    n_entries : np.ndarray, shape=(S,), int64
        Entries other than the query that contain each subsequence.
    """
    S = len(peptides)
    sub, entry, pos = _occurrences(kb, peptides)
    keep = entry != own_entry[sub]
    sub, entry, dist = sub[keep], entry[keep], pos[keep] - origins[sub[keep]]
    pick = _nearest_per_entry(sub, entry, dist)
    sub, entry, dist = sub[pick], entry[pick], dist[pick]
    lengths = np.fromiter((len(p) for p in peptides), dtype=np.int64, count=S)
    w = positional_weight(dist, lengths[sub], weight)
    n_entries = np.bincount(sub, minlength=S)
    total = np.bincount(sub, weights=w, minlength=S)
    rates = np.full((len(masks), S), math.nan)
    scored = (n_entries > 0) & (total != 0)
    for j, mask in enumerate(masks):
        hit = kb.matches_location(entry, mask[sub])
        rates[j, scored] = np.bincount(sub, weights=w * hit, minlength=S)[scored] / total[scored]
    return rates, n_entries


@dataclass(frozen=True)
class HitRates:
    """Per-sequence hit rates of a batch, and what extraction skipped.

    Parameters
    ----------
    true, predicted : np.ndarray, shape=(N,), float64
        Mean hit rate of the sequence's subsequences against its true and its
        predicted locations; NaN without a match.
    matched : np.ndarray, shape=(N,), bool
        At least one subsequence is in an entry other than the query protein.
    n_subsequences : int
        Subsequences extracted, short ones included.
    n_short : int
        Subsequences shorter than ``min_length``: skipped, not searched.
    n_without_subsequence : int
        Sequences left with no subsequence to search.
    """

    true: np.ndarray
    predicted: np.ndarray
    matched: np.ndarray
    n_subsequences: int
    n_short: int
    n_without_subsequence: int


def _per_sequence(values: np.ndarray, seq: np.ndarray, n: int) -> np.ndarray:
    """Mean of the finite ``values`` (S,) of each sequence (N,); NaN for none."""
    ok = np.isfinite(values)
    count = np.bincount(seq[ok], minlength=n)
    sums = np.bincount(seq[ok], weights=values[ok], minlength=n)
    out = np.full(n, math.nan)
    out[count > 0] = sums[count > 0] / count[count > 0]
    return out


def hit_rates(
    kb: KnowledgeBase,
    X: torch.Tensor,
    scores: torch.Tensor,
    mask: torch.Tensor,
    accessions: Sequence[str],
    locations: tuple[Sequence[str | Iterable[str]], Sequence[str | Iterable[str]]],
    lengths: torch.Tensor | np.ndarray | None = None,
    *,
    n_sd: float = 2.0,
    flank: int = 2,
    min_length: int = 5,
    weight: str = "bounded",
) -> HitRates:
    """Hit rates of a batch of proteins against their true and predicted locations.

    Parameters
    ----------
    kb : KnowledgeBase
    X : torch.Tensor, shape=(N, 21, L)
        One-hot proteins.
    scores : torch.Tensor, shape=(N, L)
        Position scores.
    mask : torch.Tensor, shape=(N, L), bool
    accessions : sequence of str, length N
        The query proteins' accessions (their own entries are excluded).
    locations : (true, predicted)
        Per protein, its true and its predicted locations (``"A;B"`` or an
        iterable of names; normalized like the knowledge base's).
    lengths : array, shape=(N,), optional
        Original protein lengths (module notes on trimming).
    n_sd, flank, min_length, weight
        See the module notes.

    Returns
    -------
    rates : HitRates
    """
    N = X.shape[0]
    subs = extract_batch(scores, mask, lengths, n_sd=n_sd, flank=flank)
    long = subs.length >= min_length
    kept = subs.take(long)
    own = np.array([kb.index_of(a) for a in accessions], dtype=np.int64)
    masks = [np.stack([kb.location_mask(locs) for locs in group]) for group in locations]
    rates, n_entries = subsequence_hit_rates(
        kb, peptides_of(X, kept), kept.origin, own[kept.seq], [m[kept.seq] for m in masks], weight
    )
    matched = np.bincount(kept.seq, weights=n_entries > 0, minlength=N) > 0
    return HitRates(
        true=_per_sequence(rates[0], kept.seq, N),
        predicted=_per_sequence(rates[1], kept.seq, N),
        matched=matched,
        n_subsequences=len(subs.seq),
        n_short=int((~long).sum()),
        n_without_subsequence=int(N - len(np.unique(kept.seq))),
    )


def chance_levels(
    kb: KnowledgeBase,
    accessions: Sequence[str],
    locations: tuple[Sequence[str | Iterable[str]], ...],
) -> tuple[np.ndarray, ...]:
    """Per protein, the share of other entries matching each of its location sets.

    Parameters
    ----------
    kb : KnowledgeBase
    accessions : sequence of str, length N
        The query proteins (their own entries are left out of the shares).
    locations : tuple of sequences, each of length N
        E.g. (true, predicted) locations per protein.

    Returns
    -------
    shares : tuple of np.ndarray, each shape=(N,), float64
    """
    own = np.array([kb.index_of(a) for a in accessions], dtype=np.int64)
    return tuple(
        kb.label_share(np.stack([kb.location_mask(locs) for locs in group]), exclude=own)
        for group in locations
    )


def _class_names(ex: Explanation, classes: Sequence[str] | None) -> Sequence[str]:
    names = classes if classes is not None else ex.classes
    if not names:
        raise NotApplicable(
            "hit_rate needs the task's class names to read the predicted location "
            "(Explanation.classes, or the metric option classes=[...])"
        )
    return names


@register_metric(
    "hit_rate",
    higher_is_better=True,
    columns=COLUMNS,
    column_directions={"no_match": False},
    needs_resources=("knowledge_base",),
    defaults=_DEFAULTS,
)
def hit_rate(
    ex: Explanation,
    n_sd: float = 2.0,
    flank: int = 2,
    min_length: int = 5,
    weight: str = "bounded",
    absolute: bool = False,
    classes: Sequence[str] | None = None,
) -> torch.Tensor:
    """Hit rate of the top subsequences against a protein knowledge base (seed 000).

    Parameters
    ----------
    ex : Explanation
        Reads ``ex.resources["knowledge_base"]``, ``ex.dataset.ids`` (accessions),
        ``ex.dataset.extra["locations"]`` and ``["length"]``, ``ex.y`` and
        ``ex.target`` (class names from ``ex.classes`` or ``classes``).
    n_sd, flank, min_length, weight
        See the module notes.
    absolute : bool
        Extract peaks of ``|score|`` instead of the signed score.
    classes : sequence of str, optional
        Class names (``"Cytoplasm;Nucleus"``: locations joined by ``;``) when the
        explanation does not carry them.

    Returns
    -------
    scores : torch.Tensor, shape=(N, 9), float64
        Columns :data:`COLUMNS`; NaN where a column does not apply or nothing matched.
    """
    kb = ex.resources.get("knowledge_base")
    if kb is None:
        raise NotApplicable("hit_rate needs a knowledge base (resource 'knowledge_base')")
    if ex.X.shape[1] != len(PROTEIN):
        raise NotApplicable(
            f"hit_rate reads proteins ({len(PROTEIN)} letters), not {ex.X.shape[1]} letters"
        )
    names = _class_names(ex, classes)
    y, target = ex.y.cpu().numpy(), ex.target.cpu().numpy()
    true = ex.dataset.extra.get("locations") or [names[int(c)] for c in y]
    predicted = [names[int(c)] for c in target]
    scores = ex.scores.abs() if absolute else ex.scores
    rates = hit_rates(
        kb,
        ex.X,
        scores,
        ex.mask,
        ex.dataset.ids,
        (true, predicted),
        ex.dataset.extra.get("length"),
        n_sd=n_sd,
        flank=flank,
        min_length=min_length,
        weight=weight,
    )
    chance_true, chance_predicted = chance_levels(kb, ex.dataset.ids, (true, predicted))
    if rates.n_short or rates.n_without_subsequence:
        warnings.warn(
            f"hit_rate: {rates.n_short} of {rates.n_subsequences} subsequences are shorter than "
            f"min_length={min_length} and were skipped; {rates.n_without_subsequence} of "
            f"{len(y)} sequences have no subsequence to search (no score above mean + "
            f"{n_sd:g} SD, or only short ones): counted in no_match",
            stacklevel=2,
        )
    correct = y == target
    nan = np.full(len(y), math.nan)
    out = np.stack(
        [
            rates.true,
            np.where(correct, rates.true, nan),
            np.where(correct, nan, rates.predicted),
            np.where(correct, nan, rates.true),
            (~rates.matched).astype(np.float64),
            chance_true,
            np.where(correct, chance_true, nan),
            np.where(correct, nan, chance_predicted),
            np.where(correct, nan, chance_true),
        ],
        axis=1,
    )
    return torch.from_numpy(out)
