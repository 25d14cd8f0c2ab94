"""Hit rate (attrbench_tasks.psl.hit_rate_metric): extraction, positional weights, known answers.

Every expected value is computed by hand in the comments.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attrbench.core.data import Dataset
from attrbench.core.plugin import METRICS, Explanation, Method, NotApplicable
from attrbench_tasks.common.alphabets import PROTEIN
from attrbench_tasks.psl.hit_rate_metric import (
    COLUMNS,
    extract_batch,
    extract_subsequences,
    hit_rate,
    hit_rates,
    positional_weight,
)
from attrbench_tasks.psl.knowledge import KnowledgeBase

NAN = math.nan


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTRBENCH_CACHE", str(tmp_path / "cache"))


def pairs(a: np.ndarray, b: np.ndarray) -> list[tuple[int, int]]:
    return list(zip(a.tolist(), b.tolist(), strict=True))


def spans(subs) -> list[tuple[int, int]]:
    return pairs(subs.start, subs.end)


# --------------------------------------------------------------------------- extraction


def test_one_peak_grows_two_residues_each_side():
    # 12 scores, one 9: mean 0.75, SD sqrt(81/12 - 0.75**2) = 2.487, threshold 5.72
    subs = extract_subsequences([0] * 6 + [9] + [0] * 5)
    assert spans(subs) == [(4, 9)] and subs.origin.tolist() == [4] and subs.seq.tolist() == [0]


def test_overlapping_windows_merge_touching_ones_do_not():
    # 20 scores, two 10s: mean 1, SD sqrt(200/20 - 1) = 3, threshold 7: both are peaks
    scores = np.zeros(20)
    scores[[3, 6]] = 10  # windows [1, 6) and [4, 9) share residues 4, 5: one subsequence
    assert spans(extract_subsequences(scores)) == [(1, 9)]
    scores = np.zeros(20)
    scores[[2, 7]] = 10  # windows [0, 5) and [5, 10) only touch: two subsequences
    assert spans(extract_subsequences(scores)) == [(0, 5), (5, 10)]
    scores = np.zeros(20)
    scores[[5, 6, 7]] = 10  # mean 1.5, SD sqrt(300/20 - 2.25) = 3.57, threshold 8.64
    assert spans(extract_subsequences(scores)) == [(3, 10)]


def test_windows_are_clipped_at_the_ends():
    scores = np.zeros(20)
    scores[[0, 19]] = 10  # threshold 7 as above; [-2, 3) -> [0, 3), [17, 22) -> [17, 20)
    assert spans(extract_subsequences(scores)) == [(0, 3), (17, 20)]


def test_padding_is_ignored():
    # 12 real residues then padding with huge scores: neither a peak nor in the mean or SD
    scores = np.array([0] * 6 + [9] + [0] * 5 + [1e9] * 8, dtype=float)
    mask = np.arange(20) < 12
    assert spans(extract_subsequences(scores, mask)) == [(4, 9)]
    # a peak at the last real residue is clipped at the end of the real residues
    scores = np.array([0] * 11 + [9] + [-1e9] * 8, dtype=float)
    assert spans(extract_subsequences(scores, mask)) == [(9, 12)]


def test_constant_scores_give_no_subsequence():
    assert len(extract_subsequences(np.ones(30)).seq) == 0


def test_thresholds_are_options():
    scores = np.zeros(20)
    scores[[3, 6]] = 10  # threshold with n_sd=3: 1 + 3 * 3 = 10, not above: no peak
    assert spans(extract_subsequences(scores, n_sd=3.0)) == []
    assert spans(extract_subsequences(scores, n_sd=2.0, flank=1)) == [(2, 5), (5, 8)]  # touch


def test_trimmed_protein_is_split_at_the_junction():
    # encoded length 10 of a 30-residue protein: residues 0-4, then 25-29 (junction at 5)
    scores = np.array([0, 0, 0, 0, 30, 0, 0, 0, 0, 0], dtype=float)
    # mean 3, SD sqrt(900/10 - 9) = 9, threshold 21: peak 4, window [2, 7) cut at 5
    subs = extract_subsequences(scores, length=30)
    assert spans(subs) == [(2, 5)] and subs.origin.tolist() == [2]
    scores = np.array([0, 0, 0, 0, 0, 0, 30, 0, 0, 0], dtype=float)
    # peak 6 in the tail: window [4, 9) cut at 5 -> [5, 9), residues 25..28
    subs = extract_subsequences(scores, length=30)
    assert spans(subs) == [(5, 9)] and subs.origin.tolist() == [25]
    # not trimmed (length 10): the same scores give [4, 9) at residue 4
    assert extract_subsequences(scores, length=10).origin.tolist() == [4]


def test_batch_equals_one_by_one():
    g = torch.Generator().manual_seed(0)
    scores = torch.randn(6, 40, generator=g)
    mask = torch.arange(40)[None] < torch.tensor([40, 35, 30, 12, 3, 0])[:, None]
    lengths = torch.tensor([90, 35, 30, 12, 3, 0])
    batch = extract_batch(scores, mask, lengths)
    for i in range(6):
        one = extract_subsequences(scores[i].numpy(), mask[i].numpy(), int(lengths[i]))
        mine = batch.seq == i
        assert spans(one) == pairs(batch.start[mine], batch.end[mine])
        assert one.origin.tolist() == batch.origin[mine].tolist()


def test_positional_weights():
    d, s = np.array([0, 3, -5, 10, -20]), np.full(5, 5)
    # bounded: 1, min(1, 5/3) = 1, min(1, 5/5) = 1, 5/10, 5/20
    assert positional_weight(d, s).tolist() == [1.0, 1.0, 1.0, 0.5, 0.25]
    # literal 1 / (p_e - p_s): 1, 1/3, -1/5, 1/10, -1/20 (negative when the entry's is earlier)
    np.testing.assert_allclose(positional_weight(d, s, "literal"), [1, 1 / 3, -0.2, 0.1, -0.05])
    with pytest.raises(ValueError, match="unknown weight"):
        positional_weight(d, s, "linear")


# --------------------------------------------------------------------------- known answers

PEP = "KTAYI"
# The hand-built knowledge base. Q1 and Q2 are query proteins (Q3 is not in it).
#   Q1: PEP at 30, Nucleus (its own entry: excluded)
#   E1: PEP at 30, Nucleus
#   E2: PEP at 40, Cytoplasm
#   E3: PEP at 10 and at 60, Cytoplasm;Nucleus (multi-location; counts once, nearest occurrence)
#   Q2: the only entry with WCHWM, Nucleus
ENTRIES = {
    "Q1": ("G" * 30 + PEP + "G" * 15, "Nucleus"),
    "E1": ("W" * 30 + PEP + "W" * 5, "Nucleus"),
    "E2": ("W" * 40 + PEP, "Cytoplasm"),
    "E3": ("W" * 10 + PEP + "W" * 45 + PEP, "Cytoplasm;Nucleus"),
    "Q2": ("G" * 20 + "WCHWM" + "G" * 25, "Nucleus"),
}
CLASSES = ("Nucleus", "Cytoplasm")


@pytest.fixture
def kb() -> KnowledgeBase:
    accessions = list(ENTRIES)
    return KnowledgeBase(
        accessions, [ENTRIES[a][0] for a in accessions], [ENTRIES[a][1] for a in accessions]
    )


def queries(peaks: list[int], L: int = 60):
    """Q1, Q2 and Q3 (Q3: PEP at 45, not in the knowledge base), a spike at each peak."""
    seqs = [ENTRIES["Q1"][0], ENTRIES["Q2"][0], "G" * 45 + PEP]
    X = PROTEIN.encode(seqs, L)
    mask = X.sum(1) > 0
    scores = torch.zeros(3, L)
    scores[torch.arange(3), torch.tensor(peaks)] = 10.0
    scores[~mask] = 1e6  # padding: ignored
    return X, mask, scores


def test_hit_rates_by_hand(kb):
    X, mask, scores = queries([32, 22, 47])  # windows [30, 35) = PEP, [20, 25) = WCHWM, [45, 50)
    true = [("Nucleus",), ("Nucleus",), ("Cytoplasm",)]
    predicted = ["Cytoplasm", "Nucleus", "Cytoplasm"]
    rates = hit_rates(kb, X, scores, mask, ["Q1", "Q2", "Q3"], (true, predicted))
    # Q1 (p_s = 30): Q1 itself excluded; E1 at 30: w = 1, Nucleus; E2 at 40: w = 5/10 = 0.5,
    # Cytoplasm; E3 nearest at 10: w = 5/20 = 0.25, Cytoplasm;Nucleus.
    #   true Nucleus:        (1 + 0.25) / (1 + 0.5 + 0.25) = 1.25 / 1.75 = 0.714285...
    #   predicted Cytoplasm: (0.5 + 0.25) / 1.75 = 0.428571...
    # Q2: WCHWM is only in Q2 itself: no match.
    # Q3 (p_s = 45, not in the base, so Q1 counts): Q1 at 30: w = 5/15 = 1/3, Nucleus;
    # E1 at 30: 1/3, Nucleus; E2 at 40: w = 1 (5/5), Cytoplasm; E3 nearest at 60: 5/15 = 1/3.
    #   true Cytoplasm: (1 + 1/3) / (1/3 + 1/3 + 1 + 1/3) = (4/3) / 2 = 2/3
    np.testing.assert_allclose(rates.true, [1.25 / 1.75, NAN, 2 / 3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rates.predicted, [0.75 / 1.75, NAN, 2 / 3], rtol=0, atol=1e-12)
    assert rates.matched.tolist() == [True, False, True]
    assert (rates.n_subsequences, rates.n_short, rates.n_without_subsequence) == (3, 0, 0)


def test_literal_weights_by_hand(kb):
    X, mask, scores = queries([32, 22, 47])
    true = [("Nucleus",), ("Nucleus",), ("Cytoplasm",)]
    rates = hit_rates(
        kb, X, scores, mask, ["Q1", "Q2", "Q3"], (true, ["Cytoplasm"] * 3), weight="literal"
    )
    # Q1: w = 1 (E1), 1/(40-30) = 0.1 (E2), 1/(10-30) = -0.05 (E3): sum 1.05
    #   true:      (1 - 0.05) / 1.05 = 0.904761...; predicted: (0.1 - 0.05) / 1.05 = 0.047619...
    # Q3: 1/(30-45) = -1/15 (Q1 and E1 each), 1/(40-45) = -0.2 (E2), 1/(60-45) = 1/15 (E3):
    #   sum -0.2 - 1/15 = -4/15; true Cytoplasm: (-0.2 + 1/15) / (-4/15) = (-2/15) / (-4/15) = 0.5
    np.testing.assert_allclose(rates.true, [0.95 / 1.05, NAN, 0.5], atol=1e-12)
    np.testing.assert_allclose(rates.predicted[0], 0.05 / 1.05, atol=1e-12)


def test_the_query_protein_is_excluded_by_accession(kb):
    X, mask, scores = queries([32, 22, 47])
    true = [("Nucleus",)] * 3
    # Under another accession, Q2's own entry counts: WCHWM at 20 in a Nucleus entry: 1.0
    rates = hit_rates(kb, X, scores, mask, ["new1", "new2", "new3"], (true, true))
    assert rates.true[1] == 1.0 and rates.matched[1]
    # Q1 then also counts itself at 30, w = 1, Nucleus: (1 + 1 + 0.25) / 2.75
    np.testing.assert_allclose(rates.true[0], 2.25 / 2.75, atol=1e-12)


def test_short_subsequences_are_skipped_and_counted(kb):
    X, mask, scores = queries([32, 0, 47])  # Q2's peak at 0: window [0, 3), 3 residues
    nucleus = ([("Nucleus",)] * 3, ["Nucleus"] * 3)
    rates = hit_rates(kb, X, scores, mask, ["Q1", "Q2", "Q3"], nucleus)
    assert (rates.n_subsequences, rates.n_short, rates.n_without_subsequence) == (3, 1, 1)
    assert not rates.matched[1] and math.isnan(rates.true[1])
    rates = hit_rates(kb, X, scores, mask, ["Q1", "Q2", "Q3"], nucleus, min_length=3)
    assert rates.n_short == 0 and rates.matched[1]  # GGG is in Q1 (and Q2 excluded)


def test_trimmed_query_positions_are_original(kb):
    # A 100-residue protein encoded at L = 40: residues 0-19, then 80-99. PEP at residue 80
    # is encoded at 20; its original position 80 is what the weight compares:
    # Q1 at 30: 5/50 = 0.1, Nucleus (T1 is not Q1: it counts); E1 at 30: 0.1, Nucleus;
    # E2 at 40: 5/40 = 0.125, Cytoplasm; E3 nearest at 60: 5/20 = 0.25, Cytoplasm;Nucleus
    # true Nucleus: (0.1 + 0.1 + 0.25) / (0.1 + 0.1 + 0.125 + 0.25) = 0.45 / 0.575
    seq = "G" * 80 + PEP + "G" * 15
    encoded = seq[:20] + seq[-20:]
    X = PROTEIN.encode([encoded], 40)
    scores = torch.zeros(1, 40)
    scores[0, 22] = 10.0
    rates = hit_rates(
        kb,
        X,
        scores,
        X.sum(1) > 0,
        ["T1"],
        ([("Nucleus",)], ["Nucleus"]),
        lengths=torch.tensor([100]),
    )
    np.testing.assert_allclose(rates.true, [0.45 / 0.575], atol=1e-12)


# --------------------------------------------------------------------------- the metric


def make_ex(kb, X, mask, scores, y, target, ids, classes=CLASSES) -> Explanation:
    N = X.shape[0]
    locations = [(CLASSES[int(c)],) for c in y]
    ds = Dataset(X, mask, y, ids, extra={"locations": locations, "length": mask.sum(1).long()})
    method = Method("toy", lambda *a, **k: None, position_level=True)
    ex = Explanation(
        X=X,
        mask=mask,
        y=y,
        target=target,
        attributions=scores[:, None].expand(N, 21, -1).clone(),
        model=None,
        explain=None,
        method=method,
        background=None,
        generator=torch.Generator().manual_seed(0),
        dataset=ds,
        resources={"knowledge_base": kb},
    )
    if classes is not None:
        ex.classes = classes
    return ex


def test_metric_columns_by_hand(kb):
    X, mask, scores = queries([32, 22, 47])
    y, target = torch.tensor([0, 0, 1]), torch.tensor([1, 0, 1])  # Q1 wrong, Q2 and Q3 right
    out = METRICS.get("hit_rate")(make_ex(kb, X, mask, scores, y, target, ["Q1", "Q2", "Q3"]))
    assert out.shape == (3, len(COLUMNS)) and out.dtype == torch.float64
    expected = [
        # hit_rate (true)  correct  wrong_predicted  wrong_true    no_match
        [1.25 / 1.75, NAN, 0.75 / 1.75, 1.25 / 1.75, 0.0],  # Q1: Nucleus, not Cytopl.
        [NAN, NAN, NAN, NAN, 1.0],  # Q2: no match but itself
        [2 / 3, 2 / 3, NAN, NAN, 0.0],  # Q3: Cytoplasm, right
    ]
    # chance: the share of the other entries with the location. Q1 (itself left out): Nucleus
    # in E1, E3, Q2 of 4, Cytoplasm (predicted) in E2, E3 of 4; Q2: Nucleus in Q1, E1, E3 of 4;
    # Q3 (not in the base): Cytoplasm in E2, E3 of 5
    #           chance  chance_correct  chance_wrong_predicted  chance_wrong_true
    chance = [[0.75, NAN, 0.5, 0.75], [0.75, 0.75, NAN, NAN], [0.4, 0.4, NAN, NAN]]
    expected = [row + extra for row, extra in zip(expected, chance, strict=True)]
    torch.testing.assert_close(
        out, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-12, equal_nan=True
    )


def test_metric_warns_with_the_short_count(kb):
    X, mask, scores = queries([32, 0, 47])
    y = torch.tensor([0, 0, 1])
    ex = make_ex(kb, X, mask, scores, y, y, ["Q1", "Q2", "Q3"])
    with pytest.warns(UserWarning, match=r"1 of 3 subsequences are shorter than min_length=5"):
        out = hit_rate(ex)
    assert out[:, 4].tolist() == [0.0, 1.0, 0.0]
    # constant scores: no position above mean + 2 SD, nothing to search
    scores = torch.ones(3, 60)
    ex = make_ex(kb, X, mask, scores, y, y, ["Q1", "Q2", "Q3"])
    with pytest.warns(UserWarning, match=r"3 of 3 sequences have no subsequence to search"):
        out = hit_rate(ex)
    assert out[:, 4].tolist() == [1.0, 1.0, 1.0] and out[:, :4].isnan().all()


def test_metric_class_names_from_the_option(kb):
    X, mask, scores = queries([32, 22, 47])
    y, target = torch.tensor([0, 0, 1]), torch.tensor([1, 0, 1])
    ex = make_ex(kb, X, mask, scores, y, target, ["Q1", "Q2", "Q3"], classes=None)
    out = hit_rate(ex, classes=CLASSES)
    assert out[0, 2].item() == pytest.approx(0.75 / 1.75)
    if not getattr(ex, "classes", None):
        with pytest.raises(NotApplicable, match="class names"):
            hit_rate(ex)


def test_registration():
    metric = METRICS.get("hit_rate")
    assert metric.needs_resources == ("knowledge_base",) and metric.columns == COLUMNS
    assert metric.higher_is_better and metric.defaults["min_length"] == 5


# --------------------------------------------------------------------------- psl wiring and report


def test_psl_declares_the_knowledge_base_and_the_report():
    from attrbench.core.plugin import TASKS
    from attrbench_tasks.psl import hit_rate_report, knowledge

    task = TASKS.get("psl")
    assert task.resources["knowledge_base"] is knowledge.knowledge_base
    assert (
        task.reports["hit_rate"] is hit_rate_report.REPORT
        and hit_rate_report.REPORT.plan is hit_rate_report.plan
    )


def _record(model: str, method: str, values: dict[str, list[float]], status: str = "ok"):
    from attrbench.reporting.stats import bootstrap_mean
    from attrbench.running.results import CellKey, Record, pack_values

    ids = ["a", "b", "c", "d"]
    key = CellKey(
        "psl",
        "1",
        "h",
        model,
        "c",
        method,
        {},
        "hit_rate",
        {"resources": {"knowledge_base": "kbhash"}},
        4,
        0,
    )
    if status != "ok":
        return Record(key, status, reason="no attention")
    table = np.array([values.get(c, [NAN] * 4) for c in COLUMNS], dtype=float).T
    cols = {
        c: {**vars(bootstrap_mean(table[:, j])), "higher_is_better": True}
        for j, c in enumerate(COLUMNS)
    }
    main = cols["hit_rate"]
    return Record(
        key,
        "ok",
        True,
        main["mean"],
        main["low"],
        main["high"],
        n_scored=main["n"],
        n_missing=main["n_missing"],
        columns=cols,
        per_sequence=pack_values(ids, table, COLUMNS),
    )


# proteins a, b, c predicted correctly (b without a match for attention), d wrongly
CHANCE = {
    "chance_correct": [0.3, 0.3, 0.3, NAN],
    "chance_wrong_predicted": [NAN, NAN, NAN, 0.1],
    "chance_wrong_true": [NAN, NAN, NAN, 0.5],
    "chance": [0.3, 0.3, 0.3, 0.5],
}
ATTENTION = {
    "correct": [0.6, NAN, 0.8, NAN],
    "wrong_predicted": [NAN, NAN, NAN, 0.2],
    "wrong_true": [NAN, NAN, NAN, 0.4],
    "hit_rate": [0.6, NAN, 0.8, 0.4],
    **CHANCE,
}
PERMUTED = {
    "correct": [0.4, 0.5, 0.5, NAN],
    "wrong_predicted": [NAN, NAN, NAN, 0.3],
    "wrong_true": [NAN, NAN, NAN, 0.1],
    "hit_rate": [0.4, 0.5, 0.5, 0.1],
    **CHANCE,
}


def test_paired_difference_pairs_on_the_proteins_both_score():
    from attrbench.reporting.stats import bootstrap_mean
    from attrbench_tasks.psl.hit_rate_report import paired_difference

    att, perm = _record("bilstm_att", "attention", ATTENTION), _record("bilstm_att", "x", PERMUTED)
    d = paired_difference(att, perm, "correct")  # a: 0.6 - 0.4, c: 0.8 - 0.5 (b: attention none)
    assert d.n == 2 and d.mean == pytest.approx(0.25)
    ref = bootstrap_mean(np.array([0.2, 0.3]))
    assert (d.low, d.high) == pytest.approx((ref.low, ref.high))
    chance = paired_difference(att, att, "correct", "chance_correct")  # 0.6 - 0.3, 0.8 - 0.3
    assert chance.n == 2 and chance.mean == pytest.approx(0.4)


def test_headline_is_the_paired_difference_from_random():
    from attrbench.reporting.stats import bootstrap_mean
    from attrbench_tasks.psl.hit_rate_report import headline

    by = {
        ("attention", "bilstm_att"): _record("bilstm_att", "attention", ATTENTION),
        ("random", "bilstm_att"): _record("bilstm_att", "random", PERMUTED),
        ("attention", "cnn_bilstm_big_att"): _record("cnn_bilstm_big_att", "attention", ATTENTION),
    }
    diffs = headline(by)
    # hit_rate: a 0.6 - 0.4, b attention none, c 0.8 - 0.5, d 0.4 - 0.1; no random on the cnn
    assert list(diffs) == [("attention", "bilstm_att")]
    d = diffs[("attention", "bilstm_att")]
    assert d.n == 3 and d.mean == pytest.approx(0.8 / 3)
    ref = bootstrap_mean(np.array([0.2, 0.3, 0.3]))
    assert (d.low, d.high) == pytest.approx((ref.low, ref.high))


def test_report_plan_and_render():
    from attrbench_tasks.psl import hit_rate_report

    configs = hit_rate_report.plan()
    assert [(c.models, c.methods, c.n) for c in configs] == [
        (list(hit_rate_report.TABLE2_MODELS), ["ig"], -1),
        (list(hit_rate_report.TABLE2_MODELS), ["saliency", "random"], -1),
        (list(hit_rate_report.TABLE3_MODELS), list(hit_rate_report.TABLE3_METHODS), -1),
    ]
    assert all(c.metrics == ["hit_rate"] and c.task == "psl" for c in configs)
    assert [c.n for c in hit_rate_report.plan(n=100, n_ig=20)] == [20, 100, 100]

    records = [
        _record("bilstm_att", "attention", ATTENTION),
        _record("bilstm_att", "attention_permuted", PERMUTED),
        _record("bilstm_att", "random", PERMUTED),
        _record("cnn_bilstm_big_att", "attention", {}, status="not_applicable"),
    ]
    text = hit_rate_report.render(records)
    assert "kbhash" in text and "Table 2" in text and "Table 3" in text
    head = text[text.index("Headline") : text.index("Table 2")]
    assert "| Attention weights " in head and "+0.267 [" in head and "n=3" in head
    assert "| Permuted attention " in head and "n=4" in head  # the control against itself: 0
    assert "0.700 [0.600, 0.800] (n=2); no match 33.3% of 3" in text  # attention, correct row
    assert "no match 0.0% of 3" in text  # the permuted control matches every correct protein
    assert "n/a [1]" in text and "[1] no attention" in text  # a refused cell and its footnote
    assert "| -" in text  # a cell nobody ran
    assert "0.300 [0.300, 0.300] of 3" in text  # chance level of the correct row
    lines = [line for line in text.splitlines() if "attention - attention_permuted" in line]
    assert len(lines) == 1 and "+0.250 [" in lines[0] and "n=2" in lines[0]
    assert any("attention - chance" in line and "+0.400 [" in line for line in text.splitlines())
    assert any("attention - random" in line for line in text.splitlines())
    assert "0.559" in text and "0.083" in text  # the paper's values are shown alongside


def test_hit_rate_contract_on_a_tiny_knowledge_base(kb):
    """The metric contract (tests/test_contract.py) with the resource the generic test lacks."""
    X, mask, scores = queries([32, 22, 47])
    y, target = torch.tensor([0, 0, 1]), torch.tensor([1, 0, 1])
    X0 = X.clone()
    metric = METRICS.get("hit_rate")
    out = metric(make_ex(kb, X, mask, scores, y, target, ["Q1", "Q2", "Q3"]))
    assert out.shape == (3, len(metric.columns)) and (torch.isfinite(out) | torch.isnan(out)).all()
    assert torch.isfinite(out[:, 0]).any() and torch.equal(X, X0)
    again = metric(make_ex(kb, X, mask, scores, y, target, ["Q1", "Q2", "Q3"]))
    torch.testing.assert_close(again, out, equal_nan=True, rtol=0, atol=0)
    noisy = scores.clone()
    noisy[~mask] = -1e9
    padded = metric(make_ex(kb, X, mask, noisy, y, target, ["Q1", "Q2", "Q3"]))
    torch.testing.assert_close(padded, out, equal_nan=True, msg="padding must be ignored")
    part = metric(make_ex(kb, X[1:], mask[1:], scores[1:], y[1:], target[1:], ["Q2", "Q3"]))
    torch.testing.assert_close(part, out[1:], equal_nan=True, msg="batch independence")
