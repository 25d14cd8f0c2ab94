"""``attrbench explain``: figures for task sequences and FASTA records; errors name the record."""

from __future__ import annotations

import pytest

from attrbench.cli import main
from attrbench.reporting.explain import parse_region


def _explain(tmp_path, *args) -> int:
    return main(
        ["explain", "--task", "utr5", "--method", "saliency,ig,attention", "--threads", "1", *args]
    )


def test_explain_task_sequence_png(tmp_path):
    out = tmp_path / "fig.png"
    assert _explain(tmp_path, "--sequence", "1start_1stop-000", "--out", str(out)) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_explain_fasta_svg_with_region(tmp_path):
    fasta = tmp_path / "mine.fa"
    fasta.write_text(">my_utr\n" + "ACGT" * 6 + "ATGAAATAA" + "C" * 17 + "\n")
    out = tmp_path / "fig.svg"
    assert _explain(tmp_path, "--fasta", str(fasta), "--region", "20:40", "--out", str(out)) == 0
    assert "my_utr" in out.read_text()


def test_explain_fasta_bad_letter_names_record_and_position(tmp_path, capsys):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">first\n" + "A" * 50 + "\n>second\nACGTJ\n")
    assert (
        _explain(
            tmp_path,
            "--fasta",
            str(fasta),
            "--sequence",
            "second",
            "--out",
            str(tmp_path / "x.png"),
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "'second'" in err and "position 5" in err


def test_parse_region():
    assert parse_region("3:10") == (3, 10)
    assert parse_region(None) is None
    with pytest.raises(ValueError, match="START:END"):
        parse_region("10:3")


def test_draw_tracks_protein_logo_and_heatmap(tmp_path):
    import numpy as np

    from attrbench.core.data import Motif
    from attrbench.reporting.plots import Track, draw_tracks

    letters = "ACDEFGHIKLMNPQRSTVWYX"
    codes = np.r_[np.arange(21), np.arange(21), -np.ones(8, dtype=int)]
    scores = np.where(codes >= 0, np.linspace(-1, 1, len(codes)), 0.0)
    tracks = [Track("m", scores, codes, [Motif("PTS1", 39, 42)])]
    assert draw_tracks(tracks, letters, tmp_path / "logo.png").stat().st_size > 0
    assert draw_tracks(tracks, letters, tmp_path / "heat.png", heatmap=True).stat().st_size > 0


def test_explain_fasta_too_long_names_record(tmp_path, capsys):
    fasta = tmp_path / "long.fa"
    fasta.write_text(">long_one\n" + "A" * 51 + "\n")
    assert _explain(tmp_path, "--fasta", str(fasta), "--out", str(tmp_path / "x.png")) == 2
    err = capsys.readouterr().err
    assert "'long_one' has 51 letters" in err and "at most 50" in err
