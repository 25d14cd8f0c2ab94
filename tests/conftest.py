"""Shared fixtures: devices (cuda cases skip without a GPU), toy data."""

from __future__ import annotations

import pytest
import torch

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.cuda, pytest.mark.skipif(
        not torch.cuda.is_available(), reason="no CUDA device")]),
]


@pytest.fixture(params=DEVICES)
def device(request) -> torch.device:
    """Each test using it runs on cpu, and on cuda where a GPU exists."""
    return torch.device(request.param)


# The psl task (issue 3) is in progress: its package is not yet an entry point or
# installed package, so its tests are not collected until it is wired in.
collect_ignore = ["test_psl.py", "test_attention.py"]
