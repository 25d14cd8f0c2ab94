"""glibc malloc thresholds set on ``import attrbench`` (attrbench.running.allocator)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from attrbench.running import allocator

glibc = pytest.mark.skipif(allocator._glibc() is None, reason="the C library is not glibc")

#: Allocate, touch and free 8 blocks of 1 MiB, 20 times, after one 1 MiB block has set
#: glibc's dynamic thresholds to 1 MiB / 2 MiB: untuned, the 8 MiB freed at the heap's top
#: go back to the system every time and come back as page faults.
_PATTERN = textwrap.dedent("""
    import ctypes, resource
    import attrbench
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_void_p]
    MB = 1 << 20
    def rounds(n):
        for _ in range(n):
            blocks = [libc.malloc(MB) for _ in range(8)]
            for b in blocks:
                ctypes.memset(b, 1, MB)
            for b in blocks:
                libc.free(b)
    libc.free(libc.malloc(MB))
    rounds(2)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    rounds(20)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
""")


def _faults(**env: str) -> int:
    run = subprocess.run(
        [sys.executable, "-c", _PATTERN],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return int(run.stdout)


@glibc
def test_import_keeps_freed_blocks_for_reuse_instead_of_faulting_them_back():
    tuned, default = _faults(), _faults(ATTRBENCH_MALLOC="default")
    assert default >= 20 * 8 * 256 // 2  # about one fault per 4 KiB page of every round
    assert tuned < default // 20


@glibc
@pytest.mark.parametrize(
    "env",
    [
        {"ATTRBENCH_MALLOC": "default"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=1000000"},
        {"MALLOC_TRIM_THRESHOLD_": "1000000"},
    ],
)
def test_user_malloc_settings_are_left_alone(monkeypatch, env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert allocator.tune_malloc() is False


@glibc
def test_tune_malloc_sets_glibcs_largest_dynamic_thresholds(monkeypatch):
    for name in ("ATTRBENCH_MALLOC", "GLIBC_TUNABLES", *allocator._USER_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    calls = []

    class FakeLibc:
        def mallopt(self, param, value):
            calls.append((param, value))
            return 1

    monkeypatch.setattr(allocator, "_LIBC", FakeLibc())
    assert allocator.tune_malloc() is True
    assert calls == [(-3, 32 << 20), (-1, 64 << 20)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
