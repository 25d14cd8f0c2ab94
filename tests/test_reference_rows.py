"""Known answers for the floor and ceiling of every ground-truth column: the random and oracle
reference rows in the leaderboard tables and on the site, the normalised score, a cell's n,
the uninformative-column marks and the site's metrics page."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest
import torch

from attrbench.core.data import GroundTruth, Motif
from attrbench.metrics.motif import motif_recall
from attrbench.reporting.leaderboard import render
from attrbench.reporting.stats import bootstrap_mean
from attrbench.reporting.tables import (
    CEILING_LABEL,
    FLOOR_LABEL,
    NORMALISED_COLUMN,
    summary,
    tables,
)
from attrbench.reporting.validity import (
    RELIANCE_METRIC,
    TaskOracle,
    _control_level,
    oracle_scores,
    scored_ids,
)
from attrbench.running.results import CellKey, Record, pack_values
from attrbench.testing import random_onehot
from tests.test_metrics import make_ex

N = 40
IDS = [f"s{i}" for i in range(N)]
RNG = np.random.default_rng(3)
FLIP = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)
#: Per-sequence motif_auroc of each method: the random control near 0.5, methods well above it.
VALUES = {
    "random": 0.5 + 0.05 * RNG.standard_normal(N),
    "saliency": 0.6 + 0.05 * RNG.standard_normal(N),
    "ig": 0.7 + 0.05 * RNG.standard_normal(N),
    "ism": 0.8 + 0.05 * RNG.standard_normal(N),
}


def _key(method: str, metric: str, n: int = N, model: str = "m") -> CellKey:
    return CellKey("toy", "1", "d" * 16, model, "c" * 16, method, {}, metric, {}, n, 0)


def _record(method: str, values: np.ndarray, metric: str = "motif_auroc", n: int = N) -> Record:
    s = bootstrap_mean(values, seed=0)
    return Record(
        _key(method, metric, n),
        "ok",
        True,
        s.mean,
        s.low,
        s.high,
        s.n,
        s.n_missing,
        per_sequence=pack_values(IDS[: len(values)], np.asarray(values)[:, None], (metric,)),
        date="2026-01-01",
    )


def _records() -> list[Record]:
    return [_record(m, v) for m, v in VALUES.items()]


def ones_oracle(records):
    """A known oracle: 1 on every sequence of a ground-truth column (the AUROC of a perfect map)."""
    assert {(r.key.task, r.key.model) for r in records} == {("toy", "m")}
    return np.ones(len(scored_ids(records))) if records[0].key.metric == "motif_auroc" else None


def _rows(table) -> dict:
    return {r.label: r for r in table.rows}


def test_the_tables_show_a_random_floor_and_an_oracle_ceiling_never_best():
    (table,) = tables(_records(), oracle=ones_oracle)
    rows = _rows(table)
    assert [r.label for r in table.rows][-2:] == [FLOOR_LABEL, CEILING_LABEL]
    floor, ceiling = rows[FLOOR_LABEL], rows[CEILING_LABEL]
    assert (floor.reference, ceiling.reference) == ("floor", "ceiling")
    # the random row is the random control's own record; the oracle row scores 1 on all 40
    assert floor.cells[0].mean == _records()[0].value
    assert ceiling.cells[0].mean == 1.0 and ceiling.cells[0].n == N
    assert not floor.cells[0].best and not ceiling.cells[0].best
    assert rows["ism"].cells[0].best and table.columns[0].informative


def test_reference_rows_are_not_ranked_and_every_format_marks_them():
    ranked = summary(_records(), oracle=ones_oracle)
    assert [r.label for r in ranked.rows] == ["ism", "ig", "saliency"]
    for fmt in ("markdown", "latex", "html"):
        text = render(_records(), fmt, oracle=ones_oracle)
        assert FLOOR_LABEL in text and CEILING_LABEL in text and "reference rows" in text
    page = render(_records(), "html", oracle=ones_oracle)
    assert '<tr class="reference floor">' in page and '<tr class="reference ceiling">' in page


def test_normalised_scores_put_random_at_zero_and_oracle_at_one():
    (table,) = tables(_records(), oracle=ones_oracle, normalised=True)
    rows, random = _rows(table), _records()[0].value
    assert table.columns[0].normalised and "(normalised)" in table.columns[0].header
    assert rows[FLOOR_LABEL].cells[0].mean == 0.0 and rows[CEILING_LABEL].cells[0].mean == 1.0
    ism = _record("ism", VALUES["ism"])
    assert rows["ism"].cells[0].mean == pytest.approx((ism.value - random) / (1 - random))
    assert rows["ism"].cells[0].low == pytest.approx((ism.low - random) / (1 - random))
    # the summary averages the same normalised scores across tables
    ranked = summary(_records(), oracle=ones_oracle)
    j = [c.metric for c in ranked.columns].index(NORMALISED_COLUMN)
    ism_row = next(r for r in ranked.rows if r.label == "ism")
    assert ism_row.cells[j].mean == pytest.approx((ism.value - random) / (1 - random))
    assert ism_row.cells[j].n == 1


def test_the_csv_has_the_oracle_row_and_the_normalised_scores():
    rows = list(csv.DictReader(io.StringIO(render(_records(), "csv", oracle=ones_oracle))))
    by_method = {r["method"]: r for r in rows}
    assert float(by_method["(oracle)"]["value"]) == 1.0 and by_method["(oracle)"]["n"] == "40"
    assert float(by_method["random"]["normalised"]) == 0.0
    random = _records()[0].value
    assert float(by_method["ig"]["normalised"]) == pytest.approx(
        (float(by_method["ig"]["value"]) - random) / (1 - random)
    )
    plain = list(csv.DictReader(io.StringIO(render(_records(), "csv"))))
    assert {r["normalised"] for r in plain} == {""} and "(oracle)" not in {
        r["method"] for r in plain
    }


def test_a_cell_shows_its_n_when_it_differs_from_the_header_in_every_format():
    records = _records() + [_record("deeplift", VALUES["ism"][:37] + 0.01, n=N)]
    (table,) = tables(records)
    cell = _rows(table)["deeplift"].cells[0]
    assert cell.show_n and cell.n == 37 and not _rows(table)["ism"].cells[0].show_n
    for fmt in ("markdown", "latex", "html"):
        text = render(records, fmt)
        assert text.count("(n=37)") == 1 and "(n=40)" not in text.split("summary")[0]
    rows = list(csv.DictReader(io.StringIO(render(records, "csv"))))
    assert {r["method"]: r["n"] for r in rows}["deeplift"] == "37"


def test_an_uninformative_column_marks_no_best_and_says_why():
    # every method 0.001 k below the random control on average: none separates from it
    flat = {m: VALUES["random"] - 0.001 * k + 0.01 * FLIP for k, m in enumerate(VALUES)}
    (table,) = tables([_record(m, v) for m, v in flat.items()])
    col = table.columns[0]
    assert not col.informative and col.notes and "separates from random" in col.verdict
    assert not any(c.best for r in table.rows for c in r.cells)
    note = next(n for n in table.notes if n.mark == col.notes[0])
    assert note.text.startswith("uninformative column") and col.verdict in note.text
    assert summary([_record(m, v) for m, v in flat.items()]).rows == []


def test_a_random_control_that_leads_or_ties_the_best_method_is_named():
    ids = list(range(N))
    control = VALUES["random"]
    assert _control_level(control - 0.1, control, True, ids, 0) == "leads"
    assert _control_level(control + 0.1, control, False, ids, 0) == "leads"
    tied = control + 0.05 * FLIP + 0.001  # mean gap 0.001, standard error 0.008
    assert _control_level(tied, control, True, ids, 0) == "tied"
    assert _control_level(control + 0.2, control, True, ids, 0) == ""


def test_the_oracle_is_the_ceiling_of_a_top_k_shorter_than_the_truth():
    """utr5's motif_recall (top 6 must hold a whole start and a whole stop codon) on 9 truth
    positions: one occurrence of each kind ranks first, so the oracle scores 1 for every seed."""
    X, mask = random_onehot(20, 30, seed=0)
    gt = GroundTruth([[Motif("start", 2, 5), Motif("start", 9, 12), Motif("stop", 20, 23)]] * 20)
    for seed in range(5):
        ex = make_ex(X, mask, scores=oracle_scores(gt, mask, seed).float(), gt=gt)
        assert torch.all(motif_recall(ex, k=6).squeeze() == 1.0)
    # and with K the truth length every truth position is in the top K, background never
    top = oracle_scores(gt, mask, 0)[0].argsort(descending=True)[:9]
    assert sorted(top.tolist()) == [2, 3, 4, 9, 10, 11, 20, 21, 22]


def test_the_oracle_row_rests_on_the_sequences_the_random_control_scored():
    control = VALUES["random"].copy()
    control[:5] = np.nan
    recs = [_record("random", control), _record("ism", VALUES["ism"])]
    assert scored_ids(recs) == IDS[5:]
    assert scored_ids([recs[1]]) == IDS


def test_the_task_oracle_answers_none_where_there_is_no_oracle():
    oracle = TaskOracle()
    assert oracle(_records()) is None  # task "toy" is not registered
    assert oracle([_record("random", VALUES["random"], "inclusion_kl")]) is None
    assert oracle([]) is None


def test_the_site_has_a_metrics_page_per_model_linked_from_the_task(tmp_path):
    from attrbench.site import build_site

    reliance = Record(
        _key("(model)", RELIANCE_METRIC),
        "ok",
        True,
        0.3,
        0.2,
        0.4,
        n_scored=N,
        extra={"share_truth_class": 0.9},
        date="2026-01-01",
    )
    pages = build_site([*_records(), reliance], tmp_path, oracle=ones_oracle)
    page = tmp_path / "toy" / "m.metrics.html"
    assert page in pages
    text = page.read_text()
    assert "<td>motif_auroc</td><td>yes</td>" in text and "<td>informative</td>" in text
    assert "+0.300 [+0.200, +0.400]" in text and "90% predicted into the truth" in text
    assert "<td>1.000</td>" in text  # the oracle value
    assert 'href="toy/m.metrics.html"' in (tmp_path / "index.html").read_text()
    model_page = (tmp_path / "toy" / "m.html").read_text()
    assert 'href="m.metrics.html"' in model_page
    assert '<tr class="reference">' in model_page and CEILING_LABEL in model_page


def test_the_site_metrics_page_states_why_a_column_is_uninformative(tmp_path):
    from attrbench.site.build import metrics_page

    flat = [_record(m, np.full(N, 0.5)) for m in VALUES]
    text = metrics_page("toy", "m", flat)
    assert "every method scores the same (floor or ceiling)" in text
    assert "No truth-reliance record" in text
    assert math.isclose(float(text.split("<td>")[5].split("<")[0]), 0.5)  # the random row
