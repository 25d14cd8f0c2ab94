"""``attrbench compare``: paired differences of two methods from hand-built records."""

from __future__ import annotations

import numpy as np

from attrbench.cli import main
from attrbench.reporting.compare import compare
from attrbench.reporting.stats import paired_difference
from attrbench.running.results import ResultStore
from tests.test_leaderboard import BASE, COMPLETE, FLIP, IDS, cost, na, ok


def _records():
    return [
        ok("ig", "score", BASE + 1.0),
        ok("saliency", "score", BASE + 0.98 + FLIP),
        ok("ig", "kl", BASE, hib=False),
        ok("saliency", "kl", BASE + 0.25, hib=False),
        ok("ig", "completeness", BASE, hib=False),
        na("saliency", "completeness", COMPLETE),
        ok("ig", "old", BASE, per_sequence=False),
        ok("saliency", "old", BASE),
        cost("ig", 0.1),
        cost("saliency", 0.01),
    ]


def test_compare_gives_the_paired_difference_of_every_metric():
    rows = {r.metric: r for r in compare(_records(), "m", "ig", "saliency")}
    assert set(rows) == {"score", "kl", "completeness", "old"}
    expected = paired_difference(IDS, BASE + 1.0, IDS, BASE + 0.98 + FLIP, seed=0)
    assert rows["score"].difference == expected and rows["score"].favours("ig", "saliency") == "tie"
    kl = rows["kl"].difference
    assert np.allclose(
        [kl.mean, kl.low, kl.high, kl.n], [-0.25, -0.25, -0.25, 50], rtol=0, atol=1e-12
    )
    assert rows["kl"].favours("ig", "saliency") == "ig"  # lower is better
    assert (
        rows["completeness"].difference is None and "saliency does not" in rows["completeness"].note
    )
    assert rows["old"].difference is None and "no per-sequence values" in rows["old"].note


def test_compare_command_prints_differences_and_intervals(tmp_path, capsys):
    store = ResultStore(tmp_path)
    for rec in _records():
        store.put(rec)
    code = main(
        ["compare", "--task", "t", "--model", "m", "ig", "saliency", "--results", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("kl"))
    assert line.split() == ["kl", "↓", "-0.25", "[-0.25,", "-0.25]", "50", "ig"]
    d = paired_difference(IDS, BASE + 1.0, IDS, BASE + 0.98 + FLIP, seed=0)
    assert f"{d.mean:+.4g}" in out and f"[{d.low:+.4g}, {d.high:+.4g}]" in out and "tie" in out


def test_compare_unknown_method_names_close_ones(tmp_path, capsys):
    store = ResultStore(tmp_path)
    for rec in _records():
        store.put(rec)
    code = main(
        ["compare", "--task", "t", "--model", "m", "ig", "salency", "--results", str(tmp_path)]
    )
    assert code == 2 and "did you mean 'saliency'" in capsys.readouterr().err
