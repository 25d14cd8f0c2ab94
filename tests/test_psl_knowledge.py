"""The protein knowledge base (attrbench_tasks.psl.knowledge): locations, exact search, cache, file loaders.

Expected occurrences are written out by hand; on SCL2205 the index is compared
with a naive ``str.find`` scan on random queries.
"""

from __future__ import annotations

import numpy as np
import pytest

import attrbench_tasks.psl.knowledge as knowledge
from attrbench.core.contract import SequenceError
from attrbench.testing import naive_find as naive
from attrbench_tasks.psl.knowledge import (
    KnowledgeBase,
    KnowledgeBaseError,
    normalize_location,
    parse_uniprot_locations,
    read_fasta,
    read_knowledge_base,
    read_uniprot_tsv,
)


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """Every test caches into its own temporary folder, never the user's cache."""
    root = tmp_path / "cache"
    monkeypatch.setenv("ATTRBENCH_CACHE", str(root))
    return root / "kb"


def small_kb(cache: bool = True) -> KnowledgeBase:
    # entry 0: MKTAY at 0 and 8; entry 1: MKTAY at 2; entry 2 has a U (read as X, with a warning)
    with pytest.warns(UserWarning, match="1 letters B/Z/U/O mapped to X"):
        return KnowledgeBase(
            ["P1", "P2", "P3"],
            ["MKTAYIAKMKTAY", "ggmktay", "AUAA"],
            ["Nucleus", "Cytoplasm;Nucleus", ["Cytoplasm, cytoskeleton"]],
            cache=cache,
        )


# --------------------------------------------------------------------------- locations


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Cytoplasm, cytosol", {"Cytoplasm"}),
        ("Nucleus", {"Nucleus"}),
        ("Endoplasmic reticulum membrane", {"ER", "Membrane"}),
        ("Cell membrane", {"Membrane"}),
        ("Mitochondrion inner membrane", {"Mitochondrion", "Membrane"}),
        ("Plastid, chloroplast stroma", {"Plastid"}),
        ("Secreted", {"Secreted"}),
        ("Peroxisome matrix", {"Peroxisome"}),
        ("Cell projection, cilium", {"Cell projection"}),
        ("Cytoplasm, cytoskeleton", {"Cytoplasm", "Cytoskeleton"}),
        (
            "Cytoplasm, cytoskeleton, microtubule organizing center, centrosome",
            {"Cytoplasm", "Cytoskeleton", "Microtubule organizing center", "Centrosome"},
        ),
        # SCL2205 and DeepLoc spellings meet the same names
        ("ER", {"ER"}),
        ("Microtubule organizing center", {"Microtubule organizing center"}),
        ("Cell.membrane", {"Membrane"}),
        ("Extracellular", {"Secreted"}),
        # no SCL2205 location: the first level is kept as written, host levels never map
        ("Golgi apparatus, trans-Golgi network membrane", {"Golgi apparatus", "Membrane"}),
        ("Lysosome", {"Lysosome"}),
        ("Host cell membrane", {"Host cell membrane"}),
        ("", set()),
    ],
)
def test_normalize_location(text, expected):
    assert normalize_location(text) == frozenset(expected)


def test_parse_uniprot_locations_ignores_evidence_notes_isoforms_and_topology():
    text = (
        "SUBCELLULAR LOCATION: Cytoplasm, cytosol {ECO:0000269|PubMed:123}. Nucleus "
        "{ECO:0000250}. Endoplasmic reticulum membrane {ECO:1}; Multi-pass membrane protein "
        "{ECO:1}. Note=Translocates to the mitochondrion upon stress. {ECO:2}.; "
        "SUBCELLULAR LOCATION: [Isoform 2]: Secreted {ECO:3}."
    )
    # "mitochondrion" is only in the Note: not a location
    assert parse_uniprot_locations(text) == {"Cytoplasm", "Nucleus", "ER", "Membrane", "Secreted"}
    assert parse_uniprot_locations("") == frozenset()


# --------------------------------------------------------------------------- search


