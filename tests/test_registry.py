"""The registry: duplicates, did-you-mean, plugin files and entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from attrbench.core.plugin import METHODS, METRICS, TASKS
from attrbench.core.registry import (
    PluginError,
    Registry,
    RegistryError,
    UnknownNameError,
    load_plugin_file,
)


def test_duplicate_name_is_an_error():
    reg = Registry("method", "attrbench.no_such_group")
    reg.add("ig", 1, "a")
    with pytest.raises(RegistryError, match="registered twice"):
        reg.add("ig", 2, "b")


def test_unknown_name_lists_close_names():
    reg = Registry("method", "attrbench.no_such_group")
    for name in ("saliency", "ig", "ism"):
        reg.add(name, name)
    with pytest.raises(UnknownNameError, match="did you mean 'saliency'"):
        reg.get("salency")


def test_builtins_are_registered_through_entry_points():
    assert {
        "saliency",
        "grad_x_input",
        "ig",
        "deeplift",
        "deepshap",
        "shift_smoothed",
        "ism",
        "random",
    } <= set(METHODS.names())
    assert {
        "motif_recall",
        "logic_accuracy",
        "inclusion_kl",
        "occlusion_kl",
        "shift_invariance",
        "completeness",
    } <= set(METRICS.names())
    assert "utr5" in TASKS.names()


PLUGIN = """
import torch
from attrbench import register_method

@register_method("{name}", deterministic=True)
def explain(model, X, target, mask):
    '''Ones on real positions.'''
    return X.new_ones(X.shape) * mask[:, None, :]
"""


def test_plugin_file_registers_a_method(tmp_path):
    path = tmp_path / "my_method.py"
    path.write_text(PLUGIN.format(name="test_file_method"))
    try:
        assert load_plugin_file(path) == ["method:test_file_method"]
        assert METHODS.get("test_file_method").description == "Ones on real positions."
    finally:
        METHODS._items.pop("test_file_method", None)


def test_plugin_file_errors(tmp_path):
    with pytest.raises(PluginError, match="does not exist"):
        load_plugin_file(tmp_path / "missing.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(PluginError, match="registered nothing"):
        load_plugin_file(empty)


def make_distribution(root, name: str) -> None:
    """A tiny installed distribution: a module and a dist-info with an entry point."""
    (root / f"{name}.py").write_text(PLUGIN.format(name=name))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[attrbench.methods]\n{name} = {name}\n")


def test_entry_point_of_an_installed_distribution(tmp_path):
    make_distribution(tmp_path, "toy_ep_method")
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from attrbench.core.plugin import METHODS
        m = METHODS.get("toy_ep_method")
        print(m.name, m.deterministic)
    """)
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "toy_ep_method True"
