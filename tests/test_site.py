"""The static site: example packing, the built files, and a real headless browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from attrbench.core.data import GroundTruth, Motif
from attrbench.core.examples import pack_examples, unpack_examples
from attrbench.running.results import CellKey, Record
from attrbench.site import build_site

METHODS = {"alpha": 0.5, "beta": 0.9, "gamma": 0.1, "delta": 0.7}
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _key(method: str, metric: str, model: str = "m") -> CellKey:
    return CellKey("toy", "1", "d" * 16, model, "c" * 16, method, {}, metric, {}, 4, 0)


def _examples() -> dict:
    X = torch.zeros(2, 4, 6)
    X[0, [0, 1, 2, 3, 0], range(5)] = 1  # ACGTA + one padding column
    X[1, [3, 3, 2, 1, 0, 0], range(6)] = 1
    attr = torch.arange(48, dtype=torch.float32).reshape(2, 4, 6) / 10
    gt = GroundTruth([[Motif("start", 1, 4)], []])
    return pack_examples(["s0", "s1"], X, attr, gt, "ACGT", k=3)


def _records() -> list[Record]:
    recs = []
    for i, (method, value) in enumerate(METHODS.items()):
        recs.append(
            Record(
                _key(method, "motif_recall"),
                "ok",
                True,
                value,
                value - 0.1,
                value + 0.1,
                n_scored=4,
            )
        )
        recs.append(
            Record(
                _key(method, "seconds_per_seq"),
                "ok",
                False,
                10.0 ** -(i + 2),
                n_scored=4,
                extra={"examples": _examples()},
            )
        )
    recs.append(
        Record(
            _key("gamma", "completeness"), "not_applicable", reason="gamma claims no completeness"
        )
    )
    recs.append(
        Record(
            _key("alpha", "completeness"),
            "ok",
            False,
            0.2,
            0.1,
            0.3,
            n_scored=4,
            extra={"invalid": True, "invalid_above": 0.01},
        )
    )
    for metric, v in (("accuracy", 0.8), ("f1_micro", 0.8), ("f1_macro", 0.7)):
        recs.append(Record(_key("(model)", metric), "ok", True, v, n_scored=10))
    return recs


def test_examples_roundtrip_exact():
    packed = _examples()
    json.dumps(packed)  # JSON-serialisable
    ex = unpack_examples(json.loads(json.dumps(packed)))
    assert ex.ids == ["s0", "s1"] and len(ex) == 2
    assert ex.codes.dtype == np.int8
    assert ex.codes.tolist() == [[0, 1, 2, 3, 0, -1], [3, 3, 2, 1, 0, 0]]
    assert ex.sequence(0) == "ACGTA" and ex.length(0) == 5
    attr = np.arange(48, dtype=np.float32).reshape(2, 4, 6) / 10
    expected0 = [attr[0, c, p] if c >= 0 else 0.0 for p, c in enumerate(ex.codes[0])]
    np.testing.assert_array_equal(ex.scores[0], np.array(expected0, dtype=np.float32))
    assert ex.motifs == [[Motif("start", 1, 4)], []]


def test_examples_keep_k_and_handle_no_ground_truth():
    X = torch.eye(4)[None].repeat(5, 1, 1)
    ex = unpack_examples(pack_examples([f"s{i}" for i in range(5)], X, X, None, "ACGT", k=2))
    assert ex.ids == ["s0", "s1"] and ex.motifs == [[], []]
    np.testing.assert_array_equal(ex.scores, np.ones((2, 4), dtype=np.float32))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(_records(), out)
    return out


def test_site_files_and_no_remote_links(site: Path):
    page = (site / "toy" / "m.html").read_text()
    assert (site / "index.html").is_file() and 'href="toy/m.html"' in (
        site / "index.html"
    ).read_text()
    assert (site / "toy" / "cost_quality_m.svg").is_file()
    assert sorted(p.name for p in (site / "toy" / "m").iterdir()) == [
        f"logo_{m}.svg" for m in sorted(METHODS)
    ]
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert (
        '<link rel="stylesheet" href="../site.css">' in page and '<script src="../site.js">' in page
    )
    assert "<style>" not in page and (site / "site.css").is_file() and (site / "site.js").is_file()
    assert 'title="not applicable: gamma claims no completeness"' in page
    assert "INVALID" in page and "n = 4" in page


def _rows(dom: str, table_id: str) -> list[str]:
    table = re.search(rf'<table class="sortable" id="{table_id}">(.*?)</table>', dom, re.S).group(1)
    body = table.split("<tbody>")[1]
    return re.findall(r"<tr><td[^>]*>([^<]*)</td>", body)


def _chromium(args: list[str], tmp_path: Path) -> str:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian chromium is not installed "
    "(apt-get install -y chromium); the browser test needs it",
)
def test_site_in_headless_chromium(site: Path, tmp_path: Path):
    url = (site / "toy" / "m.html").as_uri()
    dom = _chromium(["--dump-dom", url], tmp_path)
    assert _rows(dom, "methods") == sorted(METHODS)  # unregistered names: by name
    assert len(_rows(dom, "quality")) == 1
    # header 2 of table 0 is motif_recall (higher is better): one click sorts best first
    clicked = _chromium(["--dump-dom", url + "#click=0,2"], tmp_path)
    assert 'data-clicked="0,2"' in clicked
    assert _rows(clicked, "methods") == sorted(METHODS, key=METHODS.get, reverse=True)
    twice = _chromium(["--dump-dom", url + "#click=0,2;0,2"], tmp_path)
    assert _rows(twice, "methods") == sorted(METHODS, key=METHODS.get)
    index = _chromium(["--dump-dom", (site / "index.html").as_uri()], tmp_path)
    assert _rows(index, "quality-toy") == ["m"]
    shot = Path(os.environ.get("ATTRBENCH_SCREENSHOT", tmp_path / "site.png"))
    _chromium([f"--screenshot={shot}", "--window-size=1280,1600", url], tmp_path)
    assert shot.stat().st_size > 10_000


def test_examples_window_keeps_every_position_of_short_sequences(site: Path):
    svg = (site / "toy" / "m" / "logo_alpha.svg").read_text()
    assert svg.count('<g id="axes_') == 2  # one axis per example


def test_cost_points_skip_nan_and_labels_move_apart():
    from attrbench.reporting.plots import _label_offsets
    from attrbench.site.build import _cost_points

    recs = _records() + [
        Record(_key("eps", "motif_recall"), "ok", True, float("nan"), n_scored=0),
        Record(_key("eps", "seconds_per_seq"), "ok", False, 1e-3, n_scored=4),
    ]
    points, hib = _cost_points(recs, "motif_recall")
    assert hib is True and sorted(p[0] for p in points) == sorted(METHODS)
    assert _label_offsets([("a", 1e-3, 0.5), ("b", 1.1e-3, 0.5), ("c", 1.0, 0.9)]) == [
        3.0,
        -10.0,
        3.0,
    ]
