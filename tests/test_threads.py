"""attrbench.running.threads.configure: thread variables set before torch is imported."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from attrbench.running.threads import DEFAULT_THREADS, configure

_CLEAN = {
    k: v
    for k, v in os.environ.items()
    if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS", "OMP_WAIT_POLICY")
}


def fresh(code: str, **env: str) -> str:
    """stdout of ``code`` in a fresh interpreter without thread variables (plus ``env``)."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**_CLEAN, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def test_importing_attrbench_threads_does_not_import_torch():
    assert fresh("import sys, attrbench.running.threads; print('torch' in sys.modules)") == "False"


def test_two_threads_keep_openmps_wait_policy_and_start_before_torch():
    code = (
        "import os; from attrbench.running.threads import configure; n = configure(2); import torch; "
        "print(n, torch.get_num_threads(), os.environ.get('OMP_WAIT_POLICY'))"
    )
    assert fresh(code) == "2 2 None"


def test_default_is_one_thread_unless_the_environment_says_otherwise():
    code = (
        "import os; from attrbench.running.threads import configure; configure(); import torch; "
        "print(torch.get_num_threads(), os.environ.get('OMP_WAIT_POLICY'))"
    )
    assert DEFAULT_THREADS == 1
    assert fresh(code) == "1 None"
    assert fresh(code, OMP_NUM_THREADS="2") == "2 None"


def test_a_user_wait_policy_is_kept():
    code = "import os; from attrbench.running.threads import configure; configure(2); print(os.environ['OMP_WAIT_POLICY'])"
    assert fresh(code, OMP_WAIT_POLICY="PASSIVE") == "PASSIVE"


def test_after_torch_import_threads_are_set_and_the_wait_policy_warned_about(monkeypatch):
    import torch

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    before = torch.get_num_threads()
    try:
        assert configure(1) == 1 and torch.get_num_threads() == 1
        with pytest.warns(RuntimeWarning, match="start-up settings"):
            configure(2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_zero_threads_is_an_error():
    with pytest.raises(ValueError, match="at least 1"):
        configure(0)


@pytest.mark.parametrize("preset, expected", [(None, "16"), ("7", "7")])
def test_import_caps_the_onednn_primitive_cache_unless_the_user_set_it(preset, expected):
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_PRIMITIVE_CACHE_CAPACITY"}
    if preset is not None:
        env["ONEDNN_PRIMITIVE_CACHE_CAPACITY"] = preset
    code = "import os, attrbench; print(os.environ['ONEDNN_PRIMITIVE_CACHE_CAPACITY'])"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == expected


def test_motif_discovery_leaves_torch_on_its_thread_count():
    """numba's OpenMP layer shares torch's runtime: after a MoDISco call in a fresh one-thread
    process (the CLI's default), torch still runs one thread, and numba was told one too."""
    code = (
        "from attrbench.running.threads import configure; configure(1)\n"
        "import os, torch\n"
        "from tests.test_motif_discovery import planted\n"
        "from attrbench.metrics import motif_discovery as MD\n"
        "X, hyp, gt = planted()\n"
        "MD.run_discovery(X, hyp, MD.known_motifs(X, gt))\n"
        "print(torch.get_num_threads(), os.environ['NUMBA_NUM_THREADS'])\n"
    )
    assert fresh(code) == "1 1"
