"""Warnings and log lines of a command: one concise line each, counted, not repeated.

Python warnings (a plugin's ``warnings.warn``) are routed to the ``attrbench``
logger as their message alone (no source line); a message already shown is
counted instead of printed again, and the counts are given once at the end.
Lines go through ``tqdm.write`` so they never cut a progress bar.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import TextIO

__all__ = ["setup_logging", "OnceFilter", "TqdmHandler"]


class OnceFilter(logging.Filter):
    """Lets each distinct (level, message) through once and counts the repeats."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: Counter[tuple[int, str]] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.levelno, record.getMessage())
        self.seen[key] += 1
        return self.seen[key] == 1

    def repeats(self) -> list[tuple[str, int]]:
        """``(message, times seen)`` of every message seen more than once."""
        return [(msg, n) for (_, msg), n in self.seen.items() if n > 1]


class TqdmHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic only in stubs
    """Writes through ``tqdm.write`` (above any progress bar) to stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # a log line must never end the command
            self.handleError(record)


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname = record.levelname.lower()
        return super().format(record)


def _show(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    logging.getLogger("attrbench").warning("%s", " ".join(str(message).split()))


@contextlib.contextmanager
def setup_logging(level: int = logging.INFO) -> Iterator[OnceFilter]:
    """Route warnings and the ``attrbench`` logger to one line each for the ``with`` block."""
    logger = logging.getLogger("attrbench")
    handler = TqdmHandler()
    handler.setFormatter(_Formatter("attrbench: %(levelname)s: %(message)s"))
    once = OnceFilter()
    handler.addFilter(once)
    old_level, old_propagate, old_show = logger.level, logger.propagate, warnings.showwarning
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    warnings.showwarning = _show
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = _show
            yield once
    finally:
        for message, n in once.repeats():
            short = message if len(message) <= 70 else message[:67] + "..."
            print(f"attrbench: ({short!r} {n - 1} more times)", file=sys.stderr)
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        warnings.showwarning = old_show
