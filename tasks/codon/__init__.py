"""``codon``: codon detection in 70-nt windows of a real genome (seed 003; SPEC section 3.3).

Modules: :mod:`.data` (windows, labels, ATG/TAA ground truth), :mod:`.models`
(the zoo), :mod:`.reports` (the model table with its baselines).

Data option: ``fasta=PATH`` (another genome, gzipped or plain). Letters other
than ACGT: IUPAC ambiguity letters drop their window (counted); any other
letter is an error naming the record and position.
"""

from __future__ import annotations

from attrbench.core.plugin import Task, register_task
from attrbench_tasks.common.alphabets import DNA

from . import data, models, reports

__all__ = ["TASK", "data", "models", "reports"]

TASK = register_task(
    Task(
        name="codon",
        version="1",
        alphabet=DNA,
        classes=data.CLASSES,
        data=data.data,
        models=models.zoo(),
        default_model="resnet18",
        checkpoint_dir=models.CHECKPOINT_DIR,
        ground_truth=data.ground_truth,
        default_n=200,
        method_n={"ism": 100},
        reports={"models": reports.REPORT},
        description=(
            "70-nt windows of A. thaliana TAIR10 chr1: contains ATG only / TAA only / both / "
            "neither; ground truth: every ATG and TAA"
        ),
    )
)
