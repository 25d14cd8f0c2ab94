"""Hit rate on the ``psl`` task: its knowledge base, and the paper's Tables 2 and 3 on our data.

:func:`knowledge_base` is the task's ``knowledge_base`` resource: by default every
SCL2205 protein (all three splits, full untrimmed sequences, their SCL2205
locations), or a user's UniProt TSV / FASTA file (``--kb PATH``, formats in
:mod:`attrbench.knowledge`). :func:`hit_rate_report` runs the benchmark for the
``hit_rate`` metric and prints seed 000's Table 2 (subsequences from integrated
gradients on each LSTM / CNN-LSTM model with and without attention) and Table 3
(subsequences from the attention weights, and from permuted and random
attention), each cell the mean with its 95% bootstrap interval, next to the
paper's values.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000), section 3.4.2, Tables 2-3.
"""

from __future__ import annotations

import functools
import inspect
import math
from pathlib import Path

from tabulate import tabulate

from attrbench.knowledge import KnowledgeBase, read_knowledge_base
from attrbench.results import Record

from .data import locations_of

__all__ = [
    "TABLE2_MODELS", "TABLE3_MODELS", "TABLE3_METHODS", "ROWS", "PAPER",
    "knowledge_base", "hit_rate_records", "hit_rate_report",
]

#: Table 2: integrated gradients on the LSTMs and the big CNN-LSTMs.
TABLE2_MODELS = ("bilstm", "bilstm_att", "bilstm_uniform", "cnn_bilstm_big", "cnn_bilstm_big_att")
#: Table 3: the attention models, with their attention, permuted and random attention.
TABLE3_MODELS = ("bilstm_att", "cnn_bilstm_big_att")
TABLE3_METHODS = ("attention", "attention_permuted", "attention_random")
#: The paper's names of our models and methods.
NAMES = {
    "bilstm": "LSTM", "bilstm_att": "LSTM-Att", "bilstm_uniform": "LSTM-uniform Att",
    "cnn_bilstm_big": "big CNN-LSTM", "cnn_bilstm_big_att": "big CNN-LSTM-Att",
    "ig": "Integrated gradients", "attention": "Attention weights",
    "attention_permuted": "Permuted attention", "attention_random": "Randomized attention",
}
#: Table rows: the record column and its label.
ROWS = (
    ("correct", "Correct prediction"),
    ("wrong_predicted", "Wrong prediction, predicted label"),
    ("wrong_true", "Wrong prediction, true label"),
    ("no_match", "No match (fraction of proteins)"),
)
#: The paper's values, (method, model) -> (correct, wrong predicted, wrong true).
PAPER = {
    ("ig", "bilstm"): (0.462, 0.083, 0.476),
    ("ig", "bilstm_att"): (0.500, 0.104, 0.500),
    ("ig", "bilstm_uniform"): (0.460, 0.136, 0.446),
    ("ig", "cnn_bilstm_big"): (0.498, 0.153, 0.313),
    ("ig", "cnn_bilstm_big_att"): (0.461, 0.128, 0.377),
    ("attention", "bilstm_att"): (0.559, 0.097, 0.533),
    ("attention", "cnn_bilstm_big_att"): (0.617, 0.101, 0.489),
    ("attention_permuted", "bilstm_att"): (0.445, 0.129, 0.393),
    ("attention_permuted", "cnn_bilstm_big_att"): (0.369, 0.130, 0.347),
    ("attention_random", "bilstm_att"): (0.384, 0.127, 0.394),
    ("attention_random", "cnn_bilstm_big_att"): (0.402, 0.138, 0.373),
}


@functools.lru_cache(maxsize=1)
def _scl2205() -> KnowledgeBase:
    import scldata.loader as scl

    df = scl.load("full")
    return KnowledgeBase(
        [str(a) for a in df.index], df["seq"].tolist(), [locations_of(c) for c in df["scl"]],
        source="SCL2205 (p-scldata 2025.6.0, all splits)",
    )


def knowledge_base(path: str | Path | None = None) -> KnowledgeBase:
    """The knowledge base of the ``psl`` hit rate.

    Parameters
    ----------
    path : str or Path, optional
        A UniProt TSV export (``Entry``, ``Sequence``, ``Subcellular location [CC]``
        columns) or a FASTA file with locations in the headers, chosen by
        extension (else by content); see :mod:`attrbench.knowledge`. Default:
        the 19,074 SCL2205 proteins of all three splits with their full
        sequences (the query protein itself is excluded by accession).

    Returns
    -------
    kb : KnowledgeBase
        Indexed; the index is cached on disk (``$ATTRBENCH_CACHE/kb``).
    """
    return _scl2205() if path is None else read_knowledge_base(path)


