"""`attrbench leaderboard --task exact`: one table per built model, each with its own values."""

from __future__ import annotations

from attrbench.cli import main
from attrbench.running.results import CellKey, Record, ResultStore

MODELS = {"additive": (1.0, 0.835), "scan_max": (0.71, 0.42), "logic_xor": (0.12, 0.33)}


def _record(model: str, method: str, value: float) -> Record:
    key = CellKey("exact", "1", "d" * 16, model, "c" * 16, method, {}, "exact_error", {}, 50, 0)
    cols = {
        "spearman": {
            "mean": value,
            "low": value - 0.01,
            "high": value + 0.01,
            "n": 50,
            "n_missing": 0,
            "higher_is_better": True,
        }
    }
    return Record(key, "ok", True, value, value - 0.01, value + 0.01, 50, 0, cols)


def test_leaderboard_renders_one_table_per_exact_model(tmp_path, capsys):
    store = ResultStore(tmp_path)
    for model, (ism, ig) in MODELS.items():
        store.put(_record(model, "ism", ism))
        store.put(_record(model, "ig", ig))
    assert main(["leaderboard", "--results", str(tmp_path), "--task", "exact", "--wide"]) == 0
    out = capsys.readouterr().out
    heads = [line for line in out.splitlines() if line.startswith("### exact / ")]
    assert sorted(heads) == sorted(f"### exact / {m} (n=50, mean [95% CI])" for m in MODELS)
    for model, (ism, ig) in MODELS.items():
        table = out.split(f"### exact / {model} ")[1].split("###")[0]
        ism_row = next(r for r in table.splitlines() if r.startswith("| ism"))
        ig_row = next(r for r in table.splitlines() if r.startswith("| ig"))
        assert f"{ism:.3f} [" in ism_row and f"{ig:.3f} [" in ig_row
