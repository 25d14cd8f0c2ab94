"""Advisory file locks, so concurrent runs into one results folder share the work.

A run holds the lock of a cell (``<results>/.locks/<cell>.lock``) while it computes
the cell and writes its records; another run that finds the cell locked does its
other cells first, then waits for the lock and reads the records the first run
wrote. Locks are ``fcntl.flock`` locks: the kernel releases them when their
process ends, even on SIGKILL, so a stale lock file never blocks a later run.
Lock files are left in place (removing one would race with a run waiting on it).
On a system without ``fcntl`` (Windows) locking is a no-op.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]  # no locking where there is no fcntl

__all__ = ["FileLock", "lock_path"]


def lock_path(root: Path, name: str) -> Path:
    """``root/.locks/<name>.lock``."""
    from attrbench.running.atomic import inside

    return inside(root, Path(root) / ".locks" / f"{name}.lock")


class FileLock:
    """An exclusive advisory lock on ``path`` (created with its folder if missing)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; with ``blocking=False`` return False at once if another holds it."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock back (a no-op if not held)."""
        if self._fd is None:
            return
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
