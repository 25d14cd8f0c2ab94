"""The documentation's plugin, task and knowledge-base examples work when copied."""

from __future__ import annotations

import re
from pathlib import Path

from attrbench.cli import main
from attrbench.core.plugin import METHODS, METRICS, TASKS
from attrbench_tasks.psl.knowledge import knowledge_base

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _example(page: str, pattern: str) -> str:
    """The code block of ``docs/<page>`` that follows ``pattern``."""
    return re.search(pattern + r".*?```python\n(.*?)```", (DOCS / page).read_text(), re.S).group(1)


def test_method_plugin_runs(tmp_path, capsys):
    path = tmp_path / "my_method.py"
    path.write_text(_example("plugins.md", r"Save this as `my_method.py`:"))
    try:
        rc = main(
            [
                "run",
                "--plugin",
                str(path),
                "--task",
                "utr5",
                "--method",
                "grad_squared,saliency",
                "--option",
                "grad_squared.scale=2",
                "--metric",
                "motif_recall",
                "--n",
                "8",
                "--quiet",
                "--results",
                str(tmp_path / "r"),
            ]
        )
        out = capsys.readouterr().out
        assert rc == 0 and "| grad_squared" in out and "| saliency" in out
    finally:
        METHODS._items.pop("grad_squared", None)


def test_metric_plugin_runs(tmp_path, capsys):
    path = tmp_path / "my_metric.py"
    path.write_text(_example("plugins.md", r"Save this as\s+`my_metric.py`:"))
    try:
        rc = main(
            [
                "run",
                "--plugin",
                str(path),
                "--task",
                "utr5",
                "--method",
                "random,ism",
                "--metric",
                "top_mass",
                "--option",
                "top_mass.k=6",
                "--n",
                "8",
                "--quiet",
                "--results",
                str(tmp_path / "r"),
            ]
        )
        out = capsys.readouterr().out
        assert rc == 0 and "top_mass" in out
        cell_table = out.split("### summary")[0]  # the cell's table, not the rank summary
        table = [line for line in cell_table.splitlines() if line.startswith(("| ism", "| random"))]
        share = {
            row.split("|")[1].strip(): float(re.search(r"\d+\.\d+", row.split("|")[2]).group(0))
            for row in table
        }
        # 6 of 50 positions: ISM concentrates its mass on the deciding codons, random scores do not
        assert share["ism"] > share["random (floor)"] > 6 / 50
    finally:
        METRICS._items.pop("top_mass", None)


def test_own_model_task_trains_and_runs(tmp_path, capsys):
    path = tmp_path / "my_task.py"
    path.write_text(_example("plugins.md", r"Save it as `my_task.py`:"))
    try:
        ckpts = tmp_path / "ckpts"
        assert (
            main(
                [
                    "train",
                    "--plugin",
                    str(path),
                    "--task",
                    "tata_toy",
                    "--model",
                    "mycnn",
                    "--epochs",
                    "3",
                    "--out",
                    str(ckpts),
                ]
            )
            == 0
        )
        assert (ckpts / "mycnn.pt").is_file()
        TASKS._items.pop(
            "tata_toy"
        )  # the next command loads the plugin file again, as a new process would
        capsys.readouterr()
        rc = main(
            [
                "run",
                "--plugin",
                str(path),
                "--task",
                "tata_toy",
                "--checkpoints",
                str(ckpts),
                "--method",
                "saliency",
                "--metric",
                "motif_auroc",
                "--n",
                "16",
                "--quiet",
                "--results",
                str(tmp_path / "r"),
            ]
        )
        out = capsys.readouterr().out
        assert rc == 0 and "tata_toy / mycnn" in out and "| saliency" in out
    finally:
        TASKS._items.pop("tata_toy", None)


def test_index_example_runs(capsys):
    code = _example("concepts.md", r"The index also answers queries from Python")
    exec(compile(code, "docs/concepts.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    kb = knowledge_base()
    for line in lines:  # accession, position, locations of an entry that contains SKL there
        accession, position, *_ = line.split(" ", 2)
        entry = kb.accessions.index(accession)
        assert kb.sequences[entry][int(position) : int(position) + 3] == "SKL"


def test_readme_own_model_example_runs(tmp_path, monkeypatch, capsys):
    """The README's "Your model, your sequences" block runs as written and its answer holds:
    ISM finds the planted motif, the random control sits at chance."""
    readme = (DOCS.parent / "README.md").read_text()
    section = readme.split("## Your model, your sequences")[1].split("\n## ")[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    assert len(section.strip().splitlines()) <= 20
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    table = namespace["df"].pivot_table(index="method", columns="metric", values="value")
    assert "motif_recall" in capsys.readouterr().out
    assert table.loc["ism", "motif_auroc"] > 0.95
    assert abs(table.loc["random", "motif_auroc"] - 0.5) < 0.05
    assert table.loc["ism", "motif_recall"] > table.loc["random", "motif_recall"] + 0.3
