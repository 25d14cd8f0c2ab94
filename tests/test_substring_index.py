"""psl's exact-substring index (attrbench_tasks.psl.substring_index): alphabet-agnostic, exact, cached."""

from __future__ import annotations

import numpy as np
import pytest

from attrbench_tasks.psl.substring_index import IndexBuildError, SubstringIndex


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTRBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "kb"


def naive(sequences: list[str], query: str) -> list[tuple[int, int]]:
    """Every (entry, position) of ``query``, scanning each sequence with str.find."""
    found = []
    for e, seq in enumerate(sequences):
        i = seq.find(query)
        while i >= 0:
            found.append((e, i))
            i = seq.find(query, i + 1)
    return found


def test_dna_example_by_hand():
    index = SubstringIndex(
        ["r1", "r2", "r3"],
        ["ACGTACGT", "TTACG", "GGGG"],
        [{"promoter"}, {"promoter", "enhancer"}, {"other"}],
        cache=False,
    )
    occ = index.find("ACG")
    assert list(zip(occ.entry.tolist(), occ.position.tolist(), strict=True)) == [
        (0, 0),
        (0, 4),
        (1, 2),
    ]
    assert len(index.find("GTT").entry) == 0  # would span r1's end and r2's start: never a match
    assert index.find("GG").position.tolist() == [0, 1, 2]  # overlapping occurrences
    mask = index.label_mask({"enhancer"})
    assert index.matches_label(np.arange(3), mask).tolist() == [False, True, False]
    # chance: the share of entries with the label, the query's own entry left out
    share = index.label_share(
        np.stack([index.label_mask({"promoter"})] * 2), exclude=np.array([0, -1])
    )
    np.testing.assert_allclose(share, [1 / 2, 2 / 3])


def test_index_equals_a_naive_scan_on_random_dna():
    rng = np.random.default_rng(0)
    sequences = ["".join(rng.choice(list("ACGT"), int(rng.integers(1, 60)))) for _ in range(300)]
    labels = [{str(rng.integers(0, 3))} for _ in sequences]
    index = SubstringIndex([f"s{i}" for i in range(300)], sequences, labels, cache=False)
    queries = ["".join(rng.choice(list("ACGT"), int(rng.integers(1, 8)))) for _ in range(200)]
    total = 0
    for q in queries:
        occ = index.find(q)
        got = list(zip(occ.entry.tolist(), occ.position.tolist(), strict=True))
        assert got == naive(sequences, q), q
        total += len(got)
    many = index.find_many(queries)
    assert len(many.query) == total > 1000


def test_cache_round_trip_and_load(cache):
    index = SubstringIndex(["a", "b"], ["ACGT", "CGTA"], [{"x"}, {"y"}])
    assert sorted(p.name for p in (cache / index.hash).iterdir()) == [
        "meta.json",
        "sa.npy",
        "starts.npy",
        "text.bin",
    ]
    loaded = SubstringIndex.load(index.hash)
    assert loaded.keys == index.keys and loaded.labels == index.labels
    assert loaded.find("CGT").position.tolist() == [1, 0]


@pytest.mark.parametrize(
    "args, message",
    [
        ((["a", "b"], ["AC"], [{"x"}, {"x"}]), "must be as many"),
        ((["a", "a"], ["AC", "GT"], [{"x"}, {"x"}]), "duplicate key 'a'"),
        ((["a", "b"], ["AC", ""], [{"x"}, {"x"}]), "entry 'b' has no sequence"),
        ((["a", "b"], ["AC", "G\nT"], [{"x"}, {"x"}]), "entry 'b': a newline at position 2"),
        (([], [], []), "at least one entry"),
    ],
)
def test_bad_entries(args, message):
    with pytest.raises(IndexBuildError, match=message):
        SubstringIndex(*args, cache=False)
