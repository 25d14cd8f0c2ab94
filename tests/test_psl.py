"""The ``psl`` task: data, DeepLoc loader, trimming, ground truth, model zoo, checkpoints."""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attrbench.core.contract import SequenceError, position_scores
from attrbench.core.data import Dataset, Motif, codes_onehot, content_hash
from attrbench.core.plugin import TASKS
from attrbench.running.training import fixed_subset, load_model, predict
from attrbench_tasks.common.alphabets import PROTEIN
from attrbench_tasks.psl import data as D
from attrbench_tasks.psl import models as M
from attrbench_tasks.psl import reports as R

TASK = TASKS.get("psl")


def onehot(seqs: list[str], L: int = 40) -> torch.Tensor:
    return codes_onehot(D.encode(seqs, [f"s{i}" for i in range(len(seqs))], L), len(PROTEIN))


# --------------------------------------------------------------------------- encoding


def test_trimming_keeps_first_and_last_halves():
    seq = "".join(PROTEIN.letters[i % 20] for i in range(1500))
    assert D.trim(seq) == seq[:500] + seq[-500:]
    assert D.trim(seq[:999]) == seq[:999]
    tokens = D.encode([seq, "ACD"], ["long", "short"])
    assert tokens.shape == (2, 1000)
    assert PROTEIN.decode(codes_onehot(tokens, len(PROTEIN))) == [seq[:500] + seq[-500:], "ACD"]
    assert (tokens[1, 3:] == -1).all()


