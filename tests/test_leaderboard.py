"""Leaderboard tables from hand-built records: ties, footnotes, omissions, width, html, summary."""

from __future__ import annotations

import re

import numpy as np
import pytest

from attrbench.reporting.leaderboard import TERMINAL_WIDTH, render, render_table
from attrbench.reporting.stats import bootstrap_mean
from attrbench.reporting.tables import summary, tables
from attrbench.running.results import CellKey, Record, pack_values

IDS = [f"seq{i}" for i in range(50)]
BASE = np.linspace(0.0, 1.0, 50)
FLIP = np.where(np.arange(50) % 2 == 0, 0.4, -0.4)
COMPLETE = "completeness applies to methods that claim completeness; {} does not"


def key(method: str, metric: str, model: str = "m", task: str = "t", n: int = 50) -> CellKey:
    return CellKey(task, "1", "d", model, "c", method, {}, metric, {}, n, 0)


def ok(
    method: str,
    metric: str,
    values,
    hib: bool = True,
    per_sequence: bool = True,
    model: str = "m",
    columns: tuple[str, ...] = (),
    **extra,
) -> Record:
    """A record of per-sequence ``values`` (N,) or (N, K) for ``columns``."""
    v = np.asarray(values, float).reshape(len(IDS), -1)
    names = columns or (metric,)
    cols = {
        c: {**vars(bootstrap_mean(v[:, j], seed=0)), "higher_is_better": hib}
        for j, c in enumerate(names)
    }
    main = cols[names[0]]
    return Record(
        key(method, metric, model),
        "ok",
        hib,
        main["mean"],
        main["low"],
        main["high"],
        main["n"],
        main["n_missing"],
        cols,
        extra=extra,
        per_sequence=pack_values(IDS, v, names) if per_sequence else {},
        date="2026-01-01",
    )


def na(method: str, metric: str, reason: str, model: str = "m") -> Record:
    return Record(
        key(method, metric, model),
        "not_applicable",
        reason=reason.format(method),
        date="2026-01-01",
    )


def cost(method: str, seconds: float, model: str = "m") -> Record:
    return Record(
        key(method, "seconds_per_seq", model), "ok", False, seconds, n_scored=50, date="2026-01-01"
    )


def _cells(table, column: str) -> dict:
    j = [c.metric for c in table.columns].index(column)
    return {r.label: r.cells[j] for r in table.rows}


def test_ties_with_the_best_are_the_paired_bootstrap_intervals_containing_zero():
    records = [
        ok("a", "score", BASE + 1.0),
        ok("b", "score", BASE + 0.98 + FLIP),
        ok("c", "score", BASE + 0.9),
        ok("d", "score", BASE + 0.99, per_sequence=False),
    ]
    (table,) = tables(records)
    cells = _cells(table, "score")
    assert [cells[m].best for m in "abcd"] == [True, False, False, False]
    # b - a: mean -0.02, per-sequence sd 0.4, so its 95% interval holds 0; c - a is exactly -0.1;
    # d keeps no per-sequence values (an old record) and is not marked either way
    assert [cells[m].tied for m in "abcd"] == [False, True, False, False]
    text = render(records)
    assert "**1.500 [" in text and "≈1.480 [" in text and "≈1.400" not in text


def test_lower_is_better_ties_use_the_lowest_mean():
    records = [
        ok("a", "kl", BASE + 1.0, hib=False),
        ok("b", "kl", BASE + 1.01 + FLIP, hib=False),
        ok("c", "kl", BASE + 2.0, hib=False),
    ]
    cells = _cells(tables(records)[0], "kl")
    assert (cells["a"].best, cells["b"].tied, cells["c"].tied) == (True, True, False)


