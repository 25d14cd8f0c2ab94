"""Shared fixtures: devices (cuda cases skip without a GPU), toy data."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
import torch

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[
            pytest.mark.cuda,
            pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
        ],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each test using it runs on cpu, and on cuda where a GPU exists."""
    return torch.device(request.param)


def pytest_configure(config) -> None:
    """Knowledge-base indexes and other caches go to a temporary folder, never the user's cache;
    ``attrbench run`` works in the test's process unless a test asks for workers (so a test's
    path does not depend on the machine's load: ``tests/test_workers.py`` asks)."""
    config._attrbench_cache = tempfile.mkdtemp(prefix="attrbench-cache-")
    os.environ["ATTRBENCH_CACHE"] = config._attrbench_cache
    os.environ["ATTRBENCH_WORKERS"] = "1"


def pytest_unconfigure(config) -> None:
    shutil.rmtree(getattr(config, "_attrbench_cache", ""), ignore_errors=True)


@pytest.fixture(autouse=True)
def _fits_cache(tmp_path_factory, monkeypatch) -> None:
    """Every test caches learned-method fits in a folder of its own (``ATTRBENCH_FITS``), so no
    test reuses another's fit or writes into the user's cache; shipped fits are still found."""
    monkeypatch.setenv("ATTRBENCH_FITS", str(tmp_path_factory.mktemp("fits-cache")))
