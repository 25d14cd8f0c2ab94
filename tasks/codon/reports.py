"""Reports of the ``codon`` task: the model table with its baselines."""

from __future__ import annotations

from attrbench_tasks.common.baselines import models_report

from .data import data

__all__ = ["REPORT"]

#: ``attrbench report --task codon models``.
REPORT = models_report("codon", data)
