"""Start-up time of the command line: ``--help``, ``run --help`` and ``list`` (cached catalog).

Run: ``pytest benchmarks/test_bench_cli.py --benchmark-only``. Each case starts a
fresh interpreter, as a user's shell does. Target: under a second each on an idle
core; none of them imports torch (checked by ``tests/test_cli_errors.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

#: What the ``attrbench`` console script runs.
ENTRY = "import sys; from attrbench.cli import main; sys.exit(main(sys.argv[1:]))"
CASES = {
    "help": ["--help"],
    "run_help": ["run", "--help"],
    "list_methods": ["list", "methods"],
    "list_models": ["list", "models"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_bench_cli_startup(benchmark, case, tmp_path):
    env = {**os.environ, "ATTRBENCH_CACHE": str(tmp_path), "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-c", ENTRY, *CASES[case]]
    subprocess.run(argv, env=env, capture_output=True, check=True)  # builds the catalog once

    def start() -> None:
        subprocess.run(argv, env=env, capture_output=True, check=True)

    benchmark.pedantic(start, rounds=5, iterations=1)
