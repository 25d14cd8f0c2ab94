"""The README's plugin example works when copied."""

from __future__ import annotations

import re
from pathlib import Path

from attrbench.cli import main
from attrbench.plugin import METHODS
from attrbench_tasks.psl.knowledge import knowledge_base

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_method_plugin_runs(tmp_path, capsys):
    code = re.search(r"Save this as `my_method.py`:\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    path = tmp_path / "my_method.py"
    path.write_text(code)
    try:
        rc = main(["run", "--plugin", str(path), "--task", "utr5", "--method", "grad_squared,saliency",
                   "--option", "grad_squared.scale=2", "--metric", "motif_recall", "--n", "8", "--quiet",
                   "--results", str(tmp_path / "r")])
        out = capsys.readouterr().out
        assert rc == 0 and "| grad_squared" in out and "| saliency" in out
    finally:
        METHODS._items.pop("grad_squared", None)


def test_readme_index_example_runs(capsys):
    code = re.search(r"The index also answers queries from Python.*?```python\n(.*?)```", README.read_text(),
                     re.S).group(1)
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    kb = knowledge_base()
    for line in lines:  # accession, position, locations of an entry that contains SKL there
        accession, position, *_ = line.split(" ", 2)
        entry = kb.accessions.index(accession)
        assert kb.sequences[entry][int(position):int(position) + 3] == "SKL"
