"""attrbench: a benchmark of attribution methods on biological sequences."""

from attrbench.contract import Alphabet, mask_of, one_hot, position_scores
from attrbench.data import Background, Dataset, GroundTruth, Motif
from attrbench.plugin import (
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

__version__ = "0.1.0"

__all__ = [
    "Alphabet", "mask_of", "one_hot", "position_scores",
    "Background", "Dataset", "GroundTruth", "Motif",
    "METHODS", "METRICS", "TASKS", "Explanation", "Method", "Metric", "ModelSpec",
    "NotApplicable", "Task", "register_method", "register_metric", "register_task",
    "__version__",
]
