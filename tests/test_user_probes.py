"""Every probe of a careless or hostile user: exit 2 with one line naming the flag or file,
before any work; or n/a with its reason; or a clear summary and a non-zero exit."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from attrbench.cli import main
from attrbench.core.plugin import TASKS
from attrbench.running.results import ResultStore
from attrbench.running.training import checkpoint_path
from tests.test_psl_cli import deeploc_file

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--quiet", "--threads", "1", "--n", "2", "--metric", "motif_recall", "--method", "saliency"]


def user_error(capsys, *args: str) -> str:
    """Run the CLI: exit code 2, and the last line ``attrbench: error: ...`` (earlier lines
    are warnings, one line each), no traceback."""
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("attrbench: error: "), err
    assert all(ln.startswith("attrbench: warning: ") for ln in lines[:-1]), err
    assert "Traceback" not in err
    return lines[-1]


@pytest.fixture
def no_work(monkeypatch):
    """Fails the test if any chunk is executed (the probe must be caught before work)."""

    def refuse(chunk):
        raise AssertionError(f"work started on {chunk.method}")

    monkeypatch.setattr("attrbench.running.executors.execute", refuse)


@pytest.mark.parametrize(
    "option, named",
    [
        ("ig.n_steps=-3", "--option ig.n_steps=-3: must be >= 1"),
        ("ig.n_steps=0", "--option ig.n_steps=0: must be >= 1"),
        (
            "ig.baseline=nonsense",
            "--option ig.baseline='nonsense': expected one of zeros, background",
        ),
        (
            "ig.method=simpson",
            "--option ig.method='simpson': expected one of gausslegendre, riemann_trapezoid",
        ),
        (
            "scrambler_inclusion.zzz=1",
            "--option scrambler_inclusion.zzz: unknown scrambler_inclusion option 'zzz'",
        ),
        ("scrambler_occlusion.steps=0", "--option scrambler_occlusion.steps=0: must be >= 1"),
        ("scrambler_inclusion.lr=-1", "--option scrambler_inclusion.lr=-1: must be >= 1e-12"),
        (
            "deeplift.implementation=x",
            "--option deeplift.implementation='x': expected one of attrbench, captum",
        ),
        ("inclusion_kl.n_samples=0", "--option inclusion_kl.n_samples=0: must be >= 1"),
        (
            "motif_recall.definition=loose",
            "--option motif_recall.definition='loose': expected one of paper, lenient",
        ),
    ],
)
def test_a_bad_option_value_or_key_exits_2_before_work(option, named, tmp_path, capsys, no_work):
    line = user_error(
        capsys, "run", "--task", "utr5", "--option", option, *FAST, "--results", str(tmp_path)
    )
    assert line == f"attrbench: error: {named}" or line.startswith(f"attrbench: error: {named}"), (
        line
    )
    assert not (tmp_path / "utr5").exists(), "no record written"


def test_a_seed_out_of_range_exits_2_before_work(tmp_path, capsys, no_work):
    line = user_error(
        capsys,
        "run",
        "--task",
        "utr5",
        "--seed",
        "99999999999999999999999",
        *FAST,
        "--results",
        str(tmp_path),
    )
    assert (
        line == "attrbench: error: --seed 99999999999999999999999: must be an integer from 0 to "
        f"{2**63 - 1}"
    )


def test_n_larger_than_the_test_split_is_said_to_be_clamped(tmp_path, capsys):
    code = main(
        [
            "run",
            "--task",
            "utr5",
            "--n",
            "100000000",
            "--quiet",
            "--threads",
            "1",
            "--method",
            "random",
            "--metric",
            "motif_recall",
            "--results",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    n = len(TASKS.get("utr5").data("test"))
    assert code == 0, err
    assert (
        f"attrbench: warning: --n 100000000 is clamped to {n}: the test split has {n} sequences"
        in err
    )
    (rec,) = [r for r in ResultStore(tmp_path).records("utr5") if r.key.metric == "motif_recall"]
    assert rec.key.n == n


def test_a_run_where_every_cell_failed_exits_1_with_one_summary(tmp_path):
    plugin = ROOT / "tests" / "ray_plugin.py"
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from attrbench.cli import main; sys.exit(main(sys.argv[1:]))",
            "run",
            "--task",
            "utr5",
            "--plugin",
            str(plugin),
            "--method",
            "broken",
            "--model",
            "cnn",
            "--metric",
            "motif_recall,motif_auroc",
            "--n",
            "2",
            "--quiet",
            "--threads",
            "1",
            "--results",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 1, out.stderr
    summary = [ln for ln in out.stderr.splitlines() if "cells failed" in ln]
    assert summary == ["attrbench: error: 1 of 1 cells failed: broken: RuntimeError: boom"]


def test_a_run_where_some_cells_failed_warns_once_and_exits_0():
    from attrbench.cli.run import failure_summary
    from attrbench.running.results import CellKey, Record

    def rec(method, metric, status):
        key = CellKey("t", "1", "d", "m", "c", method, {}, metric, {}, 2, 0)
        return Record(key, status, reason="RuntimeError: boom" if status == "failed" else "")

    records = [
        rec("a", "x", "failed"),
        rec("a", "y", "failed"),
        rec("b", "x", "ok"),
        rec("(model)", "accuracy", "ok"),
    ]
    assert failure_summary(records) == 0
    assert failure_summary(records[:2]) == 1
    assert failure_summary(records[2:]) == 0


def test_psl_data_without_ground_truth_motifs_makes_the_metric_na_with_the_reason(tmp_path, capsys):
    fasta = deeploc_file(tmp_path / "deeploc.fasta")
    ckpts = tmp_path / "ckpts"
    assert (
        main(
            [
                "train",
                "--task",
                "psl",
                "--model",
                "mlp_uniform",
                "--data",
                str(fasta),
                "--out",
                str(ckpts),
                "--epochs",
                "1",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    code = main(
        [
            "run",
            "--task",
            "psl",
            "--data",
            str(fasta),
            "--checkpoints",
            str(ckpts),
            "--model",
            "mlp_uniform",
            "--method",
            "saliency",
            "--metric",
            "motif_recall",
            "--n",
            "4",
            "--quiet",
            "--results",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "need at least one array" not in err
    (rec,) = [
        r for r in ResultStore(tmp_path / "r").records("psl") if r.key.metric == "motif_recall"
    ]
    assert rec.status == "not_applicable"
    assert rec.reason.startswith("no test sequence carries a ground-truth motif")


def test_data_a_directory_is_named(tmp_path, capsys, no_work):
    line = user_error(
        capsys,
        "run",
        "--task",
        "psl",
        "--data",
        str(tmp_path),
        "--quiet",
        "--results",
        str(tmp_path / "r"),
    )
    assert (
        line == f"attrbench: error: --data {tmp_path.resolve()}: is a directory; psl reads one "
        "DeepLoc FASTA file"
    )


def test_a_gzip_file_without_gz_is_named(tmp_path, capsys, no_work):
    path = tmp_path / "x.fasta"
    path.write_bytes(gzip.compress(b">a Nucleus-U test\nMKV\n"))
    line = user_error(
        capsys,
        "run",
        "--task",
        "psl",
        "--data",
        str(path),
        "--quiet",
        "--results",
        str(tmp_path / "r"),
    )
    assert (
        line == f"attrbench: error: --data {path}: is gzip-compressed but its name does not end "
        "in .gz (rename it to x.fasta.gz, or decompress it)"
    )


def test_an_all_n_dna_file_is_named_without_python_keywords(tmp_path, capsys, no_work):
    path = tmp_path / "allN.fa"
    path.write_text(">chr1\n" + "N" * 3000 + "\n")
    line = user_error(
        capsys,
        "run",
        "--task",
        "codon",
        "--fasta",
        str(path),
        *FAST,
        "--results",
        str(tmp_path / "r"),
    )
    assert (
        line == f"attrbench: error: task 'codon': fasta={path} yields no training sequences "
        "(every window holding an unknown letter such as N is dropped; check the file)"
    )
    line = user_error(
        capsys,
        "run",
        "--task",
        "promoter",
        "--fasta",
        str(path),
        *FAST,
        "--results",
        str(tmp_path / "r"),
    )
    assert (
        line == "attrbench: error: promoter needs both --fasta and --gff (fasta= and gff= from "
        "Python), or neither"
    )


def test_a_protein_letter_hint_names_what_a_user_can_do():
    from attrbench.core.contract import SequenceError
    from attrbench_tasks.psl.data import PROTEIN

    with pytest.raises(SequenceError, match="remove or replace it in the file"):
        PROTEIN.codes(["MK1V"], ["P1"])


@pytest.mark.parametrize("plant", ["truncated", "malicious"])
def test_a_bad_checkpoint_is_named_with_what_to_do(plant, tmp_path, capsys, no_work):
    marker = tmp_path / "pwned"
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    shipped = checkpoint_path(TASKS.get("utr5"), "cnn")
    target = ckpts / shipped.name
    if plant == "truncated":
        target.write_bytes(shipped.read_bytes()[:1000])
    else:
        from tests.test_store_security import Payload

        torch.save({"state_dict": Payload(marker)}, target)
    line = user_error(
        capsys,
        "run",
        "--task",
        "utr5",
        "--checkpoints",
        str(ckpts),
        *FAST,
        "--results",
        str(tmp_path / "r"),
    )
    assert line.startswith(f"attrbench: error: checkpoint {target} cannot be read as data (")
    assert line.endswith(
        "replace it: retrain with `attrbench train --task utr5 --model cnn` or "
        "restore the shipped file"
    )
    assert not marker.exists()


def test_a_checkpoint_trained_on_other_data_names_the_task_s_own_data_flags():
    from attrbench.running.training import _data_flags

    assert _data_flags(TASKS.get("codon")) == "--fasta PATH"
    assert _data_flags(TASKS.get("promoter")) == "--data PATH --fasta PATH --gff PATH"
    assert _data_flags(TASKS.get("psl")) == "--data PATH"
