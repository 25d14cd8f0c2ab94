"""``psl``: protein subcellular localization (seed 000; SPEC section 3.1).

SCL2205 (``p-scldata`` 2025.6.0: 19,074 Swiss-Prot proteins, 13 classes of which
4 are multi-location; splits train / eval / heldout used as train / valid / test)
or a user's DeepLoc FASTA file (``data(split, path=...)``); one-hot proteins of
length 1000 (first 500 + last 500 residues of longer ones); a zoo of BiLSTM,
CNN-BiLSTM and diagnostic MLP models with and without attention; C-terminal
sorting signals (ER retention, PTS1) as ground truth; and the report ``models``
(the paper's Table 1 with attention interventions) and ``hit_rate`` (its
Tables 2-3 with chance levels and paired comparisons).

Modules: :mod:`.data` (loading, encoding, ground truth, background),
:mod:`.models` (the zoo), :mod:`.knowledge` (the knowledge base of the hit
rate, on the exact-substring index of :mod:`.substring_index`),
:mod:`.hit_rate_metric` (the metric, registered through the ``attrbench.metrics``
entry point), :mod:`.reports` (the model report), :mod:`.hit_rate_report`
(the hit-rate report) and :mod:`.planted` (the task ``psl_planted``: signals planted
into SCL2205 proteins, labels following them, so its ground truth is one the models
use; registered through its own entry point).
"""

from __future__ import annotations

from attrbench.core.plugin import Task, register_task
from attrbench_tasks.common.alphabets import PROTEIN

from . import data, hit_rate_report, knowledge, models, reports
from .data import load_deeploc

__all__ = [
    "TASK",
    "METHOD_OPTIONS",
    "METRIC_OPTIONS",
    "GROUND_TRUTH_N",
    "load_deeploc",
    "data",
    "models",
    "reports",
]

#: Task-specific defaults of methods: complete methods start from a reference that keeps the
#: protein's length (background composition on real positions, padding zero). An all-zero
#: input is a length-1 protein to models that read the mask from X (f(0) = -0.133 where
#: f(1e-4 x) = 1.526 on one protein), so IG from zeros cannot be complete. ``deepshap``'s
#: references are background draws whose padding is already zero.
METHOD_OPTIONS = {"ig": {"baseline": "background"}, "deeplift": {"baseline": "background"}}
#: Ground-truth metrics score every held-out protein with a sorting signal (about 10 of 2,631
#: carry one), at most this many, instead of the random sample where none may carry one.
GROUND_TRUTH_N = 1000
#: Task-specific defaults of metrics: ``randomization`` re-initialises the whole model only
#: (its ``full`` column) instead of also the four cascade steps. Each step re-runs every
#: method on a randomised copy, and on this task ISM's 8 proteins cost 100-135 s per step
#: (the cascade was 7 of the main job's 29 minutes); ``--option randomization.cascade=true``
#: adds the steps.
METRIC_OPTIONS = {"randomization": {"cascade": False}}

TASK = register_task(
    Task(
        name="psl",
        version="2",
        alphabet=PROTEIN,
        classes=data.CLASSES,
        data=data.data,
        models=models.zoo(),
        default_model="bilstm_att",
        checkpoint_dir=models.CHECKPOINT_DIR,
        ground_truth=data.ground_truth,
        background=data.background,
        default_n=50,
        method_n={"ism": 8},
        resources={"knowledge_base": knowledge.knowledge_base},
        reports={"models": reports.REPORT, "hit_rate": hit_rate_report.REPORT},
        description=(
            "Protein subcellular localization on SCL2205 (13 classes), Wang, Arora & Shah; "
            "ground truth: C-terminal ER retention and PTS1 signals"
        ),
        method_options=METHOD_OPTIONS,
        metric_options=METRIC_OPTIONS,
        ground_truth_n=GROUND_TRUTH_N,
    )
)
