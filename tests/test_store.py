"""The results store heals: corrupt records set aside and recomputed, stray files ignored, umask kept."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest

from attrbench.cli import main
from attrbench.running.atomic import atomic_write
from attrbench.running.results import CellKey, Record, ResultStore, read_record


def key(**kw) -> CellKey:
    base = dict(
        task="t",
        task_version="1",
        data_hash="d",
        model="m",
        checkpoint_hash="c",
        method="ig",
        method_options={},
        metric="q",
        metric_options={},
        n=10,
        seed=0,
    )
    return CellKey(**{**base, **kw})


def stored(tmp_path, **kw) -> tuple[ResultStore, CellKey]:
    store = ResultStore(tmp_path)
    k = key(**kw)
    store.put(Record(k, "ok", True, 0.5, 0.4, 0.6, n_scored=10))
    return store, k


@pytest.mark.parametrize("damage", ["truncate", "empty", "garbage"])
def test_a_corrupt_record_is_named_set_aside_and_missing(tmp_path, caplog, damage):
    store, k = stored(tmp_path)
    path = k.path(tmp_path)
    text = path.read_text()
    bad = {"truncate": text[:200].encode(), "empty": b"", "garbage": b"\xff\xfe{"}[damage]
    path.write_bytes(bad)
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        assert store.get(k) is None
    assert not path.exists()
    aside = path.with_name(path.name + ".corrupt")
    assert aside.read_bytes() == bad  # moved, never deleted
    [message] = [r.getMessage() for r in caplog.records]
    assert str(path) in message and "recomputed" in message
    if damage == "empty":
        assert "empty file" in message
    store.put(Record(k, "ok", True, 0.7))  # the next run writes it again
    assert store.get(k).value == 0.7


def test_set_aside_never_overwrites_an_earlier_corrupt_copy(tmp_path):
    store, k = stored(tmp_path)
    path = k.path(tmp_path)
    for text in ("{", "[1,"):
        path.write_text(text)
        assert store.get(k) is None
    assert sorted(p.name for p in path.parent.iterdir()) == [
        path.name + ".corrupt",
        path.name + ".corrupt1",
    ]
    assert {
        (path.parent / n).read_text() for n in (path.name + ".corrupt", path.name + ".corrupt1")
    } == {"{", "[1,"}


def test_json_that_is_not_a_record_is_ignored_with_one_line(tmp_path, caplog):
    store, k = stored(tmp_path)
    (tmp_path / "t" / "notes.json").write_text(json.dumps({"note": "hello"}))
    (tmp_path / "list.json").write_text("[1, 2]")
    with caplog.at_level(logging.WARNING, logger="attrbench"):
        assert [r.key for r in store.records()] == [k]
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and all("not an attrbench record" in m for m in messages)
    assert (tmp_path / "t" / "notes.json").is_file()  # left where it was


def test_leaderboard_over_a_damaged_directory(tmp_path, capsys):
    store, k = stored(tmp_path, method="saliency")
    _, k2 = stored(tmp_path, method="ig")
    k2.path(tmp_path).write_text("")
    (tmp_path / "t" / "notes.json").write_text("{}")
    assert main(["leaderboard", "--results", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "saliency" in out and "| ig" not in out
    assert str(k2.path(tmp_path)) in err and "notes.json" in err and "Traceback" not in err


def test_read_record_roundtrip(tmp_path):
    store, k = stored(tmp_path)
    assert read_record(k.path(tmp_path)).value == 0.5


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_records_respect_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = ResultStore(tmp_path).put(Record(key(), "ok", True, 0.5))
        other = atomic_write(tmp_path / "x.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert stat.S_IMODE(other.stat().st_mode) == mode


def test_a_corrupt_record_is_recomputed_by_the_next_run(tmp_path, capsys):
    args = [
        "run",
        "--task",
        "utr5",
        "--method",
        "saliency",
        "--metric",
        "motif_recall",
        "--n",
        "2",
        "--quiet",
        "--threads",
        "1",
        "--results",
        str(tmp_path),
    ]
    assert main(args) == 0
    capsys.readouterr()
    [path] = list(tmp_path.rglob("motif_recall-*.json"))
    first = json.loads(path.read_text())
    path.write_text(path.read_text()[:100])
    assert main(args) == 0
    err = capsys.readouterr().err
    assert str(path) in err and "Traceback" not in err
    again = json.loads(path.read_text())
    assert again["value"] == first["value"] and again["key"] == first["key"]
    assert path.with_name(path.name + ".corrupt").is_file()