def test_find_returns_every_occurrence_with_its_position():
    kb = small_kb()
    assert len(kb) == 3 and kb.sequences == ["MKTAYIAKMKTAY", "GGMKTAY", "AXAA"]
    occ = kb.find("MKTAY")
    assert occ.entry.tolist() == [0, 0, 1] and occ.position.tolist() == [0, 8, 2]
    occ = kb.find("ay")  # case-insensitive
    assert occ.entry.tolist() == [0, 0, 1] and occ.position.tolist() == [3, 11, 5]
    # "AYGG" would span the end of P1 and the start of P2: never a match
    assert len(kb.find("AYGG").entry) == 0 and len(kb.find("YG").entry) == 0
    # U was read as X; searching U or X finds it
    assert kb.find("AU").position.tolist() == [0] and kb.find("AX").entry.tolist() == [2]
    assert np.unique(kb.find("A").entry).tolist() == [0, 1, 2]


def test_find_many_equals_find_on_each():
    kb = small_kb()
    peptides = ["MKTAY", "Q", "A", "KMK"]
    got = kb.find_many(peptides)
    for q, p in enumerate(peptides):
        one = kb.find(p)
        assert got.entry[got.query == q].tolist() == one.entry.tolist()
        assert got.position[got.query == q].tolist() == one.position.tolist()


@pytest.mark.parametrize("peptide", ["", "MK*", "MKJ", "MK\nGG"])
def test_find_rejects_bad_peptides(peptide):
    with pytest.raises(ValueError, match="cannot search"):
        small_kb(cache=False).find(peptide)


def test_locations_and_multi_location_entries():
    kb = small_kb()
    assert kb.locations == [{"Nucleus"}, {"Cytoplasm", "Nucleus"}, {"Cytoplasm", "Cytoskeleton"}]
    assert kb.location_names == ("Cytoplasm", "Cytoskeleton", "Nucleus")
    entries = np.array([0, 1, 2])
    # the multi-location entry 1 matches both Nucleus and Cytoplasm
    nucleus, cytoplasm = kb.location_mask(["Nucleus"]), kb.location_mask("Cytoplasm")
    assert kb.matches_location(entries, nucleus).tolist() == [True, True, False]
    assert kb.matches_location(entries, cytoplasm).tolist() == [False, True, True]
    # a name no entry has matches nothing
    assert not kb.matches_location(entries, kb.location_mask(["Plastid"])).any()
    assert kb.index_of("P2") == 1 and kb.index_of("nope") == -1


@pytest.fixture(scope="module")
def scl2205(tmp_path_factory):
    from attrbench_tasks.psl import knowledge as kbmod

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ATTRBENCH_CACHE", str(tmp_path_factory.mktemp("scl-cache")))
        kbmod._scl2205.cache_clear()
        with pytest.warns(UserWarning, match="B/Z/U/O"):
            kb = kbmod.knowledge_base()
        kbmod._scl2205.cache_clear()
    return kb


def test_index_equals_naive_scan_on_scl2205(scl2205):
    kb = scl2205
    assert len(kb) == 19074
    text = kb.text.decode()
    rng = np.random.default_rng(0)
    queries = []
    sequences = kb.sequences
    for entry in rng.integers(0, len(kb), 150):  # substrings of real proteins, length 3..15
        seq = sequences[int(entry)]
        m = int(rng.integers(3, 16))
        start = int(rng.integers(0, max(len(seq) - m, 0) + 1))
        queries.append(seq[start : start + m])
    letters = np.array(list("ACDEFGHIKLMNPQRSTVWY"))
    queries += ["".join(rng.choice(letters, int(rng.integers(4, 8)))) for _ in range(50)]
    queries += ["AAAAAA", "QQQQ", "SSSSS", "PPGPP"]  # low-complexity repeats, many occurrences
    n_found = 0
    for q in queries:
        occ = kb.find(q)
        found = list(zip(occ.entry.tolist(), occ.position.tolist(), strict=True))
        assert found == naive(text, kb.starts, q), q
        n_found += len(occ.entry)
    assert n_found > 1000  # the comparison covered many occurrences, not only misses


# --------------------------------------------------------------------------- cache


