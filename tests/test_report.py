"""``attrbench report``: a report's plan runs through the runner into the store; finished cells are reused."""

from __future__ import annotations

from attrbench.cli import main
from attrbench.core.plugin import TASKS, Report
from attrbench.running.runner import RunConfig


def test_report_plan_runs_once_and_reuses_finished_cells(tmp_path, capsys, monkeypatch):
    rendered: list[list] = []

    def plan(n: int = 3, **_) -> list[RunConfig]:
        return [
            RunConfig(task="utr5", methods=["saliency", "random"], metrics=["motif_recall"], n=n)
        ]

    def render(records, n: int = 3, **_) -> str:
        rendered.append(records)
        cells = [r for r in records if r.key.metric == "motif_recall"]
        return f"{len(cells)} motif_recall cells on n={n}"

    monkeypatch.setitem(TASKS.get("utr5").reports, "toy", Report("toy", render, plan))
    args = [
        "report",
        "--task",
        "utr5",
        "toy",
        "--option",
        "n=3",
        "--results",
        str(tmp_path),
        "--quiet",
    ]
    assert main(args) == 0
    assert "2 motif_recall cells on n=3" in capsys.readouterr().out
    files = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")}
    assert len(files) >= 2
    assert main(args) == 0  # the second time every cell is found in the store
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*.json")} == files
    first, second = rendered
    key = lambda recs: sorted((r.key.digest, r.date) for r in recs)  # noqa: E731
    assert key(first) == key(second) and all(r.status == "ok" for r in first)
    # a cell the plan adds later is the only one computed
    assert main([*args[:5], "n=4", *args[6:]]) == 0
    assert len(list(tmp_path.rglob("*.json"))) > len(files)


def test_a_report_without_a_plan_renders_without_cells(tmp_path, capsys, monkeypatch):
    seen = []
    monkeypatch.setitem(
        TASKS.get("utr5").reports,
        "plain",
        Report("plain", lambda records, k=0: seen.append((records, {"k": k})) or "text"),
    )
    assert (
        main(["report", "--task", "utr5", "plain", "--option", "k=1", "--results", str(tmp_path)])
        == 0
    )
    assert seen == [([], {"k": 1})] and capsys.readouterr().out == "text\n"
