"""evaluate / wrap / `attrbench run --model-file`: a user's model and sequences through the runner."""

from __future__ import annotations

import math

import pytest
import torch

from attrbench.cli import main
from attrbench.running.results import ResultStore
from attrbench.user import UserInputError, evaluate, per_sequence, read_truth, wrap
from tests.user_models import LastAxisCNN, MotifCNN, TokenModel

SEQS = {"s0": "ACGTACGTAAGGCCTTACGT", "s1": "TTTTGGGGCCCCAAAAACG", "s2": "ACGTTGCAACGTTGCA"}
TRUTH = [[(0, 7, "m")], [(2, 9, "m")], [(5, 12, "m")]]
FAST = ["saliency", "ism", "random"]
METRICS = ["motif_auroc", "motif_recall", "inclusion_kl"]


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "seqs.fa"
    path.write_text("".join(f">{k}\n{v}\n" for k, v in SEQS.items()))
    return path


@pytest.fixture
def bed(tmp_path):
    path = tmp_path / "truth.bed"
    path.write_text(
        "".join(f"{k}\t{s}\t{e}\t{kind}\n" for k, ((s, e, kind),) in zip(SEQS, TRUTH, strict=True))
    )
    return path


def _ok(df, method, metric):
    row = df[(df.method == method) & (df.metric == metric)]
    assert len(row) == 1, (method, metric)
    return row.iloc[0]


def test_user_cnn_frame_matches_captum_saliency(fasta, bed):
    model = MotifCNN().eval()
    df = evaluate(
        model, list(SEQS.values()), truth=TRUTH, methods=FAST, metrics=METRICS, device="cpu"
    )
    assert set(df.columns) == {
        "method",
        "metric",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "status",
        "reason",
        "seconds",
    }
    ism = _ok(df, "ism", "motif_auroc")
    assert ism.status == "ok" and ism.n == 3 and 0.0 <= ism.ci_low <= ism.value <= ism.ci_high
    values = per_sequence(df, "saliency", "motif_auroc")
    assert sorted(values.sequence) == ["seq0", "seq1", "seq2"]
    assert values.value.mean() == pytest.approx(_ok(df, "saliency", "motif_auroc").value)


def test_truth_free_metrics_run_and_ground_truth_ones_say_why():
    df = evaluate(
        MotifCNN(), list(SEQS.values()), methods=["saliency"], metrics=METRICS, device="cpu"
    )
    auroc = _ok(df, "saliency", "motif_auroc")
    assert auroc.status == "not_applicable" and "needs ground truth" in auroc.reason
    assert math.isnan(auroc.value)
    assert _ok(df, "saliency", "inclusion_kl").status == "ok"


def test_truth_from_bed_equals_truth_from_mask_and_lists(fasta, bed):
    ids, lengths = list(SEQS), [len(s) for s in SEQS.values()]
    from_bed = read_truth(bed, ids, lengths)
    mask = torch.zeros(3, max(lengths), dtype=torch.bool)
    for i, ((s, e, _),) in enumerate(TRUTH):
        mask[i, s:e] = True
    from_mask = read_truth(mask, ids, lengths)
    assert [[(m.start, m.end) for m in row] for row in from_bed.motifs] == [
        [(0, 7)],
        [(2, 9)],
        [(5, 12)],
    ]
    assert [[(m.start, m.end) for m in row] for row in from_mask.motifs] == [
        [(0, 7)],
        [(2, 9)],
        [(5, 12)],
    ]
    a = evaluate(
        MotifCNN(), fasta, truth=bed, methods=["ism"], metrics=["motif_auroc"], device="cpu"
    )
    b = evaluate(
        MotifCNN(), fasta, truth=mask, methods=["ism"], metrics=["motif_auroc"], device="cpu"
    )
    assert _ok(a, "ism", "motif_auroc").value == _ok(b, "ism", "motif_auroc").value