def test_a_learned_methods_cost_says_it_includes_the_amortised_fit():
    fitted = cost("scrambler_inclusion", 0.2)
    fitted.extra = {"seconds": 5.0, "fit_seconds": 5.0}
    records = [ok("ig", "score", BASE), ok("scrambler_inclusion", "score", BASE)]
    records += [cost("ig", 0.01), fitted]
    (table,) = tables(records)
    assert [n.text for n in table.notes] == [
        "seconds per sequence include the learned method's one fit on the training split, "
        "amortised over the explained sequences (a shipped or cached fit counts the time it "
        "took when it was fitted)"
    ]
    cells = _cells(table, "seconds_per_seq")
    assert cells["scrambler_inclusion"].notes == [1] and cells["ig"].notes == []


def test_one_footnote_per_distinct_reason():
    records = [
        ok("ig", "completeness", BASE, hib=False),
        na("saliency", "completeness", COMPLETE),
        na("random", "completeness", COMPLETE),
        na("ism", "completeness", COMPLETE),
        ok("ig", "score", BASE),
        ok("saliency", "score", BASE),
        ok("ism", "score", BASE),
    ]
    (table,) = tables(records)
    assert [n.text for n in table.notes] == [
        "completeness applies to methods that claim completeness; the method does not "
        "(saliency, ism, random)"
    ]  # registry order
    text = render(records)
    assert text.count("[1]") == 4  # three cells and the footnote itself


def test_empty_columns_and_inapplicable_methods_are_one_line_each():
    attention = "{} needs a model with attention; m has none"
    records = [
        ok("ig", "score", BASE),
        ok("random", "score", BASE),
        na("ig", "hit_rate", "hit_rate needs knowledge_base; task 't' has none"),
        na("random", "hit_rate", "hit_rate needs knowledge_base; task 't' has none"),
        ok("ig", "motif_recall", np.full(50, np.nan)),
        ok("random", "motif_recall", np.full(50, np.nan)),
        na("attention", "score", attention),
        na("attention", "hit_rate", attention),
        na("attention", "motif_recall", attention),
        na("attention_random", "score", attention),
        na("attention_random", "hit_rate", attention),
        na("attention_random", "motif_recall", attention),
    ]
    (table,) = tables(records)
    assert [c.metric for c in table.columns] == ["score"]
    assert [r.label for r in table.rows] == ["ig", "random (floor)"]
    assert table.omitted_columns == [
        ("hit_rate", "no value in any row: hit_rate needs knowledge_base; task 't' has none"),
        (
            "motif_recall",
            "no value in any row: no explained sequence has a score (n=0 in every row)",
        ),
    ]
    assert table.omitted_methods == [
        ("attention, attention_random", "the method needs a model with attention; m has none")
    ]
    text = render(records)
    assert "| attention" not in text and text.count("not shown:") == 1
    assert "left out: hit_rate (no value in any row" in text


def test_invalid_and_missing_cells_carry_a_footnote_mark():
    records = [
        ok("ig", "completeness", BASE + 1, hib=False, invalid=True, invalid_above=0.05),
        ok("deeplift", "completeness", BASE * 0, hib=False),
        ok("ig", "score", BASE),
    ]
    (table,) = tables(records)
    # rows in registry order (deeplift, then ig), notes numbered in reading order
    assert [r.label for r in table.rows] == ["deeplift", "ig"]
    cells = _cells(table, "completeness")
    assert cells["ig"].invalid and cells["ig"].notes == [2]
    assert _cells(table, "score")["deeplift"].kind == "missing"
    text = render(records)
    assert re.search(r"1\.500 \[[\d., ]+\] INVALID FAIL \[2\]", text)
    assert "missing [1]" in text and "[1] no record for this cell" in text
    assert "[2] INVALID: the mean completeness is above its tolerance (0.05)" in text


def _wide_records() -> list[Record]:
    metrics = [f"metric_number_{i}" for i in range(10)]
    return [
        ok(m, q, BASE + k / 10 + j / 100)
        for k, m in enumerate(["random", "saliency", "integrated"])
        for j, q in enumerate(metrics)
    ] + [cost(m, 1e-3) for m in ["saliency", "integrated", "random"]]


