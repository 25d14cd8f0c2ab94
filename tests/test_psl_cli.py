"""The ``psl`` task end to end through the CLI: shipped model, and a user's DeepLoc file."""

from __future__ import annotations

import random
import re
import warnings

import torch

from attrbench.cli import main
from attrbench.running.plan import select
from attrbench.running.results import ResultStore
from attrbench_tasks.psl import data as D
from attrbench_tasks.psl.hit_rate_metric import COLUMNS

AMINO = "ACDEFGHIKLMNPQRSTVWY"
FAST = [
    "--quiet",
    "--option",
    "inclusion_kl.n_samples=4",
    "--option",
    "occlusion_kl.n_samples=4",
    "--option",
    "shift_invariance.n_shift=1",
]


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_run_psl_on_the_default_model(tmp_path, capsys):
    code, out, err = cli(
        capsys,
        "run",
        "--task",
        "psl",
        "--n",
        "3",
        "--metric",
        "completeness,inclusion_kl,shift_invariance,hit_rate",
        "--method",
        "saliency,attention,attention_uniform,deeplift,deepshap",
        "--results",
        str(tmp_path),
        *FAST,
    )
    assert code == 0, err
    assert "| attention " in out and "| attention_uniform" in out
    records = ResultStore(tmp_path).records("psl")
    by = {(r.key.method, r.key.metric): r for r in records}
    assert {r.key.model for r in records} == {"bilstm_att"}
    assert by[("(model)", "accuracy")].status == "ok" and by[("(model)", "accuracy")].key.n == 2631
    for method in (
        "deeplift",
        "deepshap",
    ):  # they cannot see inside an LSTM: refused, with the reason
        rec = by[(method, "completeness")]
        assert rec.status == "not_applicable" and "LSTM" in rec.reason, rec.reason
    for method in ("saliency", "attention", "attention_uniform"):
        assert by[(method, "inclusion_kl")].status == "ok", by[(method, "inclusion_kl")].reason
        assert by[(method, "inclusion_kl")].n_scored == 3
        assert by[(method, "shift_invariance")].status == "ok"
        hit = by[(method, "hit_rate")]
        assert hit.status == "ok" and set(hit.columns) == set(COLUMNS)
        assert hit.key.metric_options["resources"]["knowledge_base"]  # the KB's hash is in the key
    assert by[("saliency", "completeness")].status == "not_applicable"

    # --kb: another knowledge base is another cell (its content hash is in the key)
    kb = tmp_path / "kb.fasta"
    kb.write_text(
        ">P0KB01 Nucleus\nMKVLAAGIVALLLAAGCSSA\n>P0KB02 Cytoplasm;Nucleus\nMSTNPKPQRKTKRNTNRRPQ\n"
    )
    code, _, err = cli(
        capsys,
        "run",
        "--task",
        "psl",
        "--n",
        "3",
        "--metric",
        "hit_rate",
        "--method",
        "attention",
        "--kb",
        str(kb),
        "--results",
        str(tmp_path),
        *FAST,
    )
    assert code == 0, err
    hits = [
        r
        for r in ResultStore(tmp_path).records("psl")
        if r.key.metric == "hit_rate" and r.key.method == "attention"
    ]
    assert len({r.key.metric_options["resources"]["knowledge_base"] for r in hits}) == 2
    # --resource knowledge_base=PATH is what --kb stands for: the same cell, found, not recomputed
    code, _, err = cli(
        capsys,
        "run",
        "--task",
        "psl",
        "--n",
        "3",
        "--metric",
        "hit_rate",
        "--method",
        "attention",
        "--resource",
        f"knowledge_base={kb}",
        "--results",
        str(tmp_path),
        *FAST,
    )
    assert code == 0, err
    again = [
        r
        for r in ResultStore(tmp_path).records("psl")
        if r.key.metric == "hit_rate" and r.key.method == "attention"
    ]
    assert sorted(r.date for r in again) == sorted(r.date for r in hits)