def test_wrap_nla_gives_the_numbers_of_the_same_network_in_nal():
    a = evaluate(
        MotifCNN(),
        list(SEQS.values()),
        truth=TRUTH,
        methods=["saliency"],
        metrics=["motif_auroc"],
        device="cpu",
    )
    b = evaluate(
        wrap(LastAxisCNN(), "NLA"),
        list(SEQS.values()),
        truth=TRUTH,
        methods=["saliency"],
        metrics=["motif_auroc"],
        device="cpu",
    )
    assert _ok(b, "saliency", "motif_auroc").value == pytest.approx(
        _ok(a, "saliency", "motif_auroc").value
    )


def test_wrap_tokens_is_the_lookup_on_one_hot_and_differentiable():
    model = TokenModel().eval()
    X = torch.nn.functional.one_hot(torch.tensor([[0, 1, 2, 3, 0, 2]]), 4).float().transpose(1, 2)
    ids = torch.tensor([[1, 6, 11, 12, 2]])  # 2-mers AC CG GT TA AG
    expected = model(ids)
    wrapped = wrap(TokenModel().eval(), "tokens", k=2)
    X.requires_grad_(True)
    out = wrapped(X)
    assert torch.allclose(out, expected)
    out.sum().backward()
    assert X.grad.abs().sum() > 0


def test_run_model_file_writes_the_records_evaluate_returns(tmp_path, fasta, bed):
    model = MotifCNN().eval()
    script = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(model), str(script))
    results = tmp_path / "results"
    code = main(
        [
            "run",
            "--model-file",
            str(script),
            "--fasta",
            str(fasta),
            "--truth",
            str(bed),
            "--method",
            ",".join(FAST),
            "--metric",
            ",".join(METRICS),
            "--device",
            "cpu",
            "--results",
            str(results),
            "--quiet",
        ]
    )
    assert code == 0
    records = ResultStore(results).records()
    written = {
        (r.key.method, r.key.metric): r.value
        for r in records
        if r.status == "ok" and r.key.metric != "seconds_per_seq"
    }
    assert len({r.key.task for r in records}) == 1 and records[0].key.task.startswith("user-")
    df = evaluate(
        torch.jit.load(str(script)), fasta, truth=bed, methods=FAST, metrics=METRICS, device="cpu"
    )
    got = {
        (r.method, r.metric): r.value
        for r in df.itertuples()
        if r.status == "ok" and r.metric != "seconds_per_seq"
    }
    assert got == written and ("ism", "motif_auroc") in got


def test_run_model_class_with_weights_matches_evaluate(tmp_path, fasta, bed):
    weights = tmp_path / "w.pt"
    torch.save(MotifCNN().state_dict(), weights)
    results = tmp_path / "results"
    assert (
        main(
            [
                "run",
                "--model-class",
                "tests.user_models:MotifCNN",
                "--weights",
                str(weights),
                "--fasta",
                str(fasta),
                "--truth",
                str(bed),
                "--method",
                "ism",
                "--metric",
                "motif_auroc",
                "--device",
                "cpu",
                "--results",
                str(results),
                "--quiet",
            ]
        )
        == 0
    )
    rec = next(r for r in ResultStore(results).records() if r.key.metric == "motif_auroc")
    df = evaluate(
        MotifCNN(),
        fasta,
        truth=bed,
        methods=["ism"],
        metrics=["motif_auroc"],
        device="cpu",
        results=tmp_path / "again",
    )
    assert _ok(df, "ism", "motif_auroc").value == rec.value


