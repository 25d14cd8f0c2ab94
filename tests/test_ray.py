"""The Ray executor on a local Ray instance: the same records as in-process, resume, failures,
and state built once (resources, fits) shared with every chunk through the object store."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

ray = pytest.importorskip("ray")

from attrbench.core.plugin import TASKS  # noqa: E402
from attrbench.core.registry import load_plugin_file  # noqa: E402
from attrbench.running import cell  # noqa: E402
from attrbench.running.executors import LocalExecutor, get_executor  # noqa: E402
from attrbench.running.results import ResultStore  # noqa: E402
from attrbench.running.runner import run  # noqa: E402
from attrbench.running.training import checkpoint_path  # noqa: E402
from tests.test_executors import _config, _table  # noqa: E402

PLUGIN = str(Path(__file__).with_name("ray_plugin.py"))


@pytest.fixture(scope="module")
def executor():
    torch.set_num_threads(1)
    if "utr5_kb" not in TASKS.names():
        load_plugin_file(PLUGIN)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield get_executor("ray", plugins=[PLUGIN], max_retries=1)
    ray.shutdown()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return _table(run(_config(), ResultStore(tmp_path_factory.mktemp("ref"))))


@pytest.fixture(scope="module")
def kb_checkpoints(tmp_path_factory) -> Path:
    """utr5's shipped checkpoint, relabelled for the ``utr5_kb`` variant (same data, same weights)."""
    folder = tmp_path_factory.mktemp("ckpt")
    ckpt = torch.load(
        checkpoint_path(TASKS.get("utr5"), "cnn"), map_location="cpu", weights_only=True
    )
    torch.save({**ckpt, "task": "utr5_kb"}, folder / "cnn.pt")
    return folder


def test_ray_chunks_give_the_records_of_a_local_run(executor, reference, tmp_path):
    records = run(_config(chunk_size=8), ResultStore(tmp_path), executor)
    assert _table(records) == reference
    assert not (tmp_path / ".chunks").exists() or not any((tmp_path / ".chunks").iterdir())


class _StopAfter:
    """Runs chunks on ``inner`` and interrupts the run after ``k`` of them are in."""

    def __init__(self, inner, k: int):
        self.inner, self.k = inner, k

    def map(self, chunks):
        outcomes = self.inner.map(chunks)
        try:
            for i, outcome in enumerate(outcomes):
                if i == self.k:
                    raise KeyboardInterrupt
                yield outcome
        finally:
            outcomes.close()


def test_interrupted_on_ray_resumes_locally_without_recomputing(
    executor, reference, tmp_path, monkeypatch
):
    with pytest.raises(KeyboardInterrupt):
        run(_config(chunk_size=8), ResultStore(tmp_path), _StopAfter(executor, 4))
    real, done = cell.execute, []
    monkeypatch.setattr("attrbench.running.executors.execute", lambda c: done.append(c) or real(c))
    records = run(_config(chunk_size=8), ResultStore(tmp_path), LocalExecutor())
    assert _table(records) == reference
    assert len(done) == 9 - 4, "the 4 chunks finished on Ray are not recomputed"


def test_a_failing_chunk_is_retried_then_recorded_failed(executor, tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    config = _config(
        methods=["saliency", "flaky", "broken"],
        metrics=["motif_recall"],
        chunk_size=8,
        method_options={"flaky": {"marks": str(marks)}},
    )
    records = run(config, ResultStore(tmp_path / "res"), executor)
    by = {r.key.method: r for r in records if r.key.metric == "motif_recall"}
    assert by["broken"].status == "failed"
    assert by["broken"].reason == "RuntimeError: boom"
    assert by["flaky"].status == "ok", "Ray's retry ran the chunk again"
    assert by["flaky"].value == by["saliency"].value
    assert len(list(marks.iterdir())) == 3, "each of flaky's 3 chunks failed once"


def _kb_config(tmp_path: Path, name: str, checkpoints: Path):
    return _config(
        task="utr5_kb",
        methods=["scaled", "saliency"],
        metrics=["counted"],
        chunk_size=8,
        checkpoint_dir=checkpoints,
        method_options={"scaled": {"log": str(tmp_path / "fits")}},
        resource_options={"counter": {"path": str(tmp_path / name)}},
    )


def test_resources_and_fits_are_built_once_for_every_chunk(
    executor, tmp_path, kb_checkpoints, monkeypatch
):
    local = run(_kb_config(tmp_path, "local", kb_checkpoints), ResultStore(tmp_path / "a"))
    (tmp_path / "fits").unlink()
    monkeypatch.setenv("ATTRBENCH_FITS", str(tmp_path / "other-cache"))  # fit again, for Ray
    on_ray = run(_kb_config(tmp_path, "ray", kb_checkpoints), ResultStore(tmp_path / "b"), executor)
    assert _table(on_ray) == _table(local)
    by = {r.key.method: r.value for r in on_ray if r.key.metric == "counted"}
    assert by["scaled"] == pytest.approx(2 * by["saliency"], rel=1e-6), (
        "workers got the fitted state"
    )
    assert len((tmp_path / "ray").read_text().splitlines()) == 1, (
        "the resource is built once, by the driver"
    )
    assert len((tmp_path / "fits").read_text().splitlines()) == 1, "one fit shared by the 3 chunks"


def test_fitted_state_loads_from_bytes_without_the_file(tmp_path):
    path = tmp_path / "fit.pt"
    torch.save({"state": {"scale": torch.tensor(3.0)}, "seconds": 0.0}, path)
    data = path.read_bytes()
    path.unlink()
    cell.provide_fit(str(path), data)
    assert cell._fitted(str(path), "cpu")["scale"].item() == 3.0
