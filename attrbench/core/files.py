"""Files the tool reads are data, never code: the one ``torch.load`` of attrbench."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import IO, Any

import torch

__all__ = ["NotData", "load_data"]

#: What ``torch.load(..., weights_only=True)`` raises on a file that is truncated, not a
#: torch file, or carries objects other than tensors and plain containers.
_UNREADABLE = (
    pickle.UnpicklingError,
    RuntimeError,
    EOFError,
    OSError,
    zipfile.BadZipFile,
    ValueError,
    AttributeError,
    TypeError,
)


class NotData(ValueError):
    """A file that cannot be read as data; the message is the first line of the cause."""


def load_data(path: Path | str | IO[bytes], device: torch.device | str = "cpu") -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never code.

    Raises
    ------
    NotData
        With the first line of what went wrong, for the caller to name the file and the fix.
    """
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except _UNREADABLE as exc:
        raise NotData((str(exc).strip().splitlines() or [type(exc).__name__])[0]) from None