def test_cache_round_trip(cache, monkeypatch):
    kb = small_kb()
    folder = cache / kb.hash
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["meta.json", "sa.npy", "starts.npy", "text.bin"]

    import pydivsufsort

    def no_build(*args, **kwargs):
        raise AssertionError("the index was rebuilt instead of loaded from the cache")

    monkeypatch.setattr(pydivsufsort, "divsufsort", no_build)
    again = small_kb()  # same content: loaded from the cache
    loaded = KnowledgeBase.load(kb.hash)
    for other in (again, loaded):
        assert other.hash == kb.hash and other.accessions == kb.accessions
        assert other.locations == kb.locations and other.sequences == kb.sequences
        assert other.find("MKTAY").position.tolist() == [0, 8, 2]
    with pytest.raises(AssertionError, match="rebuilt"):  # new content, new hash: built
        KnowledgeBase(["P1"], ["MKTAYIAKMKTAW"], ["Nucleus"])
    with pytest.raises(FileNotFoundError, match="no index cached"):
        KnowledgeBase.load("0" * 16)


def test_hash_depends_on_content_only(cache):
    a = small_kb(cache=False)
    assert a.hash == small_kb(cache=True).hash
    b = KnowledgeBase(
        ["P1", "P2", "P3"],
        ["MKTAYIAKMKTAY", "GGMKTAY", "AXAA"],
        ["Nucleus", "Cytoplasm;Nucleus", "Secreted"],
        cache=False,
    )
    assert b.hash != a.hash  # another location set


# --------------------------------------------------------------------------- files

TSV = (
    "Entry\tEntry Name\tSubcellular location [CC]\tSequence\n"
    "P04637\tP53_HUMAN\tSUBCELLULAR LOCATION: Cytoplasm {ECO:0000269|PubMed:1}. Nucleus. "
    "Note=Shuttles. {ECO:1}.\tMEEPQSDPSV\n"
    "P02768\tALBU_HUMAN\tSUBCELLULAR LOCATION: Secreted.\tMKWVTFISLL\n"
    "Q9XYZ1\tFOO_HUMAN\tSUBCELLULAR LOCATION: Endoplasmic reticulum membrane; Multi-pass "
    "membrane protein.\tMSTAVLLLAG\n"
    "Q00000\tNOLOC_HUMAN\t\tMKKKKKKKK\n"
)

