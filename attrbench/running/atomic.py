"""The one atomic write of attrbench: unique temporary file, fsync, rename.

Used by result records, fitted-method caches, checkpoints, chunk results and
index caches, so a crash or Ctrl-C never leaves a half-written file and two
writers of the same path never share a temporary name. Files get the mode a
plain ``open`` would give them (``0o666`` less the umask), not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "umask_mode", "inside", "PathEscape", "DiskFull"]


class DiskFull(OSError):
    """No space left while writing: the message names the folder (no partial file is left)."""

    def __str__(self) -> str:
        return str(self.strerror)


class PathEscape(ValueError):
    """A path built from names that would leave the folder it must stay in."""


def inside(root: Path | str, path: Path | str) -> Path:
    """``path`` if it lies under ``root`` once both are resolved, else :class:`PathEscape`.

    Every path the results store builds from names (task, model, method, metric,
    cell) goes through this, so no name can write outside ``--results``.
    """
    root, path = Path(root), Path(path)
    base = root.resolve()
    full = path.resolve()
    if full != base and base not in full.parents:
        raise PathEscape(f"{path} is outside {root}: a name in it is not a plain name")
    return path


def umask_mode(mode: int = 0o666) -> int:
    """``mode`` less the process's umask."""
    mask = os.umask(0)
    os.umask(mask)
    return mode & ~mask


def atomic_write(
    path: Path | str, write: Callable[[IO[Any]], None] | str | bytes, binary: bool = False
) -> Path:
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
        with os.fdopen(fd, "wb" if binary else "w", encoding=None if binary else "utf-8") as f:
            if callable(write):
                write(f)
            else:
                f.write(write)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, umask_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(
                exc.errno,
                f"no space left on the device of {path.parent} (writing "
                f"{path.name}); nothing partial was kept: free space and run the same "
                "command again to resume",
            ) from None
        raise
    return path
