"""Without Ray installed, ``--executor ray`` is one error line saying how to install it."""

from __future__ import annotations

import sys

import pytest

from attrbench.cli import main
from attrbench.running.executors import RAY_HINT, get_executor


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "attrbench.running.executors_ray", raising=False)


def test_ray_executor_without_ray_says_how_to_install(no_ray):
    with pytest.raises(RuntimeError, match=r'pip install -e "\.\[ray\]"'):
        get_executor("ray")


def test_cli_executor_ray_without_ray_is_one_error_line(no_ray, capsys, tmp_path):
    code = main(
        ["run", "--task", "utr5", "--executor", "ray", "--results", str(tmp_path), "--quiet"]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [f"attrbench: error: {RAY_HINT}"]
