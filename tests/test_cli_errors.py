"""Every user error of the command line is one line naming the flag or file, exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from attrbench.cli import main, validate

FAST = ["--quiet", "--threads", "1", "--n", "2", "--metric", "motif_recall", "--method", "saliency"]


def user_error(capsys, *args: str) -> str:
    """Run the CLI; assert exit code 2 and one line ``attrbench: error: ...`` with no traceback
    (log lines of work done before, e.g. reading the data, are one line each)."""
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("attrbench: error: "), err
    assert all(ln.startswith("attrbench: warning: ") for ln in lines[:-1]), err
    assert "Traceback" not in err
    return lines[-1]


@pytest.mark.parametrize(
    "args, named",
    [
        (["--option", "ig.n_stepz=100"], "--option ig.n_stepz"),
        (["--option", "ig.n_steps=abc"], "--option ig.n_steps"),
        (["--option", "nosuch.k=1"], "--option nosuch.k=1"),
        (["--option", "ig=1"], "--option"),
        (["--format", "xlsx"], "--format 'xlsx'"),
        (["--seed", "-1"], "--seed -1"),
        (["--seed", "x"], "--seed"),
        (["--batch-size", "0"], "--batch-size 0"),
        (["--threads", "0"], "--threads 0"),
        (["--n", "0"], "--n"),
        (["--method", ","], "--method"),
        (["--metric", ","], "--metric"),
        (["--device", "tpu"], "--device 'tpu'"),
        (["--checkpoints", "/nonexistent/ckpts"], "--checkpoints /nonexistent/ckpts"),
    ],
)
def test_run_arguments_are_checked_before_work(capsys, tmp_path, args, named):
    line = user_error(capsys, "run", "--task", "utr5", "--results", str(tmp_path / "r"), *args)
    assert named in line
    assert not (tmp_path / "r").exists()  # nothing was computed or written


def test_option_messages_say_what_was_expected(capsys, tmp_path):
    line = user_error(capsys, "run", "--task", "utr5", "--option", "ig.n_stepz=100")
    assert "did you mean 'n_steps'" in line
    line = user_error(capsys, "run", "--task", "utr5", "--option", "ig.n_steps=abc")
    assert "expected an int value" in line
    line = user_error(capsys, "run", "--task", "utr5", "--option", "motif_recall.kk=3")
    assert "unknown motif_recall option" in line and "did you mean 'k'" in line


def test_device_cuda_without_gpu(capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    assert "--device cuda" in user_error(capsys, "run", "--task", "utr5", "--device", "cuda")


def test_binary_and_empty_files_are_named(capsys, tmp_path):
    binary = tmp_path / "data.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    assert f"--kb {binary}: is not a text file" in user_error(
        capsys, "run", "--task", "psl", "--kb", str(binary)
    )
    assert f"--data {binary}: is not a text file" in user_error(
        capsys, "run", "--task", "psl", "--data", str(binary)
    )
    assert f"--kb {empty}: the file is empty" in user_error(
        capsys, "run", "--task", "psl", "--kb", str(empty)
    )
    missing = tmp_path / "missing.fasta"
    assert f"--data {missing}: no such file" in user_error(
        capsys, "train", "--task", "psl", "--data", str(missing), "--out", str(tmp_path)
    )


def test_resources_of_tasks_that_do_not_read_them(capsys, tmp_path):
    f = tmp_path / "x.fasta"
    f.write_text(">a\nACGT\n")
    assert f"--data {f}: task 'utr5' does not read" in user_error(
        capsys, "run", "--task", "utr5", "--data", str(f)
    )
    assert f"--kb {f}: task 'utr5' has no knowledge base" in user_error(
        capsys, "run", "--task", "utr5", "--kb", str(f)
    )


def test_kb_with_missing_columns_is_reported_before_any_cell(capsys, tmp_path):
    kb = tmp_path / "kb.tsv"
    kb.write_text("Entry\tSequence\nP00001\tMKVLA\n")
    line = user_error(
        capsys,
        "run",
        "--task",
        "psl",
        "--results",
        str(tmp_path / "r"),
        "--kb",
        str(kb),
        "--metric",
        "hit_rate",
        "--method",
        "attention",
        "--n",
        "2",
        "--quiet",
    )
    assert str(kb) in line
    assert not list((tmp_path / "r").rglob("*.json"))  # not even the model-quality records


def test_report_options(capsys):
    line = user_error(capsys, "report", "--task", "psl", "models", "--option", "foo=1")
    assert "--option foo" in line and "known: checkpoint_dir, models, path, seed" in line
    line = user_error(capsys, "report", "psl", "models", "--option", "seed=abc")
    assert "--option seed" in line and "int" in line
    assert "--option" in user_error(capsys, "report", "psl", "models", "--option", "noequals")


def test_report_string_where_a_list_is_expected_is_one_name():
    from attrbench_tasks.psl.reports import REPORT as models_report

    assert validate.report_options(models_report, {"models": "mlp_uniform"}, "models") == {
        "models": ["mlp_uniform"]
    }
    assert validate.report_options(models_report, {"models": ["a", "b"], "seed": 3}, "models") == {
        "models": ["a", "b"],
        "seed": 3,
    }


def test_train_never_writes_the_shipped_checkpoints_unasked(capsys, tmp_path):
    line = user_error(capsys, "train", "--task", "utr5")
    assert "--out" in line and "--overwrite-shipped" in line
    fasta = tmp_path / "d.fasta"
    fasta.write_text(">P1 Nucleus-S\nMKV\n")
    line = user_error(capsys, "train", "--task", "psl", "--data", str(fasta), "--overwrite-shipped")
    assert f"--data {fasta}" in line and "--out DIR" in line
    assert "--epochs 0" in user_error(
        capsys, "train", "--task", "utr5", "--epochs", "0", "--out", str(tmp_path)
    )


def test_refused_checkpoint_hint_carries_data_and_out():
    from attrbench.core.plugin import TASKS
    from attrbench.running.training import CheckpointError, _check

    task = TASKS.get("utr5")
    spec = task.model(task.default_model)
    ckpt = {
        "task": task.name,
        "model": spec.name,
        "task_version": task.version,
        "config": spec.config,
        "data_hash": "0" * 16,
    }
    with pytest.raises(CheckpointError) as err:
        _check(ckpt, task, spec, "1" * 16, "x.pt")
    assert f"attrbench train --task {task.name} --model {spec.name} --data PATH --out DIR" in str(
        err.value
    )


def test_unwritable_results_and_out(capsys, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: chmod does not make a directory read-only")
        line = user_error(capsys, "run", "--task", "utr5", "--results", str(ro), *FAST)
        assert f"--results {ro}" in line and "permission denied" in line
        line = user_error(
            capsys, "leaderboard", "--results", str(tmp_path), "--out", str(ro / "t.md")
        )
        assert "--out" in line
    finally:
        ro.chmod(0o755)


def test_validate_writable_dir_refuses_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(validate.UsageError, match="not a directory"):
        validate.writable_dir(f, "--results")
    assert validate.writable_dir(tmp_path / "new" / "dir", "--results") == tmp_path / "new" / "dir"


def test_unknown_names_are_one_line(capsys):
    assert "did you mean 'utr5'" in user_error(capsys, "run", "--task", "utr55")
    assert "unknown method 'salency'" in user_error(
        capsys, "run", "--task", "utr5", "--method", "salency", "--quiet"
    )


def test_help_does_not_import_torch():
    code = textwrap.dedent("""
        import sys
        from attrbench.cli import main
        assert main(["--help"]) == 0
        assert main(["run", "--help"]) == 0
        print(sorted(m for m in ("torch", "numpy", "attrbench_tasks", "attrbench_methods") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


BROKEN = "import no_such_dependency_of_a_plugin\n"


def _broken_distribution(root, name: str) -> None:
    (root / f"{name}.py").write_text(BROKEN)
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[attrbench.methods]\n{name} = {name}\n")


def test_a_broken_plugin_is_reported_once_and_left_out(tmp_path):
    _broken_distribution(tmp_path, "broken_ep_method")
    code = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        from attrbench.cli import main
        from attrbench.core.plugin import METHODS
        from attrbench.core.registry import PluginError
        assert main(["list", "methods"]) == 0
        assert "saliency" in METHODS.names()
        try:
            METHODS.get("broken_ep_method")
        except PluginError as exc:
            print("ASKED:", exc)
        assert main(["run", "--task", "utr5", "--method", "broken_ep_method", "--quiet"]) == 2
    """)
    env = {**os.environ, "ATTRBENCH_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "| saliency" not in out.stdout and "saliency" in out.stdout
    assert "ASKED:" in out.stdout and "no_such_dependency_of_a_plugin" in out.stdout
    lines = [ln for ln in out.stderr.splitlines() if "broken_ep_method" in ln]
    assert lines[0].startswith("attrbench: warning: method plugin 'broken_ep_method'")
    assert "failed to load: ModuleNotFoundError" in lines[0]
    assert lines[-1].startswith("attrbench: error: method plugin 'broken_ep_method'")
    assert "Traceback" not in out.stderr


def test_unwritable_results_reported_when_access_is_denied(capsys, tmp_path, monkeypatch):
    """The same check as above, on machines where chmod cannot deny root: os.access says no."""
    monkeypatch.setattr(validate.os, "access", lambda path, mode: False)
    line = user_error(capsys, "run", "--task", "utr5", "--results", str(tmp_path / "r"), *FAST)
    assert f"--results {tmp_path / 'r'}" in line and "permission denied" in line
    line = user_error(
        capsys, "leaderboard", "--results", str(tmp_path), "--out", str(tmp_path / "t.md")
    )
    assert f"--out {tmp_path}" in line


def test_warnings_are_one_counted_line_each(capsys):
    import logging
    import warnings

    from attrbench.cli.logs import setup_logging

    with setup_logging():
        for _ in range(3):
            warnings.warn("24 letters B/Z/U/O mapped to X", UserWarning, stacklevel=1)
        warnings.warn("another\n  message", UserWarning, stacklevel=1)
        logging.getLogger("attrbench").warning("fitted %s", "x")
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "attrbench: warning: 24 letters B/Z/U/O mapped to X",
        "attrbench: warning: another message",
        "attrbench: warning: fitted x",
        "attrbench: ('24 letters B/Z/U/O mapped to X' 2 more times)",
    ]


def test_rst_markup_is_removed_from_listings():
    from attrbench.cli.catalog import plain

    assert (
        plain(
            "Integrated gradients from ``baseline`` to *X*, see :func:`~attrbench.core.ops.shift`\n and "
            ":class:`Dataset`."
        )
        == "Integrated gradients from baseline to X, see shift and Dataset."
    )


def test_list_wraps_at_word_boundaries():
    from attrbench.cli.listing import wrap

    body = [["ig", "Integrated gradients from the baseline to the input along the straight path"]]
    [[_, text]] = wrap(body, ["method", "description"], width=34)
    lines = text.splitlines()
    assert max(map(len, lines)) <= 30 and " ".join(lines) == body[0][1]


def test_list_reads_the_catalog_without_importing_plugins(tmp_path):
    code = textwrap.dedent("""
        import sys
        from attrbench.cli import main
        assert main(["list", sys.argv[1]]) == 0
        print(sorted(m for m in ("torch", "attrbench_tasks", "attrbench_methods") if m in sys.modules))
    """)
    env = {**os.environ, "ATTRBENCH_CACHE": str(tmp_path), "OMP_NUM_THREADS": "1"}
    runs = [
        subprocess.run([sys.executable, "-c", code, what], capture_output=True, text=True, env=env)
        for what in ("methods", "methods", "models")
    ]
    for out in runs:
        assert out.returncode == 0, out.stderr
    assert runs[0].stdout.splitlines()[-1] != "[]"  # the first run builds the catalog
    assert runs[1].stdout.splitlines()[-1] == "[]" and runs[2].stdout.splitlines()[-1] == "[]"
    assert runs[0].stdout.splitlines()[:-1] == runs[1].stdout.splitlines()[:-1]
    assert "saliency" in runs[1].stdout and "bilstm_att" in runs[2].stdout
    assert len(list((tmp_path / "catalog").glob("*.json"))) == 1