def test_explain_model_file_draws_a_user_sequence(tmp_path, fasta):
    script = tmp_path / "model.pt"
    torch.jit.save(torch.jit.script(MotifCNN().eval()), str(script))
    out = tmp_path / "fig.png"
    assert (
        main(
            [
                "explain",
                "--model-file",
                str(script),
                "--fasta",
                str(fasta),
                "--sequence",
                "s1",
                "--method",
                "saliency,ism",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.stat().st_size > 1000


# --------------------------------------------------------------------------- bad input


class TwoD(torch.nn.Module):
    def forward(self, X):
        return X.sum(1)  # (N, L)


class Three(torch.nn.Module):
    def forward(self, X):
        return X[:, :, :2][:, :, :, None]


class NaNs(torch.nn.Module):
    def forward(self, X):
        return X.sum((1, 2))[:, None] * float("nan")


@pytest.mark.parametrize(
    "model, words",
    [
        (Three(), "must return logits (N, C)"),
        (NaNs(), "NaN"),
        (LastAxisCNN(), "check --alphabet"),
    ],
)
def test_bad_models_are_refused(model, words):
    with pytest.raises(UserInputError, match=words.replace("(", r"\(").replace(")", r"\)")):
        evaluate(model, list(SEQS.values()), methods=["saliency"], device="cpu")


def _cli_error(tmp_path, capsys, *extra, fasta=None, model=None):
    script = tmp_path / "model.pt"
    if model is None:
        torch.jit.save(torch.jit.script(MotifCNN().eval()), str(script))
    code = main(
        [
            "run",
            *(["--model-file", str(script)] if model is None else model),
            "--fasta",
            str(fasta),
            "--method",
            "saliency",
            "--device",
            "cpu",
            "--results",
            str(tmp_path / "r"),
            "--quiet",
            *extra,
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("attrbench: error:")
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").rglob("*.json"))
    return err


def test_cli_letters_outside_the_alphabet(tmp_path, capsys):
    fasta = tmp_path / "bad.fa"
    fasta.write_text(">a\nACGTNACGT\n")
    err = _cli_error(tmp_path, capsys, fasta=fasta)
    assert str(fasta) in err and "'N'" in err and "--alphabet" in err


def test_cli_wrong_alphabet_size(tmp_path, capsys, fasta):
    prot = tmp_path / "p.fa"
    prot.write_text(">a\nMKVLAAGTREW\n")
    err = _cli_error(tmp_path, capsys, "--alphabet", "protein", fasta=prot)
    assert "model.pt" in err and "21" in err and "--alphabet" in err


def test_cli_truth_outside_a_sequence(tmp_path, capsys, fasta):
    bed = tmp_path / "t.bed"
    bed.write_text("s2\t10\t40\tm\n")
    err = _cli_error(tmp_path, capsys, "--truth", str(bed), fasta=fasta)
    assert f"{bed}:1" in err and "outside the sequence" in err


def test_cli_truth_on_a_sequence_not_in_the_fasta(tmp_path, capsys, fasta):
    bed = tmp_path / "t.bed"
    bed.write_text("chr9\t1\t4\tm\n")
    err = _cli_error(tmp_path, capsys, "--truth", str(bed), fasta=fasta)
    assert f"{bed}:1" in err and "'chr9' is not in the FASTA" in err


def test_cli_weights_not_matching_the_class(tmp_path, capsys, fasta):
    weights = tmp_path / "w.pt"
    torch.save(TokenModel().state_dict(), weights)
    err = _cli_error(
        tmp_path,
        capsys,
        fasta=fasta,
        model=["--model-class", "tests.user_models:MotifCNN", "--weights", str(weights)],
    )
    assert str(weights) in err and "does not match tests.user_models:MotifCNN" in err


def test_cli_output_not_logits(tmp_path, capsys, fasta):
    script = tmp_path / "two.pt"
    torch.jit.save(torch.jit.script(Three()), str(script))
    err = _cli_error(tmp_path, capsys, fasta=fasta, model=["--model-file", str(script)])
    assert str(script) in err and "(N, C)" in err


def test_cli_not_torchscript(tmp_path, capsys, fasta):
    path = tmp_path / "sd.pt"
    torch.save(MotifCNN().state_dict(), path)
    err = _cli_error(tmp_path, capsys, fasta=fasta, model=["--model-file", str(path)])
    assert str(path) in err and "--model-class" in err
