"""The site's discovered-motif logos (attrbench.site.logos) and its task page of every model."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

from attrbench.running.results import CellKey, Record
from attrbench.site import build_site
from attrbench.site.logos import information, logo_svg, motif_section

TATA = np.array(  # TATAAAG, rows A C G T
    [[0, 1, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1], [1, 0, 1, 0, 0, 0, 0]],
    dtype=float,
)


def _key(method: str, metric: str, task: str = "toy", model: str = "m") -> CellKey:
    return CellKey(task, "1", "d" * 16, model, "c" * 16, method, {}, metric, {}, 40, 0)


def _pattern() -> dict:
    ppm = np.concatenate([np.full((4, 2), 0.25), TATA], axis=1)  # two flat columns first
    return {
        "sign": 1,
        "seqlets": 37,
        "ppm": ppm.tolist(),
        "cwm": (ppm * 0.5).tolist(),
        "matched": ["TATA"],
        "known": {"name": "TATA", "q": 3.6e-07, "offset": -2, "strand": 0, "ppm": TATA.tolist()},
        "jaspar": {
            "name": "MA0108.3 TBP",
            "q": 0.0123,
            "offset": -2,
            "strand": 1,
            "ppm": TATA[::-1, ::-1].tolist(),
        },
    }


def _motif_record(method: str = "ism") -> Record:
    extra = {
        "motif_discovery": {
            "hypothetical": {"seqlets": 120, "patterns": [_pattern()]},
            "projected": {"seqlets": 9, "patterns": []},
            "jaspar_release": "JASPAR2024",
            "q": 0.05,
        }
    }
    cols = {
        "recall": {"mean": 1.0, "low": 1.0, "high": 1.0, "n": 1, "n_missing": 39},
        "higher_is_better": True,
    }
    return Record(
        _key(method, "motif_discovery"),
        "ok",
        True,
        1.0,
        1.0,
        1.0,
        n_scored=1,
        n_missing=39,
        columns={"recall": cols["recall"] | {"higher_is_better": True}},
        extra=extra,
    )


def test_information_heights_known_answers():
    h = information(np.array([[1.0, 0.25, 0.5], [0, 0.25, 0.5], [0, 0.25, 0], [0, 0.25, 0]]))
    assert np.allclose(h, [[2, 0, 0.5], [0, 0, 0.5], [0, 0, 0], [0, 0, 0]])


def test_logo_letter_heights_are_their_values():
    """A column of A = 2 bits at limit 2 fills the 48 px; C = -0.5 of a signed map goes below."""
    svg = logo_svg(np.array([[2.0], [0], [0], [0]]), "a", height=48.0, limit=2.0)
    assert svg.count("<path") == 1 and "scale(12.00 48.00)" in svg and "#109648" in svg
    signed = logo_svg(np.array([[1.5], [-0.5], [0], [0]]), "s", height=40.0)
    # 1.5 above (30 px from y 0), 0.5 below the baseline at y 30 (10 px)
    assert "translate(1.00 0.00) scale(12.00 30.00)" in signed
    assert "translate(1.00 30.00) scale(12.00 10.00)" in signed


def test_best_match_is_aligned_and_reverse_complemented_back():
    """Pattern column i faces target column i + offset: a target at offset -2 starts in slot 2;
    a strand-1 match is drawn as the reverse complement of the stored matrix (TATAAAG again)."""
    section = motif_section([_motif_record()])
    at = section.index("MA0108.3 TBP")
    cell = section[section.rindex("<td", 0, at) : section.index("</td>", at)]
    glyphs = cell.split("</title>")[1]
    first = re.search(r"translate\(([\d.]+) ", glyphs).group(1)
    assert float(first) == pytest.approx(2 * 14 + 1)  # slot 2 of 14 px columns
    assert glyphs.count('fill="#d62839"') == 2 and glyphs.count('fill="#f7b32b"') == 1


def test_site_page_draws_each_pattern_beside_its_matches(tmp_path):
    recs = [_motif_record("ism"), _motif_record("saliency")]
    build_site(recs, tmp_path)
    page = (tmp_path / "toy" / "m.html").read_text()
    section = page[page.index("Discovered motifs") :]
    assert section.count('<svg xmlns="http://www.w3.org/2000/svg" class="logo"') == 2 * 4
    assert "MA0108.3 TBP (reverse complement)" in section and "q = 0.012" in section
    assert "q = 3.6e-07" in section and "matches: TATA" in section
    assert "ism: recall 1.00, 1 pattern from 120 seqlets" in section
    assert "projected map: 0 patterns from 9 seqlets" in section
    assert "No patterns (9 seqlets)" in section


def test_no_motif_records_no_section():
    plain = Record(_key("ism", "motif_recall"), "ok", True, 0.5, 0.4, 0.6, n_scored=4)
    assert motif_section([plain]) == ""


def test_exact_task_page_shows_each_model_formula_above_its_table(tmp_path):
    from attrbench.core.plugin import TASKS

    models = TASKS.get("exact").models
    recs = [
        Record(_key("ig", "exact_error", "exact", m), "ok", True, 0.9, 0.8, 1.0, n_scored=40)
        for m in models
    ]
    build_site(recs, tmp_path)
    page = (tmp_path / "exact" / "index.html").read_text()
    for name, spec in models.items():
        about = html.escape(spec.description)
        at = page.index(f'<h2 id="{name}">')
        assert page.index(about, at) < page.index(f'id="methods-{name}"', at)
    assert "g = sum_l w[x_l, l] + b" in page and "XOR: h = sigmoid" in page
    assert page.count('<table class="sortable" id="methods-') == len(models)
    assert 'href="exact/index.html"' in (tmp_path / "index.html").read_text()
