"""Ground-truth motif metrics: recall and logic accuracy of the top positions,
AUROC and average precision of position scores, and mean importance on motifs.

Every metric ranks the position scores of real positions only (padding is never
ranked, never counted) and returns NaN for a sequence it cannot score (no motif,
no background position, a constant map).

Top-K and ties
--------------
The top-K positions of a sequence are its K highest position scores among real
positions, by default signed (the evidence *for* the explained class ranks
first; ``absolute=True`` ranks by magnitude). Ties are broken deterministically
by position: among equal scores the lower position is taken first.
By default (``k=None``) K is the total length of the sequence's ground-truth
motifs, so a perfect (oracle) map always scores 1: 6 for one start and one stop
codon, 9 for two starts and one stop (the number of positions fixed in seed 004,
Fig. S4B), 4 for a C-terminal KDEL. ``utr5`` keeps the seed paper's K = 6 for
``motif_recall`` (seed 004, Table D and Fig. S4D: the 6 most important positions
must hold a whole start and a whole stop codon) through its task options; there
the oracle row shows what a perfect map reaches.

Only sequences whose explained class is the truth's class (``target == y``) are
scored; the others are NaN.

References
----------
Linder, J., La Fleur, A., Chen, Z., Ljubetic, A., Baker, D., Kannan, S. and
Seelig, G. (2022). Interpreting neural networks for biological sequences by
learning stochastic masks. Nature Machine Intelligence 4, 41-54. Supplementary
Fig. S4C (mean importance) and S4D (recall of start and stop codons).

Hanley, J. A. and McNeil, B. J. (1982). The meaning and use of the area under a
receiver operating characteristic (ROC) curve. Radiology 143, 29-36.

Pedregosa, F. et al. (2011). Scikit-learn: machine learning in Python. JMLR 12,
2825-2830 (``average_precision_score``, whose definition is used here).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from attrbench.core.data import GroundTruth
from attrbench.core.plugin import Explanation, NotApplicable, Option, register_metric
from attrbench.metrics._common import nan_where, ranked_scores, top_k_mask

__all__ = [
    "MotifTable",
    "motif_table",
    "motif_hits",
    "motif_recall",
    "logic_accuracy",
    "motif_auroc",
    "motif_auprc",
    "motif_importance",
]


@dataclass(frozen=True)
class MotifTable:
    """All motif occurrences of a batch as flat tensors of length M.

    Parameters
    ----------
    seq, start, end, kind : torch.Tensor, shape=(M,), int64
        Sequence index, start, exclusive end and index into ``kinds`` of each occurrence.
    kinds : tuple of str
        The motif kinds, in order of first appearance.
    n : int
        Number of sequences N.
    """

    seq: torch.Tensor
    start: torch.Tensor
    end: torch.Tensor
    kind: torch.Tensor
    kinds: tuple[str, ...]
    n: int

    def per_sequence(self, values: torch.Tensor) -> torch.Tensor:
        """Sum ``values`` (M,) per sequence: a float64 tensor of shape (N,)."""
        out = torch.zeros(self.n, dtype=torch.float64, device=values.device)
        return out.index_add_(0, self.seq, values.double())

    def of_kind(self, kind: str | None) -> torch.Tensor:
        """Which occurrences (M,) are of ``kind`` (all of them when None)."""
        if kind is None:
            return torch.ones_like(self.seq, dtype=torch.bool)
        if kind not in self.kinds:
            return torch.zeros_like(self.seq, dtype=torch.bool)
        return self.kind == self.kinds.index(kind)


def _ground_truth(ex: Explanation) -> GroundTruth:
    """The ground truth of the sequences scored: those whose explained class is the truth's class.

    The truth's class of a sequence is its label ``y``; a sequence explained for
    another class (``target != y``) keeps no motif, so every motif metric gives it
    NaN (it is counted in ``n_missing``, never scored against a truth that is not
    the explained class's).
    """
    if ex.ground_truth is None:
        raise NotApplicable(f"motif metrics need ground truth; dataset of {len(ex.X)} has none")
    same = (ex.target.cpu() == ex.y.cpu()).tolist()
    return GroundTruth(
        [m if ok else [] for m, ok in zip(ex.ground_truth.motifs, same, strict=True)]
    )


def motif_table(gt: GroundTruth, device: torch.device | str = "cpu") -> MotifTable:
    """Flatten ``gt.motifs`` into a :class:`MotifTable` on ``device``."""
    kinds: dict[str, int] = {}
    rows = [
        (i, m.start, m.end, kinds.setdefault(m.kind, len(kinds)))
        for i, motifs in enumerate(gt.motifs)
        for m in motifs
    ]
    cols = torch.tensor(rows, dtype=torch.long, device=device).reshape(-1, 4).T
    return MotifTable(cols[0], cols[1], cols[2], cols[3], tuple(kinds), len(gt.motifs))


def motif_hits(
    ex: Explanation, table: MotifTable, k: int | None = None, absolute: bool = False
) -> torch.Tensor:
    """How many letters of each motif occurrence are among the top-K real positions.

    Parameters
    ----------
    ex : Explanation
    table : MotifTable
    k : int, optional
        K for every sequence; by default the total motif length of each sequence.
    absolute : bool
        Rank by ``|score|`` instead of the signed score.

    Returns
    -------
    hits : torch.Tensor, shape=(M,), int64
    """
    scores = ranked_scores(ex, absolute)
    mask = ex.mask.to(ex.device)
    if k is None:
        K = table.per_sequence(table.end - table.start).long()
    else:
        K = torch.full((table.n,), int(k), dtype=torch.long, device=ex.device)
    top = top_k_mask(scores, mask, K).long()
    cum = torch.nn.functional.pad(top.cumsum(1), (1, 0))
    return cum[table.seq, table.end] - cum[table.seq, table.start]


#: ``motif_recall`` definitions: the paper's (whole motifs) and the lenient one (any letter).
RECALL_DEFINITIONS = ("paper", "lenient")


@register_metric(
    "motif_recall",
    higher_is_better=True,
    needs_ground_truth=True,
    defaults={"definition": "paper", "k": None, "kind": None, "absolute": False},
    option_schema={
        "definition": Option(str, choices=("paper", "lenient")),
        "k": Option(int, low=1, none=True),
        "absolute": Option(bool),
    },
)
def motif_recall(
    ex: Explanation,
    definition: str = "paper",
    k: int | None = None,
    kind: str | None = None,
    absolute: bool = False,
) -> torch.Tensor:
    """Recall of ground-truth motifs among the top-K positions, by default as seed 004 scores it.

    ``definition="paper"`` (seed 004, Fig. S4D / Table D): a sequence scores 1
    if its top-K positions (K = 6) cover a whole occurrence of every motif kind
    it carries (for ``utr5``: one whole start codon and one whole stop codon;
    for a sequence with one signal motif: that whole motif), else 0.
    ``definition="lenient"``: the fraction of the sequence's motif occurrences
    with at least one letter among the top-K positions (it saturates on utr5).

    Parameters
    ----------
    ex : Explanation
    definition : {"paper", "lenient"}
    k : int, optional
        K; None (default): the total length of the sequence's motifs (see module notes).
    kind : str, optional
        Count only motifs of this kind (paper: the one kind that must be whole;
        lenient: the occurrences counted, as the columns of seed 004 Table D).
        K still covers all of the sequence's motifs.
    absolute : bool
        Rank by ``|score|``.

    Returns
    -------
    recall : torch.Tensor, shape=(N,), float64
        NaN for a sequence without a (counted) motif.
    """
    if definition not in RECALL_DEFINITIONS:
        raise ValueError(
            f"motif_recall definition is one of {RECALL_DEFINITIONS}, not {definition!r}"
        )
    table = motif_table(_ground_truth(ex), ex.device)
    hits = motif_hits(ex, table, k, absolute)
    counted = table.of_kind(kind)
    if definition == "paper":
        return _all_kinds_whole(table, hits == (table.end - table.start), counted)
    found = (hits > 0) & counted
    n_motifs = table.per_sequence(counted)
    return nan_where(table.per_sequence(found) / n_motifs.clamp_min(1), n_motifs == 0)


def _all_kinds_whole(table: MotifTable, whole: torch.Tensor, counted: torch.Tensor) -> torch.Tensor:
    """Per sequence (N,): 1.0 if every counted kind present has a whole occurrence, 0.0, NaN if none."""
    device = table.seq.device
    present = torch.zeros((table.n, max(len(table.kinds), 1)), dtype=torch.bool, device=device)
    present[table.seq[counted], table.kind[counted]] = True
    covered = torch.zeros_like(present)
    ok = whole & counted
    covered[table.seq[ok], table.kind[ok]] = True
    return nan_where((covered | ~present).all(1).double(), ~present.any(1))


@register_metric(
    "logic_accuracy",
    higher_is_better=True,
    needs_ground_truth=True,
    defaults={"k": None, "absolute": False},
)
def logic_accuracy(ex: Explanation, k: int | None = None, absolute: bool = False) -> torch.Tensor:
    """1 if the top-K positions cover a whole motif of every kind present, else 0.

    For ``utr5`` this asks for a whole start codon and a whole stop codon among
    the top-K positions (seed 004, Fig. S4D and S4H "error rate"); with
    the same ``k`` it equals ``motif_recall`` (paper definition).

    Parameters
    ----------
    ex : Explanation
    k : int, optional
        K; by default the total length of the sequence's motifs (see module notes).
    absolute : bool
        Rank by ``|score|``.

    Returns
    -------
    accuracy : torch.Tensor, shape=(N,), float64
        1.0 or 0.0; NaN for a sequence without motifs.

    Raises
    ------
    NotApplicable
        When no sequence of the ground truth carries two motif kinds (a task
        with one motif kind, such as a TATA box or one sorting signal, has no
        logic to test; its score would only repeat ``motif_recall``).
    """
    gt = _ground_truth(ex)
    if not _has_logic(ex.ground_truth):
        raise NotApplicable(
            "logic_accuracy needs sequences that carry two motif kinds; "
            "this task's truth has one kind per sequence"
        )
    table = motif_table(gt, ex.device)
    whole = motif_hits(ex, table, k, absolute) == (table.end - table.start)
    return _all_kinds_whole(table, whole, table.of_kind(None))


def _has_logic(gt: GroundTruth | None) -> bool:
    """Whether some sequence of ``gt`` carries motifs of two kinds."""
    return gt is not None and any(len({m.kind for m in ms}) > 1 for ms in gt.motifs)


def _ranking_inputs(ex: Explanation, absolute: bool) -> tuple[torch.Tensor, ...]:
    """Scores (float64), labels and mask (N, L), and counts of positives and negatives (N,)."""
    mask = ex.mask.to(ex.device)
    scores = ranked_scores(ex, absolute).double()
    labels = _ground_truth(ex).positions(mask.shape[1]).to(ex.device) & mask
    n_pos = labels.sum(1)
    return scores, labels, mask, n_pos, mask.sum(1) - n_pos


def _count_below(scores: torch.Tensor, among: torch.Tensor, right: bool = False) -> torch.Tensor:
    """Per entry of ``scores`` (N, L), how many entries marked by ``among`` are < it (<= if right)."""
    ref = scores.masked_fill(~among, float("inf")).sort(1).values
    return torch.searchsorted(ref, scores.contiguous(), right=right)


@register_metric(
    "motif_auroc", higher_is_better=True, needs_ground_truth=True, defaults={"absolute": False}
)
def motif_auroc(ex: Explanation, absolute: bool = False) -> torch.Tensor:
    """AUROC of position scores against ground-truth motif positions, per sequence.

    The rank (Mann-Whitney) form with average ranks for ties, over real positions:
    ``(sum of positive ranks - P (P + 1) / 2) / (P Q)``; equals scikit-learn's
    ``roc_auc_score``.

    Parameters
    ----------
    ex : Explanation
    absolute : bool
        Score by ``|score|``.

    Returns
    -------
    auroc : torch.Tensor, shape=(N,), float64
        NaN for a sequence with no positive or no negative position.
    """
    scores, labels, mask, n_pos, n_neg = _ranking_inputs(ex, absolute)
    below = _count_below(scores, mask)
    at_most = _count_below(scores, mask, right=True)
    ranks = (below + at_most + 1).double() / 2
    rank_sum = (ranks * labels).sum(1)
    P, Q = n_pos.double(), n_neg.double()
    auroc = (rank_sum - P * (P + 1) / 2) / (P * Q).clamp_min(1)
    return nan_where(auroc, (n_pos == 0) | (n_neg == 0))


@register_metric(
    "motif_auprc", higher_is_better=True, needs_ground_truth=True, defaults={"absolute": False}
)
def motif_auprc(ex: Explanation, absolute: bool = False) -> torch.Tensor:
    """Average precision of position scores against ground-truth motif positions, per sequence.

    As scikit-learn's ``average_precision_score``: ``sum_n (R_n - R_{n-1}) P_n``
    over the distinct score thresholds, i.e. the mean over positive positions of
    the precision at the threshold equal to their score (tied positions enter
    together).

    Parameters
    ----------
    ex : Explanation
    absolute : bool
        Score by ``|score|``.

    Returns
    -------
    average_precision : torch.Tensor, shape=(N,), float64
        NaN for a sequence with no positive or no negative position.
    """
    scores, labels, mask, n_pos, n_neg = _ranking_inputs(ex, absolute)
    at_least = mask.sum(1, keepdim=True) - _count_below(scores, mask)
    tp_at_least = n_pos[:, None] - _count_below(scores, labels)
    precision = tp_at_least.double() / at_least.clamp_min(1)
    ap = (precision * labels).sum(1) / n_pos.clamp_min(1)
    return nan_where(ap, (n_pos == 0) | (n_neg == 0))


@register_metric(
    "motif_importance",
    higher_is_better=True,
    needs_ground_truth=True,
    columns=("motif_vs_background", "motif", "background"),
    defaults={"kind": None, "normalize": True, "absolute": False},
)
def motif_importance(
    ex: Explanation, kind: str | None = None, normalize: bool = True, absolute: bool = False
) -> torch.Tensor:
    """Mean position score on motif positions, on background positions, and their difference.

    Seed 004 Table S4C reports the mean importance of start-codon, stop-codon and
    background ('Bkgr') positions. Raw scores are not comparable across methods
    (a Scrambler's scores are 10x a gradient's), so by default each sequence's
    means are divided by the standard deviation (population, ``ddof=0``) of its
    real-position scores; ``normalize=False`` gives the paper's raw means.

    Parameters
    ----------
    ex : Explanation
    kind : str, optional
        Motif positions of this kind only (e.g. ``"stop"``); the background is
        always the real positions outside every motif.
    normalize : bool
        Divide by the per-sequence standard deviation of real-position scores.
    absolute : bool
        Use ``|score|``.

    Returns
    -------
    importance : torch.Tensor, shape=(N, 3), float64
        Columns motif - background, motif, background. NaN for a sequence without
        (such) motif positions, without background positions, or with a constant map.
    """
    gt = _ground_truth(ex)
    mask = ex.mask.to(ex.device)
    scores = ranked_scores(ex, absolute).double()
    anywhere = gt.positions(mask.shape[1]).to(ex.device) & mask
    chosen = [[m for m in ms if kind is None or m.kind == kind] for ms in gt.motifs]
    motif = GroundTruth(chosen).positions(mask.shape[1]).to(ex.device) & mask
    background = mask & ~anywhere
    on_motif = (scores * motif).sum(1) / motif.sum(1).clamp_min(1)
    on_background = (scores * background).sum(1) / background.sum(1).clamp_min(1)
    out = torch.stack([on_motif - on_background, on_motif, on_background], 1)
    invalid = (motif.sum(1) == 0) | (background.sum(1) == 0)
    if normalize:
        mean = (scores * mask).sum(1, keepdim=True) / mask.sum(1, keepdim=True).clamp_min(1)
        var = (((scores - mean) * mask) ** 2).sum(1) / mask.sum(1).clamp_min(1)
        out = out / var.sqrt().clamp_min(1e-300)[:, None]
        top = scores.masked_fill(~mask, float("-inf")).amax(1)
        invalid |= top == scores.masked_fill(~mask, float("inf")).amin(1)
    return nan_where(out, invalid[:, None].expand_as(out))
