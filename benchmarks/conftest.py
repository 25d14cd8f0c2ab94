"""Benchmark set-up: the repository root on ``sys.path`` (for ``tests.toymodels``), threads.

Set ``ATTRBENCH_BENCH_THREADS`` to pin torch's intra-op threads (e.g. 1 on a
shared machine, where oversubscribed threads make timings meaningless).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if os.environ.get("ATTRBENCH_BENCH_THREADS"):
    torch.set_num_threads(int(os.environ["ATTRBENCH_BENCH_THREADS"]))
