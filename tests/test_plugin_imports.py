"""The dependency rule, checked on the source: a plugin imports only the core, never another plugin.

Each module or package directly under ``methods/`` and ``tasks/`` is one plugin
(``attrbench_methods.ig``, ``attrbench_tasks.psl``, ...). A plugin's files may import
the core (``attrbench``), third-party packages, their own plugin package and
``attrbench_tasks.common`` (shared task code that registers nothing); any other
``attrbench_methods`` / ``attrbench_tasks`` module is another plugin. The core
itself never imports a plugin by name.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Source folder -> the package it is installed as.
PLUGIN_DIRS = {"methods": "attrbench_methods", "tasks": "attrbench_tasks"}
#: Shared code that plugins may import: it registers nothing.
SHARED = ("attrbench_tasks.common",)


def _module_name(path: Path, root: Path) -> str:
    """``methods/scrambler/training.py`` -> ``attrbench_methods.scrambler.training``."""
    rel = path.relative_to(root).with_suffix("")
    parts = [PLUGIN_DIRS.get(rel.parts[0], rel.parts[0]), *rel.parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path`` (relative ones resolved)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            names = (
                [f"{base}.{a.name}" for a in node.names]
                if not node.module or node.level
                else [base]
            )
            found += [(node.lineno, n) for n in names]
    return found


def _plugin_of(module: str) -> str | None:
    """The plugin a module belongs to (``attrbench_methods.ig``), None for core or third party."""
    parts = module.split(".")
    if parts[0] not in PLUGIN_DIRS.values() or len(parts) < 2:
        return None
    if any(module == s or module.startswith(s + ".") for s in SHARED):
        return None
    return ".".join(parts[:2])


def _violations(path: Path, root: Path = ROOT) -> list[str]:
    """One line per import of ``path`` that reaches into a plugin other than its own."""
    own = _plugin_of(_module_name(path, root))
    bad = []
    for line, module in _imports(path, root):
        other = _plugin_of(module)
        if other is not None and other != own:
            bad.append(f"{path.relative_to(root)}:{line} imports {module} (plugin {other})")
    return bad


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["methods", "tasks", "attrbench"])
def test_no_plugin_imports_another_plugin(folder):
    bad = [v for p in _sources(folder) for v in _violations(p)]
    assert not bad, "a plugin imports only the core (attrbench/):\n" + "\n".join(bad)


def test_the_scan_sees_relative_and_absolute_plugin_imports(tmp_path):
    """The scan finds the imports the rule forbids (it must be able to fail)."""
    (tmp_path / "methods" / "pkg").mkdir(parents=True)
    bad = tmp_path / "methods" / "mine.py"
    bad.write_text(
        "from .ig import ig_baseline\nimport attrbench_methods.deepshap\n"
        "from attrbench_tasks.psl import data\nfrom attrbench.core.data import Background\n"
        "from attrbench_tasks.common.alphabets import DNA\n"
    )
    init = tmp_path / "methods" / "pkg" / "__init__.py"
    init.write_text("from .inner import x\nfrom .. import gradients\n")
    assert [v.split(" imports ")[1] for v in _violations(bad, tmp_path)] == [
        "attrbench_methods.ig.ig_baseline (plugin attrbench_methods.ig)",
        "attrbench_methods.deepshap (plugin attrbench_methods.deepshap)",
        "attrbench_tasks.psl (plugin attrbench_tasks.psl)",
    ]
    assert [v.split(" imports ")[1] for v in _violations(init, tmp_path)] == [
        "attrbench_methods.gradients (plugin attrbench_methods.gradients)",
    ]
