"""A results folder is data, never code.

A payload (an object whose ``__reduce__`` would create a marker file when unpickled)
is planted in every place the store and the checkpoint loader read: chunk files,
fit files, checkpoints. It never runs; the file is named and recomputed (or, for a
checkpoint, named with what to do). Names cannot leave the store, records of another
schema are never overwritten, a full disk names its folder.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from attrbench.cli import main
from attrbench.core.plugin import METHODS, TASKS, register_method
from attrbench.core.registry import RegistryError, check_name, load_plugin_file
from attrbench.running import cell
from attrbench.running.atomic import PathEscape, atomic_write, inside
from attrbench.running.chunks import read_chunk, write_chunk
from attrbench.running.fits import fits_dir
from attrbench.running.results import MIGRATIONS, SCHEMA, NewerSchemaError, ResultStore
from attrbench.running.runner import RunConfig, run
from attrbench.running.training import CheckpointError, checkpoint_path, load_model

PLUGIN = str(Path(__file__).with_name("ray_plugin.py"))


class Payload:
    """Creates ``marker`` when unpickled (what an attacker's file would run)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _config(**kw) -> RunConfig:
    base = dict(
        task="utr5",
        methods=["saliency"],
        metrics=["motif_recall"],
        n=16,
        seed=1,
        device="cpu",
        batch_size=8,
        progress=False,
    )
    return RunConfig(**{**base, **kw})


def _values(records) -> dict:
    out = {}
    for r in records:
        if r.key.metric == "seconds_per_seq":  # a time
            continue
        v = r.sequence_values()
        out[r.key.digest] = (r.status, r.value, v and {c: x.tolist() for c, x in v.columns.items()})
    return out


# --------------------------------------------------------------------------- chunk files


def test_a_chunk_file_round_trips_as_plain_data(tmp_path):
    result = cell.ChunkResult(
        "ok",
        ["a", "b"],
        {
            "m": cell.MetricResult(
                "ok", np.array([[1.0], [np.nan]]), seconds=0.5, extra={"m": {"p": [[0.5, 1]]}}
            )
        },
        seconds=1.25,
        peak_bytes=7,
        examples={"ids": ["a"]},
    )
    path = write_chunk(tmp_path / "0.npz", result)
    with np.load(path, allow_pickle=False) as z:  # loadable without pickle
        assert set(z.files) == {"meta", "scores_0"}
    back = read_chunk(path)
    assert back.ids == ["a", "b"] and back.seconds == 1.25 and back.peak_bytes == 7
    np.testing.assert_array_equal(back.metrics["m"].scores, [[1.0], [np.nan]])
    assert back.examples == {"ids": ["a"]}
    assert back.metrics["m"].extra == {"m": {"p": [[0.5, 1]]}}


@pytest.mark.parametrize("plant", ["pickle", "object_npz", "wrong_shape", "truncated"])
def test_a_planted_chunk_file_never_runs_is_named_and_recomputed(
    plant, tmp_path, monkeypatch, caplog
):
    marker = tmp_path / "pwned"
    reference = _values(run(_config(), ResultStore(tmp_path / "ref")))
    real, calls = cell.execute, []

    def interrupt_second(chunk):
        calls.append(chunk)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr("attrbench.running.executors.execute", interrupt_second)
    results = tmp_path / "r"
    with pytest.raises(KeyboardInterrupt):
        run(_config(chunk_size=8), ResultStore(results))
    (saved,) = (results / ".chunks").rglob("*.npz")
    if plant == "pickle":
        saved.write_bytes(pickle.dumps(Payload(marker)))
    elif plant == "object_npz":
        buf = io.BytesIO()
        np.savez(buf, meta=np.array([Payload(marker)], dtype=object))
        saved.write_bytes(buf.getvalue())
    elif plant == "wrong_shape":
        good = read_chunk(saved)
        good.metrics["motif_recall"].scores = np.zeros((3, 1))
        write_chunk(saved, good)
    else:
        saved.write_bytes(saved.read_bytes()[:40])
    done = []
    monkeypatch.setattr("attrbench.running.executors.execute", lambda c: done.append(c) or real(c))
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        records = run(_config(chunk_size=8), ResultStore(results))
    assert not marker.exists(), "the payload ran"
    assert str(saved) in caplog.text and "recomputed" in caplog.text
    assert sorted(c.start for c in done) == [0, 8], "the discarded chunk is recomputed"
    assert _values(records) == reference


# --------------------------------------------------------------------------- fit files


@pytest.fixture(scope="module")
def plugin():
    if "scaled" not in METHODS.names():
        load_plugin_file(PLUGIN)


@pytest.mark.parametrize("plant", ["payload", "truncated"])
def test_a_planted_fit_file_never_runs_is_named_and_refitted(plant, plugin, tmp_path, caplog):
    marker, log = tmp_path / "pwned", tmp_path / "fits.log"
    opts = {"scaled": {"log": str(log)}}
    results = tmp_path / "r"
    first = run(_config(methods=["scaled"], method_options=opts), ResultStore(results))
    (fit,) = fits_dir().rglob("*.pt")
    if plant == "payload":
        torch.save({"state": Payload(marker), "seconds": 1.0}, fit)
    else:
        fit.write_bytes(fit.read_bytes()[:50])
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        second = run(
            _config(methods=["scaled"], metrics=["motif_auroc"], method_options=opts),
            ResultStore(results),
        )
    assert not marker.exists(), "the payload ran"
    assert str(fit) in caplog.text and "fitting again" in caplog.text
    assert len(log.read_text().splitlines()) == 2, "refitted once"
    assert {r.status for r in first + second if r.key.method == "scaled"} == {"ok"}
    state = torch.load(fit, weights_only=True)["state"]  # the refitted file is data
    assert float(state["scale"]) == 2.0


# --------------------------------------------------------------------------- checkpoints


@pytest.mark.parametrize("plant", ["payload", "truncated"])
def test_a_planted_or_truncated_checkpoint_is_named_with_what_to_do(plant, tmp_path, capsys):
    marker = tmp_path / "pwned"
    ckpts = tmp_path / "ckpts"
    ckpts.mkdir()
    shipped = checkpoint_path(TASKS.get("utr5"), "cnn")
    target = ckpts / shipped.name
    if plant == "payload":
        torch.save({"state_dict": Payload(marker)}, target)
    else:
        target.write_bytes(shipped.read_bytes()[:1000])
    with pytest.raises(
        CheckpointError, match="cannot be read as data.*attrbench train --task utr5"
    ):
        load_model(TASKS.get("utr5"), "cnn", directory=ckpts)
    code = main(
        [
            "run",
            "--task",
            "utr5",
            "--checkpoints",
            str(ckpts),
            "--n",
            "2",
            "--quiet",
            "--method",
            "saliency",
            "--metric",
            "motif_recall",
            "--results",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith(f"attrbench: error: checkpoint {target} cannot be read")
    assert "Traceback" not in "\n".join(err)
    assert not marker.exists()


# --------------------------------------------------------------------------- names and paths


@pytest.mark.parametrize(
    "name", ["../../../../escaped", "a/b", "x<y", "", "_private", "a" * 65, "é"]
)
def test_a_name_that_is_not_a_short_identifier_is_refused_at_registration(name):
    with pytest.raises(RegistryError, match="use letters, digits, '_' and '-'"):
        register_method(name)(lambda model, X, target, mask: X)
    assert name not in METHODS


def test_check_name_accepts_identifiers_and_names_the_plugin():
    assert check_name("ig-2_b", "method") == "ig-2_b"
    with pytest.raises(RegistryError, match=r"method name '\.\.' \(registered by my\.plugin\)"):
        check_name("..", "method", "my.plugin")


def test_a_path_outside_the_store_is_refused(tmp_path):
    assert inside(tmp_path, tmp_path / "a" / "b.json") == tmp_path / "a" / "b.json"
    with pytest.raises(PathEscape, match="outside"):
        inside(tmp_path / "r", tmp_path / "r" / ".." / "escaped.json")


# --------------------------------------------------------------------------- record schema


def _one_record(tmp_path) -> tuple[Path, list]:
    records = run(_config(), ResultStore(tmp_path))
    rec = next(r for r in records if r.key.method == "saliency")
    return rec.key.path(tmp_path), records


def test_a_newer_record_stops_the_run_in_one_line_and_is_left_alone(tmp_path, capsys):
    path, _ = _one_record(tmp_path)
    data = json.loads(path.read_text())
    data.update(schema=SCHEMA + 98, attrbench_version="9.9", field_of_the_future=1)
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    with pytest.raises(
        NewerSchemaError,
        match="written by attrbench 9.9; upgrade attrbench or use another --results",
    ):
        run(_config(), ResultStore(tmp_path))
    code = main(
        [
            "run",
            "--task",
            "utr5",
            "--n",
            "16",
            "--seed",
            "1",
            "--batch-size",
            "8",
            "--quiet",
            "--method",
            "saliency",
            "--metric",
            "motif_recall",
            "--results",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and str(path) in err[-1] and "upgrade attrbench" in err[-1]
    assert path.read_bytes() == before, "a newer record is never overwritten"


def test_an_older_record_is_kept_and_recomputed_into_a_new_file(tmp_path, caplog):
    path, first = _one_record(tmp_path)
    data = json.loads(path.read_text())
    data["schema"] = 0
    path.write_text(json.dumps(data))
    old = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        again = run(_config(), ResultStore(tmp_path))
    assert str(path) in caplog.text and "older schema 0" in caplog.text
    assert path.with_name(path.name + ".schema0").read_bytes() == old, "the old file is kept"
    assert json.loads(path.read_text())["schema"] == SCHEMA
    assert _values(again) == _values(first)


def test_an_older_record_with_a_migration_is_migrated(tmp_path, monkeypatch):
    path, first = _one_record(tmp_path)
    data = json.loads(path.read_text())
    data["schema"] = 0
    data["value_v0"] = data.pop("value")
    path.write_text(json.dumps(data))
    monkeypatch.setitem(
        MIGRATIONS,
        0,
        lambda d: {**{k: v for k, v in d.items() if k != "value_v0"}, "value": d["value_v0"]},
    )
    rec = ResultStore(tmp_path).records("utr5")
    migrated = next(r for r in rec if r.key.path(tmp_path) == path)
    assert migrated.schema == SCHEMA
    assert migrated.value == next(r for r in first if r.key.path(tmp_path) == path).value


# --------------------------------------------------------------------------- disk full


def test_disk_full_names_the_folder_and_keeps_nothing_partial(tmp_path, monkeypatch):
    def full(f):
        f.write("{")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(
        OSError, match=f"no space left on the device of {tmp_path / 'd'}.*nothing partial"
    ):
        atomic_write(tmp_path / "d" / "x.json", full)
    assert list((tmp_path / "d").iterdir()) == []


def test_disk_full_during_a_run_exits_2_naming_the_folder(tmp_path, monkeypatch, capsys):
    import attrbench.running.atomic as atomic

    real = atomic.os.fsync

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    code = main(
        [
            "run",
            "--task",
            "utr5",
            "--n",
            "2",
            "--quiet",
            "--method",
            "saliency",
            "--metric",
            "motif_recall",
            "--results",
            str(tmp_path / "r"),
        ]
    )
    monkeypatch.setattr(atomic.os, "fsync", real)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("attrbench: error: no space left on the device of")
    assert str(tmp_path / "r") in err[-1] and "nothing partial was kept" in err[-1]
    leftovers = [p for p in (tmp_path / "r").rglob("*") if p.is_file() and ".locks" not in p.parts]
    assert leftovers == []
    shutil.rmtree(tmp_path / "r")