def test_encoding_matches_the_contract_encoder():
    seqs = ["MKVLAAGIXB", "acdefghiklmnpqrstvwy", "MU"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = onehot(seqs)
        expected = PROTEIN.encode(seqs, 40)
    assert torch.equal(X, expected)


def test_bad_letter_names_record_and_position_even_in_the_trimmed_middle():
    seq = "A" * 700 + "J" + "A" * 700
    with pytest.raises(SequenceError, match=r"record 'P2'.*'J' at position 701"):
        D.encode(["ACD", seq], ["P1", "P2"])
    with pytest.warns(UserWarning, match="1 unknown letters mapped to 'X'"):
        tokens = D.encode(["AJD"], ["P1"], 10, unknown="X")
    assert tokens[0, 1] == PROTEIN.letters.index("X")


# --------------------------------------------------------------------------- DeepLoc FASTA

FASTA = """>P00001 Cytoplasm-S
MKVLAAGIVALLLAAGCSSA
>P00002 Cell.membrane-M test
MSTNPKPQRKTKRNTNRRPQ
DVKFPGG
>P00003 Cytoplasm;Nucleus-U
MAAAAGRSKDEL
>P00004 Golgi.apparatus-M
MKKLLPTAAAGLLLLAAQPA
>P00005 Endoplasmic.reticulum-S test
MKLLAVLALLAGCAAHDEL
>P00006 Extracellular-U
MRVLLLGAALLAACSVASA
"""


def write(tmp_path, text: str, name: str = "deeploc.fasta"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_deeploc_loader_splits_labels_and_suffixes(tmp_path):
    with pytest.warns(UserWarning, match="Golgi.apparatus': 1"):
        splits = D.load_deeploc(write(tmp_path, FASTA))
    assert set(splits) == {"train", "valid", "test"}
    assert splits["test"].ids == ["P00002", "P00005"]
    assert [D.CLASSES[int(c)] for c in splits["test"].y] == ["Membrane", "ER"]
    assert splits["test"].extra["membrane"] == ["M", "S"]
    non_test = splits["train"].ids + splits["valid"].ids
    assert sorted(non_test) == ["P00001", "P00003", "P00006"]
    for acc in non_test:  # valid: a fixed tenth by accession hash
        is_valid = int(content_hash(acc), 16) % 10 == 0
        assert (acc in splits["valid"].ids) == is_valid
    everything = {
        i: loc for s in splits.values() for i, loc in zip(s.ids, s.extra["locations"], strict=True)
    }
    assert everything["P00003"] == ("Cytoplasm", "Nucleus")
    assert everything["P00006"] == ("Secreted",)
    test = splits["test"]
    assert PROTEIN.decode(test.X) == ["MSTNPKPQRKTKRNTNRRPQDVKFPGG", "MKLLAVLALLAGCAAHDEL"]
    assert torch.equal(test.mask, test.X.sum(1) > 0)


def test_task_data_reads_a_deeploc_file(tmp_path):
    path = write(tmp_path, FASTA)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test = TASK.data("test", path=path)
        with pytest.raises(ValueError, match="no records for split 'valid'"):
            TASK.data("valid", path=write(tmp_path, ">P1 Nucleus-U test\nMKV\n", "only_test.fa"))
    assert test.ids == ["P00002", "P00005"]
    with pytest.raises(ValueError, match="unknown split 'heldout'"):
        TASK.data("heldout")


@pytest.mark.parametrize(
    "text, error, match",
    [
        ("", ValueError, "no FASTA records"),
        ("\n\n", ValueError, "no FASTA records"),
        (
            ">P1 Nucleus-U\nMKV\n>P1 Cytoplasm-S test\nMKL\n",
            ValueError,
            r"duplicate accession 'P1' \(first at line 1\)",
        ),
        (">P1 Golgi-U\nMKV\n", ValueError, "unknown location 'Golgi'"),
        (">P1 Nucleus\nMKV\n", ValueError, "is not 'Location-M'"),
        (">P1 Nucleus-U train\nMKV\n", ValueError, "unexpected header fields"),
        (">P1 Nucleus;Plastid-U\nMKV\n", ValueError, "is not a class of the task"),
        ("MKV\n>P1 Nucleus-U\nMKV\n", ValueError, "before the first '>'"),
        (">P1 Nucleus-U\n>P2 Nucleus-U\nMKV\n", ValueError, "'P1' has no sequence"),
        (
            ">P1 Nucleus-U\nMKV\n>P2 Cytoplasm-S\nMKVL\nAA1A\n",
            SequenceError,
            r"record 'P2'.*'1' at position 7",
        ),
    ],
)
def test_deeploc_bad_input(tmp_path, text, error, match):
    with pytest.raises(error, match=match):
        D.load_deeploc(write(tmp_path, text))


def test_deeploc_unknown_letters_can_map_to_x(tmp_path):
    path = write(tmp_path, ">P1 Nucleus-U test\nMKJV\n")
    with pytest.warns(UserWarning, match="1 unknown letters"):
        test = D.load_deeploc(path, unknown="X")["test"]
    assert PROTEIN.decode(test.X) == ["MKXV"]


# --------------------------------------------------------------------------- ground truth


def test_ground_truth_c_terminal_signals(tmp_path):
    long_er = "M" + "A" * 1495 + "HDEL"  # 1500 residues: trimmed, the signal stays at the end
    text = "".join(
        f">P{i} {loc}-U test\n{seq}\n"
        for i, (loc, seq) in enumerate(
            [
                ("Endoplasmic.reticulum", "MKLLAVKDEL"),  # ER retention
                ("Endoplasmic.reticulum", "MKLLAVKDEA"),  # ER without the signal
                ("Peroxisome", "MAAGSKL"),  # PTS1
                ("Peroxisome", "MAAGAHM"),  # PTS1 variant
                ("Nucleus", "MKLLAVKDEL"),  # signal in the wrong location
                ("Cytoplasm", "MAAGSKL"),
                ("Endoplasmic.reticulum", long_er),
                ("Peroxisome", "KL"),  # shorter than the signal
            ]
        )
    )
    test = D.load_deeploc(write(tmp_path, text))["test"]
    gt = TASK.ground_truth(test)
    assert gt.motifs == [
        [Motif("ER_retention", 6, 10)],
        [],
        [Motif("PTS1", 4, 7)],
        [Motif("PTS1", 4, 7)],
        [],
        [],
        [Motif("ER_retention", 996, 1000)],
        [],
    ]
    assert PROTEIN.decode(test.X[6:7, :, 996:])[0] == "HDEL"


def test_background_is_one_distribution():
    X = onehot(["AAAC", "CD"])
    ds = Dataset(X, X.sum(1) > 0, torch.zeros(2, dtype=torch.long), ["a", "b"])
    bg = D.background(ds)
    assert bg.probs.shape == (21,)
    torch.testing.assert_close(bg.probs.sum(), torch.tensor(1.0))
    assert bg.probs[0] == (3 + 1) / (6 + 21)


# --------------------------------------------------------------------------- models


def test_bilstm_equals_a_packed_bidirectional_lstm():
    torch.manual_seed(0)
    ours = M.BiLSTM(8, 16, chunk=3)
    ref = nn.LSTM(8, 16, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(ref, f"{name}_l0").copy_(getattr(ours.fwd, f"{name}_l0"))
            getattr(ref, f"{name}_l0_reverse").copy_(getattr(ours.bwd, f"{name}_l0"))
    lengths = torch.tensor([5, 9, 1, 7, 9, 3, 2])
    Z = torch.randn(7, 9, 8) * (torch.arange(9) < lengths[:, None])[..., None]
    with torch.no_grad():
        packed, _ = ref(pack_padded_sequence(Z, lengths, batch_first=True, enforce_sorted=False))
        expected, _ = pad_packed_sequence(packed, batch_first=True, total_length=9)
        torch.testing.assert_close(ours(Z, lengths), expected, atol=1e-6, rtol=1e-5)


SEQS = ["MKVLAAGIVALLLAAGCSSA", "MSTNPKPQ", "MAAAAGRSKDELKLLAVLALLAGCAAHDELMRVLLL", "MK"]


@pytest.fixture(scope="module")
def untrained() -> dict[str, nn.Module]:
    out = {}
    for name in TASK.models:
        torch.manual_seed(0)
        model = M.build_model(name).eval()
        if isinstance(model, M.PresetAttentionNet):
            torch.manual_seed(1)
            model.load_teacher(M.build_model("bilstm_att").state_dict())
        out[name] = model
    return out


@pytest.mark.parametrize("name", list(M.ARCHS))
def test_zoo_model_contract(untrained, name):
    model = untrained[name]
    assert model.kind == ("mlp" if name.startswith("mlp") else "lstm")
    X = onehot(SEQS, 40)
    with torch.no_grad():
        logits = model(X)
        assert logits.shape == (4, 13) and torch.isfinite(logits).all()
        # padding is ignored: more padding, another batch, the same logits
        torch.testing.assert_close(model(onehot(SEQS, 64)), logits, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(model(X[1:3]), logits[1:3], atol=1e-5, rtol=1e-5)
    assert hasattr(model, "attention_weights") == (
        name in M.ARCHS and M.ARCHS[name]["head"] != "last"
    )


@pytest.mark.parametrize("name", [n for n, a in M.ARCHS.items() if a["head"] != "last"])
def test_attention_weights_and_override(untrained, name):
    model = untrained[name]
    X = onehot(SEQS, 40)
    mask = X.sum(1) > 0
    with torch.no_grad():
        w = model.attention_weights(X)
        torch.testing.assert_close(w.sum(1), torch.ones(4))
        assert (w[~mask] == 0).all() and (w[mask] > 0).all()
        if M.ARCHS[name]["head"] == "uniform":
            assert torch.equal(w, mask.float() / mask.sum(1, keepdim=True))
        torch.testing.assert_close(model.forward_with_attention(X, w), model(X))
        uniform = mask.float() / mask.sum(1, keepdim=True)
        logits = R.intervention_logits(model, X, torch.Generator().manual_seed(0))
        torch.testing.assert_close(logits["own"], model(X))
        torch.testing.assert_close(logits["uniform"], model.forward_with_attention(X, uniform))


def test_attention_method_on_a_zoo_model(untrained):
    from attrbench_methods.attention import attention

    model, X = untrained["bilstm_att"], onehot(SEQS, 40)
    attr = attention(model, X, torch.zeros(4, dtype=torch.int64), X.sum(1) > 0)
    torch.testing.assert_close(position_scores(attr, X), model.attention_weights(X))


def test_mlp_preset_uses_the_teachers_attention_and_never_trains_it(untrained):
    model, X = untrained["mlp_preset"], onehot(SEQS, 40)
    torch.testing.assert_close(model.attention_weights(X), model.teacher.attention_weights(X))
    model.train()
    assert not model.teacher.training and model.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    model.eval()
    fresh = M.PresetAttentionNet("mlp", "preset", 64, teacher=M.build_model("bilstm_att"))
    with pytest.raises(RuntimeError, match="train it first"):
        fresh(X)


def test_baselines_on_a_toy_split():
    seqs = ["KKKKKKA", "KKKKKA", "KKKKKKKA", "DDDDDA", "DDDDDDA", "DDDDA"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = D.make_dataset(seqs, ["Nucleus"] * 3 + ["Secreted"] * 3, [f"p{i}" for i in range(6)])
    rows = {r["model"]: r for r in R.baseline_rows(ds, ds)}
    assert rows["majority"]["accuracy"] == 0.5
    assert rows["logreg_composition"]["accuracy"] == 1.0


# --------------------------------------------------------------------------- SCL2205 and checkpoints


@pytest.fixture(scope="module")
def scl():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train, test = TASK.data("train"), TASK.data("test")
    return train, test


def test_scl2205_splits(scl):
    train, test = scl
    assert (len(train), len(test)) == (15183, 2631)
    assert train.X.shape == (15183, 21, 1000) and train.X.dtype == torch.float32
    assert torch.equal(train.mask, train.X.sum(1) > 0)
    assert TASK.classes == D.CLASSES and len(D.CLASSES) == 13
    multi = [i for i, c in enumerate(test.y.tolist()) if ";" in D.CLASSES[c]]
    assert len(multi) > 0
    assert all(
        test.extra["locations"][i] == tuple(D.CLASSES[int(test.y[i])].split(";")) for i in multi
    )
    assert TASK.data("test") is not test  # a fresh record per call (shared tensors)


def test_shipped_checkpoints_reproduce_their_recorded_subset_accuracy(scl):
    train, test = scl
    missing = [n for n in TASK.models if not (TASK.checkpoint_dir / f"{n}.pt").is_file()]
    assert not missing, f"checkpoints missing: {missing}"
    sub = fixed_subset(test)
    train_hash = train.hash
    for name in TASK.models:
        model = load_model(TASK, name, train_hash=train_hash)
        check = model.checkpoint.get("subset_check")
        assert check is not None, f"{name}: checkpoint without a subset check; retrain it"
        assert check["ids_hash"] == content_hash("\n".join(sub.ids))
        accuracy = float((predict(model, sub.X).argmax(1) == sub.y).float().mean())
        assert accuracy == check["accuracy"], name


# --------------------------------------------------------------------------- reports and defaults


def test_objective_is_read_from_the_train_config():
    assert R.objective({"class_weights": True}) == (
        "cross-entropy, inverse-frequency class weights; epoch of best validation loss"
    )
    assert R.objective({"class_weights": False, "select": "accuracy"}) == (
        "plain cross-entropy; epoch of best validation accuracy"
    )


def test_model_report_states_objectives_table_1_and_the_note(monkeypatch):
    def row(model, attention="own", micro=0.5, macro=0.4, objective="plain cross-entropy"):
        return {
            "model": model,
            "kind": "lstm",
            "attention": attention,
            "accuracy": micro,
            "f1_micro": micro,
            "f1_macro": macro,
            "n": 2631,
            "train_seconds": 600.0,
            "objective": objective,
        }

    rows = [
        row("bilstm_att", micro=0.557),
        row("bilstm_att", "uniform", 0.301, 0.2),
        row("bilstm_uniform", "-", 0.384, 0.25, "cross-entropy, inverse-frequency class weights"),
    ]
    monkeypatch.setattr(R, "model_rows", lambda **options: rows)
    text = TASK.reports["models"].render([])
    assert "plain cross-entropy" in text and "inverse-frequency class weights" in text
    assert "| Attention (baseline)" in text and "0.557" in text and "0.673" in text  # ours, paper's
    assert "0.384" in text and "0.666" in text  # the trained uniform model beside the paper's row
    assert "0.301 / 0.200" in text  # inference-time replacement by uniform weights
    assert R.NOTE in text and "0.660 at batch 50 and 0.542 at batch 1" in text


def test_complete_methods_default_to_a_reference_that_keeps_the_length():
    from attrbench.core.data import Background
    from attrbench_methods.deepshap import deepshap_baselines
    from attrbench_methods.ig import ig_reference
    from attrbench_tasks.psl import METHOD_OPTIONS

    assert METHOD_OPTIONS["ig"] == {"baseline": "background"} == METHOD_OPTIONS["deeplift"]
    X = onehot(SEQS, 40)
    mask = X.sum(1) > 0
    background = Background(torch.full((21,), 1 / 21))
    ref = ig_reference(X, background, **METHOD_OPTIONS["ig"])
    torch.testing.assert_close(ref[:, :, 0], torch.full((4, 21), 1 / 21))  # real: composition
    assert (ref.sum(1) > 0).eq(mask).all()  # padding stays zero: the protein keeps its length
    refs = deepshap_baselines(X, mask, background, torch.Generator().manual_seed(0), 3)
    assert (refs.sum(2) > 0).eq(mask[:, None, :]).all()  # deepshap's draws keep it too