FASTA = (
    ">P04637 Cytoplasm;Nucleus\n"
    "MEEPQSDPSV\nEPPLSQETFS\n"
    ">sp|Q9XYZ1|FOO_HUMAN Endoplasmic reticulum membrane\n"
    "mstavlllag\n"
    ">Q8ABC2 Cell.membrane-M test\n"
    "MKKLLPTAAA\n"
    ">Q8ABC3 SUBCELLULAR LOCATION: Mitochondrion matrix {ECO:1}.\n"
    "MLSRAVCGTS\n"
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_uniprot_tsv(tmp_path, monkeypatch):
    path = write(tmp_path, "kb.tsv", TSV)
    with pytest.warns(UserWarning, match="1 entries without a location skipped"):
        kb = read_uniprot_tsv(path)
    assert kb.accessions == ["P04637", "P02768", "Q9XYZ1"]
    assert kb.locations == [{"Cytoplasm", "Nucleus"}, {"Secreted"}, {"ER", "Membrane"}]
    assert kb.sequences[2] == "MSTAVLLLAG"
    # the same bytes again: served from the cache without parsing, the note repeated
    monkeypatch.setattr(knowledge, "_parse_tsv", lambda p: pytest.fail("parsed again"))
    with pytest.warns(UserWarning, match="1 entries without a location skipped"):
        again = read_uniprot_tsv(path)
    assert again.hash == kb.hash and again.find("WVTF").entry.tolist() == [1]


def test_read_fasta(tmp_path):
    kb = read_fasta(write(tmp_path, "kb.fasta", FASTA))
    assert kb.accessions == ["P04637", "Q9XYZ1", "Q8ABC2", "Q8ABC3"]
    assert kb.locations == [
        {"Cytoplasm", "Nucleus"},
        {"ER", "Membrane"},
        {"Membrane"},
        {"Mitochondrion"},
    ]
    assert kb.sequences[:2] == ["MEEPQSDPSVEPPLSQETFS", "MSTAVLLLAG"]
    # M E E P Q S D P S V | E P P ...: "SVEPP" starts at 8, across the FASTA line break
    assert kb.find("SVEPP").position.tolist() == [8]


def test_read_knowledge_base_chooses_the_format(tmp_path):
    assert read_knowledge_base(write(tmp_path, "a.fa", FASTA)).accessions[0] == "P04637"
    with pytest.warns(UserWarning):
        assert len(read_knowledge_base(write(tmp_path, "a.tsv", TSV))) == 3
    assert len(read_knowledge_base(write(tmp_path, "entries", FASTA))) == 4  # by content
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_knowledge_base(tmp_path / "missing.tsv")


@pytest.mark.parametrize(
    "text, error, message",
    [
        (
            "Entry\tSequence\nP1\tMKT\n",
            KnowledgeBaseError,
            r"kb.tsv:1: no column 'Subcellular location \[CC\]'",
        ),
        (
            "Entry\tSubcellular location [CC]\tSequence\nP1\tNucleus.\tMKT\nP2\tNucleus.\n",
            KnowledgeBaseError,
            r"kb.tsv:3: 2 tab-separated fields, the header has 3",
        ),
        (
            "Entry\tSubcellular location [CC]\tSequence\nP1\tNucleus.\tMKT\nP2\tNucleus.\tMK1T\n",
            SequenceError,
            r"kb.tsv:3: entry 'P2': letter '1' at position 3",
        ),
        (
            "Entry\tSubcellular location [CC]\tSequence\nP1\tNucleus.\tMKT\nP1\tNucleus.\tMKT\n",
            KnowledgeBaseError,
            r"kb.tsv:3: duplicate accession 'P1' \(first at line 2\)",
        ),
        (
            "Entry\tSubcellular location [CC]\tSequence\nP1\tNucleus.\t\n",
            KnowledgeBaseError,
            r"kb.tsv:2: entry 'P1' has no sequence",
        ),
        ("", KnowledgeBaseError, r"kb.tsv:1: empty file"),
    ],
)
def test_bad_tsv_names_the_line(tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        read_uniprot_tsv(write(tmp_path, "kb.tsv", text))


@pytest.mark.parametrize(
    "text, error, message",
    [
        (
            ">P1 Nucleus\nMKT\n>P2\nMKT\n",
            KnowledgeBaseError,
            r"kb.fa:3: header 'P2' has no location",
        ),
        (
            ">P1 Nucleus\nMKTAA\nGG-A\n",
            SequenceError,
            r"kb.fa:3: entry 'P1': letter '-' at position 8",
        ),
        ("MKT\n>P1 Nucleus\nMKT\n", KnowledgeBaseError, r"kb.fa:1: sequence before the first"),
        (
            ">P1 Nucleus\n>P2 Nucleus\nMKT\n",
            KnowledgeBaseError,
            r"kb.fa:1: entry 'P1' has no sequence",
        ),
        (
            ">P1 Nucleus\nMKT\n>P1 ER\nMKT\n",
            KnowledgeBaseError,
            r"kb.fa:3: duplicate accession 'P1' \(first at line 1\)",
        ),
        ("\n\n", KnowledgeBaseError, r"no FASTA records"),
    ],
)
def test_bad_fasta_names_the_line(tmp_path, text, error, message):
    with pytest.raises(error, match=message):
        read_fasta(write(tmp_path, "kb.fa", text))


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((["P1", "P2"], ["MKT"], ["ER", "ER"]), KnowledgeBaseError, "must be as many"),
        (
            (["P1", "P1"], ["MKT", "MKT"], ["ER", "ER"]),
            KnowledgeBaseError,
            "duplicate accession 'P1'",
        ),
        (
            (["P1", "P2"], ["MKT", ""], ["ER", "ER"]),
            KnowledgeBaseError,
            "entry 'P2' has no sequence",
        ),
        (
            (["P1", "P2"], ["MKT", "MK#"], ["ER", "ER"]),
            SequenceError,
            "record 'P2': letter '#' at position 3",
        ),
        (
            (["P1", "P2"], ["MK\nT", "MKT"], ["ER", "ER"]),
            SequenceError,
            r"record 'P1': letter '\\n' at position 3",
        ),
        ((["P1", "P2"], ["MKT", "MKT"], ["ER", ""]), KnowledgeBaseError, "without a location"),
        (([], [], []), KnowledgeBaseError, "at least one entry"),
    ],
)
def test_bad_records(args, error, message):
    with pytest.raises(error, match=message):
        KnowledgeBase(*args, cache=False)
