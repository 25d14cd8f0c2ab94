"""attrbench: a benchmark of attribution methods on biological sequences.

The public names below are imported on first use (PEP 562), so importing a
light submodule such as :mod:`attrbench.threads` does not import torch: thread
settings must be chosen before torch starts its thread pool.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_WHERE = {
    "attrbench.contract": ("Alphabet", "mask_of", "one_hot", "position_scores"),
    "attrbench.data": ("Background", "Dataset", "GroundTruth", "Motif"),
    "attrbench.plugin": (
        "METHODS", "METRICS", "TASKS", "Explanation", "Method", "Metric", "ModelSpec",
        "NotApplicable", "Task", "register_method", "register_metric", "register_task",
    ),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [*_MODULE_OF, "__version__"]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'attrbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULE_OF[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