def test_terminal_table_fits_160_columns_and_files_keep_the_full_one():
    records = _wide_records()
    full, narrow = render(records), render(records, width=TERMINAL_WIDTH)
    assert max(map(len, full.splitlines())) > TERMINAL_WIDTH
    assert max(map(len, narrow.splitlines())) <= TERMINAL_WIDTH
    assert "0.500 [" in full and "0.500±" in narrow and "[0." not in narrow
    # every column is still there, split into several tables that repeat the method column
    assert all(f"metric_number_{i}" in narrow for i in range(10))
    assert narrow.count("| saliency") > 1


def test_html_is_a_complete_standalone_page():
    page = render(_wide_records(), "html")
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert '<meta charset="utf-8">' in page and "<style>" in page and "<table>" in page
    assert "http" not in page and "<script" not in page and "<link" not in page
    assert '<td class="best"><b>' in page


def test_summary_ranks_methods_across_tables_with_their_counts():
    records = [
        ok("a", "score", BASE + 1.0),
        ok("b", "score", BASE),
        ok("c", "score", BASE - 1),
        ok("a", "kl", BASE, hib=False),
        ok("b", "kl", BASE + 1, hib=False),
        ok("a", "score", BASE, model="m2"),
        ok("b", "score", BASE + 1, model="m2"),
        ok("c", "score", BASE + 1, model="m2"),
    ]
    table = summary(records)
    assert [c.metric for c in table.columns] == ["kl", "score", "all"]  # unregistered: by name
    got = {
        r.label: [(c.mean, c.n) if c.kind == "value" else None for c in r.cells] for r in table.rows
    }
    # m: score a 1, b 2, c 3; kl a 1, b 2; m2: score b and c tie (1.5 each), a 3
    assert got == {
        "a": [(1.0, 1), (2.0, 2), (5 / 3, 3)],
        "b": [(2.0, 1), (1.75, 2), (5.5 / 3, 3)],
        "c": [None, (2.25, 2), (2.25, 2)],
    }
    assert "| a " in render_table(table) and "1.67 (3)" in render_table(table)


def test_detail_tables_show_every_column_of_a_multi_column_metric():
    values = np.stack([BASE, BASE + 1], 1)
    records = [
        ok("ig", "kl", values, columns=("mean", "q2"), hib=False),
        na("saliency", "kl", "{} has no option for it"),
        ok("saliency", "score", BASE),
    ]
    (table,) = tables(records, detail=True)
    assert [c.header for c in table.columns] == ["kl:mean ↓", "kl:q2 ↓", "score ↑"]
    assert _cells(table, "kl")["saliency"].kind == "n/a"


def test_regenerated_tables_keep_every_number(tmp_path):
    records = _wide_records()
    text = render(records)
    numbers = set(re.findall(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", text))
    for rec in records:
        if rec.key.metric != "seconds_per_seq":
            assert f"{rec.value:.3f} [{rec.low:.3f}, {rec.high:.3f}]" in numbers


@pytest.mark.parametrize("fmt", ["markdown", "latex", "csv"])
def test_every_format_renders(fmt):
    assert render(_wide_records(), fmt)


def test_cli_prints_160_columns_and_writes_the_full_table(tmp_path, capsys):
    from attrbench.cli import main
    from attrbench.running.results import ResultStore

    store = ResultStore(tmp_path / "r")
    for rec in _wide_records():
        store.put(rec)
    assert main(["leaderboard", "--results", str(store.root)]) == 0
    printed = capsys.readouterr().out
    assert max(map(len, printed.splitlines())) <= TERMINAL_WIDTH and "±" in printed
    assert main(["leaderboard", "--results", str(store.root), "--wide"]) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) > TERMINAL_WIDTH
    out = tmp_path / "t.md"
    assert main(["leaderboard", "--results", str(store.root), "--out", str(out)]) == 0
    assert out.read_text() == render(store.records())
