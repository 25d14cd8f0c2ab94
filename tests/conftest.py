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
