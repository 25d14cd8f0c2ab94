"""The site's task page: every model of a task with its description above its method table.

``<task>/index.html`` lists the task's models in record order; each gets a heading
linking to its own page, the zoo's description of the model (for the ``exact``
tasks: two sentences with the model's formula and how its exact values are
computed) and its method table, so the models of one task can be read side by side.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from attrbench.running.results import Record
from attrbench.site.tables import method_table

__all__ = ["task_description", "task_page_body"]


def task_description(task: str) -> str:
    """The registered description of ``task`` (empty when it is not registered here)."""
    from attrbench.core.plugin import TASKS

    try:
        return TASKS.get(task).description
    except Exception:  # records of a task this installation does not have
        return ""


def task_page_body(
    task: str,
    by_model: dict[str, list[Record]],
    describe: Callable[[str, str], str],
    render: Callable[..., str],
    slug: Callable[[str], str],
) -> str:
    """The HTML body of ``task``'s page.

    Parameters
    ----------
    by_model : dict of str to list of Record
        Each model's scored records (no cost-benchmark or model-quality records).
    describe : callable
        ``describe(task, model) -> str``, the model's description.
    render : callable
        ``render(table, table_id) -> str``, a sortable HTML table.
    slug : callable
        The site's file-name slug of a model name.
    """
    about = task_description(task)
    parts = [f'<p class="about">{html.escape(about)}</p>'] if about else []
    for model, recs in by_model.items():
        n = max((r.key.n for r in recs), default=0)
        parts.append(
            f'<h2 id="{slug(model)}"><a href="{slug(model)}.html">{html.escape(model)}</a> '
            f"(n={n})</h2>"
        )
        text = describe(task, model)
        if text:
            parts.append(f'<p class="about model-about">{html.escape(text)}</p>')
        if recs:
            parts.append(render(method_table(recs), f"methods-{slug(model)}"))
    return "\n".join(parts)
