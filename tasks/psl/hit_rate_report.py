"""The ``hit_rate`` report of ``psl``: seed 000's Tables 2 and 3 on our data, with corrections.

The report declares its cells (:func:`plan`): integrated gradients, saliency and
``random`` on the five models of Table 2, and attention with its permuted and
random controls on the two attention models of Table 3, all scored with
``hit_rate`` on the whole held-out split (2,631 proteins) by default.
``attrbench report --task psl hit_rate`` runs them through the runner into the
results store (cells already there are reused) and :func:`render` prints:

- the headline (:func:`headline`): per method and model, the hit rate minus the
  ``random`` control's, paired per protein on the proteins both score (column
  ``hit_rate``: every protein with a match, against its true location), with a
  95% paired bootstrap interval and n. Random position scores already beat the
  chance level (their few subsequences are not random k-mers), so a method's
  hit rate means something only by its distance from the random control;
- Tables 2 and 3: per method and model, the mean hit rate [95% bootstrap
  interval] of correct predictions, and of wrong predictions against the
  predicted and against the true location, with beside each the proteins it
  averages and the share of that row's proteins with no match (such proteins
  have no hit rate: averaging only the others compares different proteins);
- the chance level of each row: the share of knowledge-base entries with the
  protein's location (0.282 on SCL2205 for the true location), the hit rate a
  subsequence found in random entries would get;
- paired comparisons on the proteins both sides score (difference of means with
  a 95% paired bootstrap interval): every method against ``random`` and against
  the chance level, and attention against its permuted and random controls;
- the paper's values.

Cost on one CPU core (the explained proteins' attributions; the hit rate itself
adds about 0.01 s per protein and method): attention and its controls about
0.002-0.004 s per protein, saliency 0.012-0.015 s, integrated gradients (50
steps) about 0.37 s on ``bilstm_att``, i.e. about 16 minutes per model on the
whole split; ``n_ig`` explains a seeded subset with IG only.

References
----------
Wang, H., Arora, S. & Shah, H. Interpretable deep text classifiers in protein
subcellular localization (seed 000), section 3.4.2, Tables 2-3.
"""

from __future__ import annotations

import numpy as np
from tabulate import tabulate

from attrbench.core.plugin import Report
from attrbench.reporting.leaderboard import format_value, interval_text, notes_text, record_text
from attrbench.reporting.stats import bootstrap_mean
from attrbench.running.results import Record
from attrbench.running.runner import RunConfig

__all__ = [
    "TABLE2_MODELS",
    "TABLE2_METHODS",
    "TABLE3_MODELS",
    "TABLE3_METHODS",
    "ROWS",
    "PAPER",
    "REPORT",
    "plan",
    "render",
    "paired_difference",
    "HEADLINE_COLUMN",
    "headline",
]