def test_resource_files_are_checked_before_any_work(tmp_path, capsys):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">P0KB01 Nucleus\nMKV1AAG\n")
    for args, message in [
        (
            ["--resource", f"knowledge_base={bad}"],
            "bad.fasta:2: entry 'P0KB01': letter '1' at position 4",
        ),
        (["--kb", str(bad)], "letter '1' at position 4"),
        (["--resource", f"knowledge_bse={bad}"], "did you mean 'knowledge_base'"),
        (["--resource", "knowledge_base"], "expected NAME=PATH"),
        (["--kb", str(tmp_path / "none.tsv")], "--kb .*none.tsv: no such file"),
        (["--kb", str(bad), "--resource", f"knowledge_base={bad}"], "given twice"),
    ]:
        for command in (
            ["run", "--task", "psl", "--metric", "hit_rate"],
            ["report", "--task", "psl", "hit_rate"],
        ):
            code, _, err = cli(
                capsys, *command, *args, "--results", str(tmp_path / "res"), "--quiet"
            )
            assert code == 2 and re.search(message, err), (command, args, err)
    assert not (tmp_path / "res").exists()  # nothing ran


def deeploc_file(path, n_train: int = 60, n_test: int = 8, seed: int = 0):
    """A DeepLoc FASTA of random proteins: class decided by the first residue (learnable)."""
    rng = random.Random(seed)
    classes = {"M": "Nucleus-U", "A": "Cytoplasm-S", "S": "Extracellular-S"}
    lines = []
    for i in range(n_train + n_test):
        first = "MAS"[i % 3]
        seq = first + "".join(rng.choice(AMINO) for _ in range(rng.randint(20, 60)))
        lines.append(f">Q{i:05d} {classes[first]}{' test' if i >= n_train else ''}\n{seq}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_deeploc_file_train_then_run(tmp_path, capsys):
    fasta = deeploc_file(tmp_path / "deeploc.fasta")
    ckpts, results = tmp_path / "ckpts", tmp_path / "results"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        splits = D.load_deeploc(fasta)
    assert len(splits["test"]) == 8 and len(splits["train"]) + len(splits["valid"]) == 60

    code, out, err = cli(
        capsys,
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
        "2",
        "--device",
        "cpu",
    )
    assert code == 0, err
    ckpt = torch.load(ckpts / "mlp_uniform.pt", weights_only=True)
    assert ckpt["data_hash"] == splits["train"].hash and ckpt["subset_check"]["n"] == 8

    # the shipped checkpoints were trained on SCL2205: refused on this file, with the reason
    code, _, err = cli(
        capsys,
        "run",
        "--task",
        "psl",
        "--data",
        str(fasta),
        "--model",
        "mlp_uniform",
        "--results",
        str(results),
        "--n",
        "4",
        "--quiet",
    )
    assert code == 2 and "trained on data" in err

    code, out, err = cli(
        capsys,
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
        "saliency,attention",
        "--metric",
        "completeness,inclusion_kl",
        "--n",
        "4",
        "--results",
        str(results),
        *FAST,
    )
    assert code == 0, err
    records = ResultStore(results).records("psl")
    explained = select(splits["test"], 4, seed=0)
    assert {r.key.data_hash for r in records if r.key.method != "(model)"} == {explained.hash}
    ok = [r for r in records if r.key.metric == "inclusion_kl"]
    assert {r.key.method for r in ok} == {"saliency", "attention"} and all(
        r.status == "ok" for r in ok
    )
    assert all(r.n_scored == 4 for r in ok)


def test_psl_turns_the_randomization_cascade_off_unless_asked():
    """psl's task default (each cascade step re-runs ISM) sits between the metric's and the user's."""
    from attrbench.core.plugin import METRICS, TASKS
    from attrbench.running.plan import RunConfig, metric_options

    metric = METRICS.get("randomization")
    assert metric.defaults["cascade"] is True
    default = RunConfig(task="psl", methods=["saliency"], metrics=["randomization"])
    assert metric_options(TASKS.get("psl"), metric, default)["cascade"] is False
    assert metric_options(TASKS.get("utr5"), metric, default)["cascade"] is True
    asked = RunConfig(
        task="psl",
        methods=["saliency"],
        metrics=["randomization"],
        metric_options={"randomization": {"cascade": True}},
    )
    assert metric_options(TASKS.get("psl"), metric, asked) == {**metric.defaults, "cascade": True}
