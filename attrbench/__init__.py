"""attrbench: a benchmark of attribution methods on biological sequences.

The public names below are imported on first access, so ``import attrbench``
(and ``attrbench --help``) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from attrbench.running.allocator import tune_malloc
from attrbench.running.threads import cap_primitive_cache

__version__ = "0.1.0"

cap_primitive_cache()
tune_malloc()

#: Public name -> the module that defines it.
_LAZY = {
    **dict.fromkeys(
        ["Alphabet", "mask_of", "one_hot", "position_scores"], "attrbench.core.contract"
    ),
    **dict.fromkeys(["Background", "Dataset", "GroundTruth", "Motif"], "attrbench.core.data"),
    **dict.fromkeys(["call_method", "resolve_method_options"], "attrbench.running.calling"),
    **dict.fromkeys(
        [
            "METHODS",
            "METRICS",
            "TASKS",
            "Explanation",
            "Method",
            "Metric",
            "ModelSpec",
            "NotApplicable",
            "Task",
            "register_method",
            "register_metric",
            "register_task",
        ],
        "attrbench.core.plugin",
    ),
    **dict.fromkeys(["evaluate", "wrap", "per_sequence"], "attrbench.user"),
}

__all__ = [*_LAZY, "__version__"]

if TYPE_CHECKING:
    from attrbench.core.contract import Alphabet, mask_of, one_hot, position_scores  # noqa: F401
    from attrbench.core.data import Background, Dataset, GroundTruth, Motif  # noqa: F401
    from attrbench.core.plugin import (  # noqa: F401
        METHODS,
        METRICS,
        TASKS,
        Explanation,
        Method,
        Metric,
        ModelSpec,
        NotApplicable,
        Task,
        register_method,
        register_metric,
        register_task,
    )
    from attrbench.running.calling import call_method, resolve_method_options  # noqa: F401
    from attrbench.user import evaluate, per_sequence, wrap  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'attrbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
