"""``psl``: protein subcellular localization (seed 000; SPEC section 3.1).

SCL2205 (``p-scldata`` 2025.6.0: 19,074 Swiss-Prot proteins, 13 classes of which
4 are multi-location; splits train / eval / heldout used as train / valid / test)
or a user's DeepLoc FASTA file (``data(split, path=...)``); one-hot proteins of
length 1000 (first 500 + last 500 residues of longer ones); a zoo of BiLSTM,
CNN-BiLSTM and diagnostic MLP models with and without attention; C-terminal
sorting signals (ER retention, PTS1) as ground truth; and the report ``models``
(the paper's Table 1 with attention interventions).

Modules: :mod:`.data` (loading, encoding, ground truth, background),
:mod:`.models` (the zoo), :mod:`.reports` (the model table).
"""

from __future__ import annotations

from attrbench.contract import PROTEIN
from attrbench.plugin import Task, register_task

from . import data, hitrate, models, reports
from .data import load_deeploc

__all__ = ["TASK", "load_deeploc", "data", "models", "reports"]

TASK = register_task(Task(
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
    method_n={"ism": 2},
    resources={"knowledge_base": hitrate.knowledge_base},
    reports={"models": reports.models_report, "hit_rate": hitrate.hit_rate_report},
    description=(
        "Protein subcellular localization on SCL2205 (13 classes), Wang, Arora & Shah; "
        "ground truth: C-terminal ER retention and PTS1 signals"
    ),
))
