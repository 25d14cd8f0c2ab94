"""``promoter``: promoter detection on a real genome (seed 002; SPEC section 3.2).

Modules: :mod:`.data` (windows, GC-matched negatives, TATA ground truth; its
docstring names the JASPAR matrix and threshold), :mod:`.models` (the zoo),
:mod:`.reports` (the model table with its baselines).

Data options: ``fasta=PATH`` and ``gff=PATH`` (another genome, gzipped or
plain), or ``path=DIR`` (a genomic-benchmarks folder such as
``human_nontata_promoters``). Letters other than ACGT: IUPAC ambiguity letters
drop their window (counted); any other letter is an error naming the record
and position.
"""

from __future__ import annotations

from attrbench.core.plugin import Task, register_task
from attrbench_tasks.common.alphabets import DNA

from . import data, models, reports

__all__ = ["TASK", "data", "models", "reports"]

TASK = register_task(
    Task(
        name="promoter",
        version="1",
        alphabet=DNA,
        classes=data.CLASSES,
        data=data.data,
        models=models.zoo(),
        default_model="cnn",
        checkpoint_dir=models.CHECKPOINT_DIR,
        ground_truth=data.ground_truth,
        default_n=200,
        method_n={"ism": 40},
        ground_truth_n=230,  # every test positive with a TATA box (230 of 1,026)
        # A TATA box (15 nt) cannot lie whole among 6 top positions: recall counts a box found
        # when any of its letters is among the top-K positions, K = the sequence's motif length.
        metric_options={"motif_recall": {"definition": "lenient", "k": None}},
        reports={"models": reports.REPORT},
        description=(
            "Promoter vs GC-matched non-promoter 251-nt windows of A. thaliana TAIR10 chr1 "
            "(TSS-200..+50); ground truth: JASPAR MA0108.3 TATA boxes at TSS-40..-20"
        ),
    )
)
