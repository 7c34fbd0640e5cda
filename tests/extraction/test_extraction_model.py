"""Behaviour only a real model shows: the bundled all-MiniLM-L6-v2 on the mini taxonomy."""

from __future__ import annotations

from pathlib import Path

import pytest

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.embedding.spans import embed_with_spans, supports_span_pooling
from esco_skill_extractor.taxonomy import load_taxonomy

pytestmark = pytest.mark.slow

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
JAVA = "http://data.europa.eu/esco/skill/19a8293b-8e95-4de3-983f-77484079c389"


@pytest.fixture(scope="module")
def extractor(bundled_embedder, tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:  # type: ignore[no-untyped-def]
    taxonomy = load_taxonomy(Path(__file__).parents[1] / "data" / "esco_mini", snapshot=False)
    return SkillExtractor(
        embedder=bundled_embedder,
        taxonomy=taxonomy,
        cache_dir=tmp_path_factory.mktemp("model"),
        show_progress=False,
    )


def test_bundled_model_defaults(extractor: SkillExtractor) -> None:
    assert extractor.skills_threshold == 0.6  # measured on the benchmark's dev split
    assert extractor.occupation_threshold == 0.45  # measured on the job ads (benchmarks/occupations.py)


def test_finds_paraphrased_skills_with_evidence(extractor: SkillExtractor) -> None:
    text = "Our kitchen needs a cook. You will write Python scripts and build apps in Java."
    [result] = extractor.extract([text])
    found = {m.uri: m for m in result.skills}
    assert PYTHON in found and JAVA in found
    assert found[PYTHON].evidence[0].text == "Python"
    assert result.occupations[0].label == "cook"


def test_one_concept_per_span(extractor: SkillExtractor) -> None:
    text = "Strong Python skills."
    [result] = extractor.extract([text], skills_threshold=0.3)
    spans = [(e.start, e.end) for m in result.skills for e in m.evidence]
    for i, (a, b) in enumerate(spans):
        for c, d in spans[i + 1 :]:
            assert b <= c or d <= a, "two concepts claim overlapping text"


def test_unrelated_text_finds_nothing(extractor: SkillExtractor) -> None:
    [result] = extractor.extract(["The weather was lovely on Sunday afternoon."])
    assert result.skills == ()


def test_span_pooling_matches_the_models_sentence_vector(bundled_embedder) -> None:  # type: ignore[no-untyped-def]
    assert supports_span_pooling(bundled_embedder)
    text = "We need Python and SQL skills."
    [vectors] = embed_with_spans(bundled_embedder, [text], [[(8, 14), (19, 22)]])
    whole = bundled_embedder.embed([text])[0]
    # the same vector, but for rounding: bfloat16 on a CPU rounds a text padded to 16 tokens
    # (span pooling's padding) a little differently from the same text unpadded
    assert abs(float(vectors[0] @ whole) - 1.0) < 2e-3
    python = bundled_embedder.embed(["Python"])[0]
    assert float(vectors[1] @ python) > 0.5  # the span's pooled vector points at its word


def test_a_document_scores_the_same_alone_and_among_others(bundled_embedder) -> None:  # type: ignore[no-untyped-def]
    # Padding depends on the text alone, so the default precision (bfloat16 where the CPU
    # has it) gives the same numbers whatever shares the batch.
    taxonomy = load_taxonomy(Path(__file__).parents[1] / "data" / "esco_mini", snapshot=False)
    extractor = SkillExtractor(
        embedder=bundled_embedder, taxonomy=taxonomy, show_progress=False, segment_cache_size=0
    )
    texts = [
        "Cook wanted: you prepare meals and keep the kitchen clean.",
        "We are hiring a Python developer who writes SQL and tests code every day.",
        "Nurse for the night shift, administering medication and monitoring patients.",
        "Short.",
    ]
    together = extractor.extract(texts, skills_threshold=0.3)
    for text, result in zip(texts, together, strict=True):
        [alone] = extractor.extract([text], skills_threshold=0.3)
        assert alone.to_dict() == result.to_dict()
    assert any(r.skills for r in together)


def test_german_text_is_read_through_its_gloss_with_spans_in_the_original(tmp_path: Path) -> None:
    from esco_skill_extractor import MatchConfig

    taxonomy = load_taxonomy(Path(__file__).parents[1] / "data" / "esco_mini", snapshot=False)
    text = "Koch/Köchin (m/w/d) gesucht. Sie entwickeln Programme in Python und Java."
    results = {}
    for gloss in (True, False):
        extractor = SkillExtractor(
            model="all-MiniLM-L6-v2",
            taxonomy=taxonomy,
            cache_dir=tmp_path,
            config=MatchConfig(gloss_other_languages=gloss),
            show_progress=False,
        )
        [results[gloss]] = extractor.extract([text])
    glossed = results[True]
    assert glossed.language == "de"
    assert {PYTHON, JAVA} <= {m.uri for m in glossed.skills}
    for match in glossed.skills:
        for evidence in match.evidence:
            assert text[evidence.start : evidence.end] == evidence.text
    assert glossed.occupations[0].label == "Koch/Köchin"
    assert list((tmp_path / "lexical").glob("glossary-*.json"))  # learned once, saved
    # the English model read something else without the gloss: the fused scores differ
    scores = {gloss: {m.uri: m.score for m in r.skills} for gloss, r in results.items()}
    assert scores[True] != scores[False]
