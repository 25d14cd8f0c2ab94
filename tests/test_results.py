"""Records: atomic writes, keys, resume."""

from __future__ import annotations

import pytest

from attrbench.running.results import CellKey, Record, ResultStore


def key(**kw) -> CellKey:
    base = dict(
        task="t",
        task_version="1",
        data_hash="d",
        model="m",
        checkpoint_hash="c",
        method="ig",
        method_options={"n_steps": 50},
        metric="q",
        metric_options={},
        n=10,
        seed=0,
    )
    return CellKey(**{**base, **kw})


def test_key_changes_with_every_field():
    digests = {
        key().digest,
        key(seed=1).digest,
        key(method_options={"n_steps": 51}).digest,
        key(n=11).digest,
        key(checkpoint_hash="x").digest,
    }
    assert len(digests) == 5


def test_put_get_roundtrip(tmp_path):
    store = ResultStore(tmp_path)
    rec = Record(key(), "ok", True, 0.5, 0.4, 0.6, n_scored=10, columns={"q": {"mean": 0.5}})
    path = store.put(rec)
    assert path.name == f"q-{key().digest}.json"
    back = store.get(key())
    assert back.value == 0.5 and back.key == key() and back.columns == {"q": {"mean": 0.5}}
    assert back.date and back.attrbench_version
    assert [r.key for r in store.records()] == [key()]


def test_interrupted_write_leaves_no_record(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    rec = Record(key(), "ok", True, 0.5)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("os.replace", boom)
    with pytest.raises(KeyboardInterrupt):
        store.put(rec)
    assert store.get(key()) is None
    assert list(tmp_path.rglob("*.json")) == []
