"""The one atomic write of attrbench: unique temporary file, fsync, rename.

Used by result records, fitted-method caches, checkpoints, chunk results and
index caches, so a crash or Ctrl-C never leaves a half-written file and two
writers of the same path never share a temporary name. Files get the mode a
plain ``open`` would give them (``0o666`` less the umask), not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["atomic_write", "umask_mode"]


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def atomic_write(path: Path | str, write: Callable[[IO], None] | str | bytes, binary: bool = False) -> Path:
    """Write ``path`` atomically.

    Parameters
    ----------
    path : Path
        Its folder is created if missing.
    write : callable, str or bytes
        ``write(file)`` fills the open temporary file, or the text / bytes to write.
    binary : bool
        Open the temporary file in binary mode (implied for bytes).

    Returns
    -------
    path : Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = binary or isinstance(write, bytes)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".tmp-{path.name}-")
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            if callable(write):
                write(f)
            else:
                f.write(write)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