#: Table 2: integrated gradients on the LSTMs and the big CNN-LSTMs (saliency and random beside).
TABLE2_MODELS = ("bilstm", "bilstm_att", "bilstm_uniform", "cnn_bilstm_big", "cnn_bilstm_big_att")
TABLE2_METHODS = ("ig", "saliency", "random")
#: Table 3: the attention models, with their attention, permuted and random attention.
TABLE3_MODELS = ("bilstm_att", "cnn_bilstm_big_att")
TABLE3_METHODS = ("attention", "attention_permuted", "attention_random")
#: The controls attention is compared with, paired.
CONTROLS = ("attention_permuted", "attention_random")
#: The column of the headline: every protein with a match, against its true location.
HEADLINE_COLUMN = "hit_rate"
#: The control of the headline.
RANDOM = "random"
#: The paper's names of our models and methods.
NAMES = {
    "bilstm": "LSTM",
    "bilstm_att": "LSTM-Att",
    "bilstm_uniform": "LSTM-uniform Att",
    "cnn_bilstm_big": "big CNN-LSTM",
    "cnn_bilstm_big_att": "big CNN-LSTM-Att",
    "ig": "Integrated gradients",
    "saliency": "Saliency",
    "random": "Random scores",
    "attention": "Attention weights",
    "attention_permuted": "Permuted attention",
    "attention_random": "Randomized attention",
}
#: Table rows: the record column, its chance column and its label.
ROWS = (
    ("correct", "chance_correct", "Correct prediction"),
    ("wrong_predicted", "chance_wrong_predicted", "Wrong prediction, predicted label"),
    ("wrong_true", "chance_wrong_true", "Wrong prediction, true label"),
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


def plan(
    n: int | str = "all", seed: int = 0, n_ig: int | str | None = None, **_
) -> list[RunConfig]:
    """The cells of the report: ``hit_rate`` of Tables 2 and 3.

    Parameters
    ----------
    n : int or "all"
        Held-out proteins explained (default: all 2,631). The same ``n`` and
        ``seed`` as ``attrbench run --metric hit_rate`` reuse its cells.
    seed : int
    n_ig : int or "all", optional
        Proteins explained by integrated gradients, the costly method (default: ``n``).

    Returns
    -------
    configs : list of RunConfig
    """

    def count(value) -> int:
        return -1 if value == "all" else int(value)

    common = {"task": "psl", "metrics": ["hit_rate"], "seed": seed}
    rest = [m for m in TABLE2_METHODS if m != "ig"]
    return [
        RunConfig(
            models=list(TABLE2_MODELS),
            methods=["ig"],
            n=count(n if n_ig is None else n_ig),
            **common,
        ),
        RunConfig(models=list(TABLE2_MODELS), methods=rest, n=count(n), **common),
        RunConfig(models=list(TABLE3_MODELS), methods=list(TABLE3_METHODS), n=count(n), **common),
    ]


def paired_difference(a: Record, b: Record, column: str, other: str | None = None, seed: int = 0):
    """Mean difference ``a - b`` of a column on the proteins both score, with a 95% bootstrap interval.

    Parameters
    ----------
    a, b : Record
        Records with per-sequence values.
    column : str
        The column of ``a``.
    other : str, optional
        The column of ``b`` (default: ``column``), e.g. a chance-level column.
    seed : int

    Returns
    -------
    summary : attrbench.reporting.stats.Summary
        ``n`` counts the proteins both score.
    """
    va, vb = a.sequence_values(), b.sequence_values()
    pos = {k: i for i, k in enumerate(vb.ids)}
    both = np.array([pos.get(k, -1) for k in va.ids])
    x = va.columns[column]
    y = np.where(both >= 0, vb.columns[other or column][np.maximum(both, 0)], np.nan)
    return bootstrap_mean(x - y, seed=seed)


def headline(by: dict, seed: int = 0) -> dict:
    """The headline: each method's hit rate minus the random control's, paired per protein.

    Parameters
    ----------
    by : dict of (method, model) to Record
        ``hit_rate`` records.
    seed : int
        Seeds the paired bootstrap.

    Returns
    -------
    differences : dict of (method, model) to attrbench.reporting.stats.Summary
        :func:`paired_difference` of :data:`HEADLINE_COLUMN` (method - ``random``) on the
        proteins both score, for every ``ok`` record of a method other than ``random``
        whose model has an ``ok`` random record; ``n`` counts those proteins.
    """
    out = {}
    for (method, model), rec in by.items():
        control = by.get((RANDOM, model))
        if method == RANDOM or rec.status != "ok" or control is None or control.status != "ok":
            continue
        if rec.sequence_values() is None or control.sequence_values() is None:
            continue
        out[(method, model)] = paired_difference(rec, control, HEADLINE_COLUMN, seed=seed)
    return out


def _headline_table(by: dict, seed: int) -> str:
    """The headline as a table: a row per method, a column per model."""
    diffs = headline(by, seed)
    models = [*TABLE2_MODELS, *(m for m in TABLE3_MODELS if m not in TABLE2_MODELS)]
    methods = [m for m in (*TABLE2_METHODS, *TABLE3_METHODS) if m != RANDOM]
    body = []
    for method in methods:
        cells = []
        for model in models:
            d = diffs.get((method, model))
            cells.append(
                "-"
                if d is None
                else "no protein"
                if d.n == 0
                else f"{interval_text(d.mean, d.low, d.high, signed=True)} n={d.n}"
            )
        if any(c != "-" for c in cells):
            body.append([NAMES[method], *cells])
    if not body:
        return "no method has a random control on its model"
    headers = ["method - random", *(NAMES[m] for m in models)]
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _no_match(rec: Record, column: str, chance: str) -> str:
    """The share of a row's proteins without a match (they have a chance value, no hit rate)."""
    values = rec.sequence_values()
    in_row = np.isfinite(values.columns[chance])
    if not in_row.any():
        return "no protein"
    missing = in_row & ~np.isfinite(values.columns[column])
    return f"{missing.sum() / in_row.sum():.1%} of {in_row.sum()}"


def _cell(rec: Record | None, column: str, chance: str, notes: dict) -> str:
    if rec is None:
        return "-"
    text = record_text(rec, column, notes)
    if rec.status != "ok" or rec.sequence_values() is None:
        return text
    return f"{text}; no match {_no_match(rec, column, chance)}"


def _chance_cell(records: list[Record | None], chance: str) -> str:
    rec = next((r for r in records if r is not None and r.status == "ok"), None)
    if rec is None:
        return "-"
    col = rec.columns[chance]
    return f"{interval_text(col['mean'], col['low'], col['high'])} of {col['n']}"


def _table(by: dict, methods: tuple[str, ...], models: tuple[str, ...], notes: dict) -> str:
    """One table: a block of rows per method, a column per model, chance rows last."""
    headers = ["", *(NAMES[m] for m in models)]
    body = []
    for method in methods:
        body.append([f"**{NAMES[method]}**", *("" for _ in models)])
        for column, chance, label in ROWS:
            body.append(
                [label, *(_cell(by.get((method, m)), column, chance, notes) for m in models)]
            )
    body.append(["**Chance level** (share of entries with the location)", *("" for _ in models)])
    for _, chance, label in ROWS:
        cells = [_chance_cell([by.get((q, m)) for q in methods], chance) for m in models]
        body.append([label, *cells])
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _paper(methods: tuple[str, ...], models: tuple[str, ...]) -> str:
    headers = ["", *(NAMES[m] for m in models)]
    body = []
    for method in methods:
        for j, (_, _, label) in enumerate(ROWS):
            values = [PAPER.get((method, m)) for m in models]
            if any(values):
                body.append(
                    [
                        f"{NAMES[method]}: {label}",
                        *(format_value(v[j]) if v else "-" for v in values),
                    ]
                )
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def _comparisons(by: dict) -> list[tuple[str, str, Record, Record | None]]:
    """(model, label, a, b) of every paired comparison; b None: against the chance level."""
    out = []
    for (method, model), rec in sorted(by.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if rec.status != "ok" or method == "random":
            continue
        out.append((model, f"{method} - chance", rec, None))
        if by.get(("random", model)) is not None:
            out.append((model, f"{method} - random", rec, by[("random", model)]))
        if method == "attention":
            out += [
                (model, f"attention - {c}", rec, by[(c, model)])
                for c in CONTROLS
                if by.get((c, model)) is not None
            ]
    return out


def _paired_table(by: dict, seed: int) -> str:
    headers = ["model", "difference", *(label for _, _, label in ROWS)]
    body = []
    for model, label, a, b in _comparisons(by):
        if b is not None and b.status != "ok":
            continue
        cells = []
        for column, chance, _ in ROWS:
            d = paired_difference(
                a, a if b is None else b, column, chance if b is None else None, seed
            )
            cells.append(
                "no protein"
                if d.n == 0
                else f"{interval_text(d.mean, d.low, d.high, signed=True)} n={d.n}"
            )
        body.append([NAMES[model], label, *cells])
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def render(records: list[Record], seed: int = 0, **_) -> str:
    """Tables 2 and 3, the chance level, the paired comparisons and the paper's values (markdown).

    Parameters
    ----------
    records : list of Record
        The cells of :func:`plan` (other records are ignored).
    seed : int
        Seeds the paired bootstrap.
    """
    hits = [r for r in records if r.key.metric == "hit_rate"]
    by = {(r.key.method, r.key.model): r for r in hits}
    notes: dict[str, int] = {}
    ns = sorted({r.key.n for r in hits})
    kbs = sorted(
        {r.key.metric_options.get("resources", {}).get("knowledge_base", "?") for r in hits}
    )
    intro = (
        f"psl hit rate on {', '.join(map(str, ns)) or 'no'} held-out proteins; knowledge base "
        f"{', '.join(kbs) or '-'} (content hash). Each cell: mean [95% CI] (n = proteins "
        "with a hit rate); no match = share of the row's proteins none of whose subsequences "
        "is in another entry.\n\n"
    )
    table2 = _table(by, TABLE2_METHODS, TABLE2_MODELS, notes)
    table3 = _table(by, TABLE3_METHODS, TABLE3_MODELS, notes)
    return (
        intro
        + "Headline: hit rate minus the random control, paired per protein (column "
        + f"`{HEADLINE_COLUMN}`: every protein with a match, against its true location; mean "
        + "[95% paired bootstrap CI], n = proteins both score). Random position scores beat the "
        + "chance level on their own, so a method's hit rate counts by its distance from random."
        + "\n\n"
        + _headline_table(by, seed)
        + "\n\nTable 2: hit rates of subsequences from gradient methods\n\n"
        + table2
        + "\n\nTable 3: hit rates of subsequences from attention weights\n\n"
        + table3
        + "\n\n"
        + (notes_text(notes) + "\n\n" if notes else "")
        + "Paired differences (mean [95% paired bootstrap CI] on the proteins both score)\n\n"
        + _paired_table(by, seed)
        + "\n\nPaper (seed 000), Table 2:\n\n"
        + _paper(("ig",), TABLE2_MODELS)
        + "\n\nPaper (seed 000), Table 3:\n\n"
        + _paper(TABLE3_METHODS, TABLE3_MODELS)
        + "\n"
    )


REPORT = Report(
    name="hit_rate",
    render=render,
    plan=plan,
    description="Seed 000's Tables 2-3 (hit rate) headed by each method's paired difference from "
    "the random control, with chance levels, no-match shares and paired "
    "comparisons, on the whole held-out split",
)