def hit_rate_records(
    n: int = 50, seed: int = 0, results: str | Path | None = None, kb: str | Path | None = None,
    progress: bool = True, device: str = "auto", force: bool = False,
) -> list[Record]:
    """Run (or find) the ``hit_rate`` cells of Tables 2 and 3.

    Parameters
    ----------
    n : int
        Test proteins explained (the same ``n`` and ``seed`` as ``attrbench run``
        reuse its cells).
    seed : int
    results : Path, optional
        The results directory (default ``$ATTRBENCH_RESULTS`` or ``./results``).
    kb : Path, optional
        A knowledge-base file instead of SCL2205.
    progress : bool
    device : str
    force : bool
        Recompute cells whose records exist.

    Returns
    -------
    records : list of Record
        The ``hit_rate`` records (other records of the runs are left out).
    """
    from attrbench.results import ResultStore, default_results_dir
    from attrbench.runner import RunConfig, run

    store = ResultStore(Path(results) if results is not None else default_results_dir())
    resources = {"knowledge_base": {"path": str(kb)}} if kb is not None else {}
    common = {"task": "psl", "metrics": ["hit_rate"], "n": n, "seed": seed, "device": device,
              "force": force, "progress": progress, "resource_options": resources}
    records = run(RunConfig(models=list(TABLE2_MODELS), methods=["ig"], **common), store)
    table3 = RunConfig(models=list(TABLE3_MODELS), methods=list(TABLE3_METHODS), **common)
    records += run(table3, store)
    return [r for r in records if r.key.metric == "hit_rate"]


def _fmt(x: float | None) -> str:
    return "nan" if x is None or math.isnan(x) else f"{x:.3f}"


def _cell(rec: Record | None, column: str) -> str:
    if rec is None:
        return "-"
    if rec.status != "ok":
        return f"{'n/a' if rec.status == 'not_applicable' else rec.status}: {rec.reason}"
    col = rec.columns.get(column)
    if col is None or col["n"] == 0:
        return "no protein"
    if column == "no_match":
        return f"{_fmt(col['mean'])} of {col['n']}"
    return f"{_fmt(col['mean'])} [{_fmt(col['low'])}, {_fmt(col['high'])}] n={col['n']}"


def _table(records: dict, methods: tuple[str, ...], models: tuple[str, ...]) -> str:
    """One table: a block of rows per method, a column per model, then the paper's values."""
    headers = ["", *(NAMES[m] for m in models)]
    body, paper = [], []
    for method in methods:
        if len(methods) > 1:
            body.append([f"**{NAMES[method]}**", *("" for _ in models)])
        for column, label in ROWS:
            body.append([label, *(_cell(records.get((method, m)), column) for m in models)])
        for j, (_, label) in enumerate(ROWS[:3]):
            values = [PAPER.get((method, m)) for m in models]
            paper.append([f"{NAMES[method]}: {label}", *(_fmt(v[j]) if v else "-" for v in values)])
    ours = tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)
    theirs = tabulate(paper, headers=headers, tablefmt="github", disable_numparse=True)
    return ours + "\n\nPaper (seed 000):\n\n" + theirs


def hit_rate_report(**options) -> str:
    """The paper's Tables 2 and 3 on our data, in markdown (options of :func:`hit_rate_records`).

    Each cell: mean hit rate [95% bootstrap interval] and the number of proteins
    it averages (correct, or wrong, predictions with at least one matched
    subsequence); "No match" is the fraction of all explained proteins none of
    whose subsequences is in another entry of the knowledge base.
    """
    n = options.get("n", 50)
    records = {(r.key.method, r.key.model): r for r in hit_rate_records(**options)}
    kb = options.get("kb") or "SCL2205 (all splits)"
    intro = f"psl hit rate, {n} test proteins, knowledge base: {kb}\n\n"
    table2 = _table(records, ("ig",), TABLE2_MODELS)
    table3 = _table(records, TABLE3_METHODS, TABLE3_MODELS)
    return (intro + "Table 2: hit rates of subsequences from integrated gradients\n\n" + table2
            + "\n\nTable 3: hit rates of subsequences from attention weights\n\n" + table3)


hit_rate_report.__signature__ = inspect.signature(hit_rate_records)
