"""The parity set and the search the JavaScript client repeats (pure, no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from esco_skill_extractor.export import parity_texts, top_concepts
from esco_skill_extractor.taxonomy import load_taxonomy


def test_parity_texts_are_distinct_deterministic_and_varied(esco_mini: Path, tmp_path: Path) -> None:
    taxonomy = load_taxonomy(esco_mini, cache_dir=tmp_path)
    texts = parity_texts(taxonomy)
    again = parity_texts(load_taxonomy(esco_mini, cache_dir=tmp_path / "again"))
    assert [t.text for t in texts] == [t.text for t in again]
    assert len({t.text for t in texts}) == len(texts)
    sources = {t.source for t in texts}
    assert sources == {"skill-label", "occupation-label", "translated-label", "sentence", "long-text"}
    assert {"de", "fr", "es"} <= {t.language for t in texts}
    labels = {s.preferred_label for s in taxonomy.skills.values()}
    assert sum(t.text in labels for t in texts) >= 20
    translated = [t for t in texts if t.source == "translated-label"]
    assert translated and all(t.language == "de" for t in translated)
    assert min(len(t.text) for t in texts if t.source == "long-text") > 2000  # past any token limit


@pytest.mark.slow
def test_the_full_taxonomy_gives_a_few_hundred_texts(full_taxonomy) -> None:  # type: ignore[no-untyped-def]
    texts = parity_texts(full_taxonomy)
    assert 200 <= len(texts) <= 400
    assert sum(t.source == "skill-label" for t in texts) >= 100


def test_a_concept_scores_its_best_view_and_ties_keep_concept_order() -> None:
    vectors = np.array([[1, 0], [0, 1], [0.6, 0.8], [0, 1], [1, 0]], dtype=np.float16)
    owners = np.array([0, 0, 1, 2, 3])
    query = np.array([[0.0, 1.0]], dtype=np.float32)
    [hits] = top_concepts(query, vectors, owners, 4, 3)
    assert [c for c, _ in hits] == [0, 2, 1]  # 0 and 2 tie at 1.0: the lower index first
    assert [round(s, 3) for _, s in hits] == [1.0, 1.0, 0.8]
    assert len(top_concepts(query, vectors, owners, 4, 10)[0]) == 4


def test_views_must_be_contiguous_and_cover_every_concept() -> None:
    query = np.ones((1, 2), dtype=np.float32)
    with pytest.raises(ValueError, match="contiguous"):
        top_concepts(query, np.ones((3, 2)), np.array([0, 1, 0]), 2, 1)
    with pytest.raises(ValueError, match="at least one view"):
        top_concepts(query, np.ones((2, 2)), np.array([0, 0]), 2, 1)
