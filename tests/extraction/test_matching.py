from __future__ import annotations

import numpy as np
import pytest

from esco_skill_extractor.cache.recipe import VIEW_BLOB, VIEW_LABEL, ViewTable
from esco_skill_extractor.extraction import matching
from esco_skill_extractor.extraction.matching import ConceptIndex, MatchConfig


def make_index(rng: np.random.Generator, views_per_concept: list[int]) -> ConceptIndex:
    owners, kinds, texts = [], [], []
    for concept, n_labels in enumerate(views_per_concept):
        for j in range(n_labels):
            owners.append(concept)
            kinds.append(VIEW_LABEL)
            texts.append(f"label {concept} {j}")
        owners.append(concept)
        kinds.append(VIEW_BLOB)
        texts.append(f"blob {concept}")
    table = ViewTable(
        tuple(f"uri:{i}" for i in range(len(views_per_concept))),
        tuple(texts),
        np.asarray(owners, dtype=np.int32),
        np.asarray(kinds, dtype=np.int8),
    )
    vectors = rng.normal(size=(len(texts), 8)).astype(np.float16)
    labels = [(o, t) for o, k, t in zip(owners, kinds, texts, strict=True) if k == VIEW_LABEL]
    return ConceptIndex(table, vectors, labels)


@pytest.mark.parametrize("chunk", [3, 7, 1000])
def test_dense_matches_brute_force(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(matching, "_CHUNK_ROWS", chunk)
    rng = np.random.default_rng(0)
    index = make_index(rng, [1, 3, 2, 5, 1, 4])
    queries = rng.normal(size=(4, 8)).astype(np.float32)
    config = MatchConfig(label_weight=1.0, blob_weight=0.5)
    score, view = index.dense(queries, config)
    sims = queries @ index.vectors.astype(np.float32).T
    owners, kinds = index.table.owners, index.table.kinds
    for c in range(index.size):
        labels = np.flatnonzero((owners == c) & (kinds == VIEW_LABEL))
        blob = np.flatnonzero((owners == c) & (kinds == VIEW_BLOB))[0]
        best = labels[sims[:, labels].argmax(axis=1)]
        expected = (sims[np.arange(4), best] + 0.5 * sims[:, blob]) / 1.5
        np.testing.assert_allclose(score[:, c], expected, rtol=1e-5, atol=1e-6)
        assert (view[:, c] == best).all()
    subset = np.asarray([3, 0, 5])
    sub_score, sub_view = index.dense_subset(queries, subset, config)
    np.testing.assert_allclose(sub_score, score[:, subset], rtol=1e-5, atol=1e-6)
    assert (sub_view == view[:, subset]).all()


def test_score_sentence_keeps_best_first_with_spans() -> None:
    rng = np.random.default_rng(1)
    index = make_index(rng, [2, 2, 2])
    config = MatchConfig(bm25_weight=0.0, verbatim_boost=0.0, shortlist=0)
    rows = rng.normal(size=(2, 8)).astype(np.float32)
    hits = index.score_sentence(
        "label 1 0 and more",
        index.coarse(rows),
        rows,
        [(0, 18), (0, 9)],
        np.zeros((0, 8), np.float32),
        [],
        config,
        keep=3,
    )
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all((h.start, h.end) in [(0, 18), (0, 9)] for h in hits)
    assert all(0.0 <= h.score <= 1.0 for h in hits)


def test_half_to_float_is_exact_for_every_finite_float16() -> None:
    half = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    half = half[np.isfinite(half)].reshape(-1, 62)
    fast = matching._half_to_float(half)
    assert fast.dtype == np.float32 and fast.shape == half.shape
    assert (fast.view(np.uint32) == half.astype(np.float32).view(np.uint32)).all()


def test_float32_vectors_score_like_float16_ones() -> None:
    rng = np.random.default_rng(2)
    index = make_index(rng, [2, 1, 3])
    twin = ConceptIndex(
        index.table,
        index.vectors.astype(np.float32),
        [(o, t) for o, t in zip(index.table.owners, index.table.texts, strict=True) if t.startswith("label")],
    )
    queries = rng.normal(size=(3, 8)).astype(np.float32)
    config = MatchConfig()
    for got, want in zip(twin.dense(queries, config), index.dense(queries, config), strict=True):
        np.testing.assert_array_equal(got, want)


def test_best_views_pick_the_first_best_label_of_each_pair() -> None:
    rng = np.random.default_rng(3)
    index = make_index(rng, [3, 0, 2, 5, 1])  # concept 1 has no label: its blob stands in
    queries = rng.normal(size=(4, 8)).astype(np.float32)
    concepts = np.asarray([4, 1, 3, 0])
    found = index._dense(queries, concepts, MatchConfig())
    rows, columns = np.asarray([0, 3, 2, 1, 2]), np.asarray([2, 1, 0, 3, 2])
    got = index._best_views(found, concepts, rows, columns)
    sims = queries @ index.vectors.astype(np.float32).T
    owners, kinds = index.table.owners, index.table.kinds
    for view, row, column in zip(got, rows, columns, strict=True):
        concept = concepts[column]
        labels = np.flatnonzero((owners == concept) & (kinds == VIEW_LABEL))
        blob = np.flatnonzero((owners == concept) & (kinds == VIEW_BLOB))[0]
        assert view == (labels[sims[row, labels].argmax()] if len(labels) else blob)


def test_candidates_keep_the_best_first_pass_lexical_and_verbatim_concepts() -> None:
    rng = np.random.default_rng(4)
    index = make_index(rng, [1] * 400)
    coarse = np.linspace(0.0, 1.0, 400, dtype=np.float32)[np.newaxis, :]  # concept i scores i/399
    lexical = np.zeros(400, dtype=np.float32)
    lexical[[3, 7]] = [0.1, 0.05]  # far below the first-pass cut: kept for BM25 alone
    config = MatchConfig(candidates=50, shortlist=40)
    chosen = index._candidates(coarse, lexical, [11], config, keep=10)
    assert (np.diff(chosen) > 0).all()  # sorted, each once
    assert set(range(350, 400)) <= set(chosen.tolist())
    assert {3, 7, 11} <= set(chosen.tolist()) and len(chosen) == 53
    assert len(index._candidates(coarse, lexical, [], config, keep=120)) >= 120  # keep wins
    every = index._candidates(coarse, lexical, [], MatchConfig(candidates=0), keep=10)
    assert (every == np.arange(400)).all()
