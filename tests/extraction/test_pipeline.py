from __future__ import annotations

from pathlib import Path

import pytest

from esco_skill_extractor import Extraction, SkillExtractor
from esco_skill_extractor.embedding.fake import FakeEmbedder
from esco_skill_extractor.errors import InputError
from esco_skill_extractor.taxonomy import load_taxonomy

PYTHON = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
JOB_AD = (
    "We are hiring a software developer.\n"
    "- Python and SQL\n"
    "- Teamwork principles, communication\n"
    "Experience with Java (computer programming) is a plus."
)


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    root = tmp_path_factory.mktemp("extract")
    taxonomy = load_taxonomy(Path(__file__).parents[1] / "data" / "esco_mini", snapshot=False)
    return SkillExtractor(
        embedder=FakeEmbedder(dim=64),
        taxonomy=taxonomy,
        cache_dir=root,
        skills_threshold=0.5,
        occupation_threshold=0.4,
        show_progress=False,
    )


def test_evidence_offsets_point_into_the_text(extractor: SkillExtractor) -> None:
    [result] = extractor.extract([JOB_AD])
    assert isinstance(result, Extraction)
    assert result.skills, "the job ad names skills verbatim"
    for match in [*result.skills, *result.occupations]:
        for evidence in match.evidence:
            assert JOB_AD[evidence.start : evidence.end] == evidence.text
    python = next(m for m in result.skills if m.uri == PYTHON)
    assert python.evidence[0].text == "Python"
    assert python.skill_type == "knowledge"
    assert "digital" in python.collections


def test_scores_are_sorted_and_above_threshold(extractor: SkillExtractor) -> None:
    [result] = extractor.extract([JOB_AD])
    scores = [m.score for m in result.skills]
    assert scores == sorted(scores, reverse=True)
    assert all(0.5 <= s <= 1 for s in scores)
    stricter = extractor.extract([JOB_AD], skills_threshold=0.8)[0]
    assert {m.uri for m in stricter.skills} < {m.uri for m in result.skills}
    assert len(extractor.extract([JOB_AD], max_results=1)[0].skills) == 1


def test_drop_in_api_shapes(extractor: SkillExtractor) -> None:
    texts = [JOB_AD, "", "   "]
    skills = extractor.get_skills(texts)
    occupations = extractor.get_occupations(texts)
    for result in (skills, occupations):
        assert isinstance(result, list) and len(result) == 3
        assert all(isinstance(row, list) for row in result)
        assert all(isinstance(uri, str) for row in result for uri in row)
    assert PYTHON in skills[0]
    assert skills[1] == skills[2] == [] and occupations[1] == []
    assert extractor.get_skills([]) == []


def test_deterministic(extractor: SkillExtractor) -> None:
    first = [e.to_dict() for e in extractor.extract([JOB_AD, "Cook wanted"])]
    extractor.clear_segment_cache()
    second = [e.to_dict() for e in extractor.extract([JOB_AD, "Cook wanted"])]
    assert first == second


def test_repeated_sentences_are_scored_once(tmp_path: Path) -> None:
    embedder = FakeEmbedder(dim=32)
    taxonomy = load_taxonomy(Path(__file__).parents[1] / "data" / "esco_mini", snapshot=False)
    extractor = SkillExtractor(embedder=embedder, taxonomy=taxonomy, cache_dir=tmp_path, show_progress=False)
    extractor.extract([JOB_AD])
    before = embedder.texts_embedded
    extractor.extract([JOB_AD, JOB_AD])
    assert embedder.texts_embedded == before


def test_label_language_with_fallback(extractor: SkillExtractor) -> None:
    [result] = extractor.extract([JOB_AD], language="de")
    python = next(m for m in result.skills if m.uri == PYTHON)
    assert python.label == "Python (Computerprogrammierung)"
    [english] = extractor.extract([JOB_AD], language="en")
    [unknown] = extractor.extract([JOB_AD], language="xx")
    assert [m.label for m in unknown.skills] == [m.label for m in english.skills]


def test_occupations_named_and_inferred(extractor: SkillExtractor) -> None:
    taxonomy = extractor.taxonomy
    cook = next(o for o in taxonomy.occupations.values() if o.preferred_label == "cook")
    essentials = [taxonomy.skills[u].preferred_label for u in taxonomy.essential_skills(cook.uri)]
    text = ". ".join(essentials)
    [result] = extractor.extract([text])
    found = {m.uri: m for m in result.occupations}
    assert cook.uri in found
    assert found[cook.uri].source in ("skills", "text+skills")
    assert found[cook.uri].essential_skills_found
    assert found[cook.uri].essential_skills_total == len(essentials)
    [named] = extractor.extract(["Cook wanted for our kitchen"])
    assert named.occupations and named.occupations[0].uri == cook.uri
    assert named.occupations[0].evidence[0].text


def test_rank_uses_the_same_scores(extractor: SkillExtractor) -> None:
    [ranked] = extractor.rank_skills([JOB_AD], top_k=5)
    assert len(ranked) == 5
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    [result] = extractor.extract([JOB_AD], skills_threshold=0.0)
    scores = {m.uri: m.score for m in result.skills}
    for uri, score in ranked:
        assert abs(scores[uri] - score) < 1e-3
    assert len(extractor.rank_occupations(["cook"], top_k=3)[0]) == 3
    assert len(extractor.rank_skills(["python"], top_k=500)[0]) == len(extractor.taxonomy.skills)


def test_occupations_rank_as_extract_orders_them(extractor: SkillExtractor) -> None:
    # text, title and skills together: the list extract() returns is the ranking's head
    ad = "Cook (m/w/d) – Hotel\nWe are looking for a cook. You prepare food and keep the kitchen clean."
    [ranked] = extractor.rank_occupations([ad], top_k=10)
    [result] = extractor.extract([ad], occupations_threshold=0.0)
    assert result.occupations and result.occupations[0].source != "text"  # the skills count
    listed = [(m.uri, m.score) for m in result.occupations]
    assert ranked[: len(listed)] == listed
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


def test_search_merges_label_hits(extractor: SkillExtractor) -> None:
    hits = extractor.search("python")
    assert hits[0].uri == PYTHON and hits[0].via in ("label", "label+semantic")
    assert extractor.search("cook", kind="occupation")[0].label == "cook"
    assert extractor.search("   ") == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.get_skills("a single string"), "not one string"),
        (lambda e: e.get_skills([1, 2]), "text 0 is int"),
        (lambda e: e.extract(["x"], skills_threshold=1.5), "in \\[0, 1\\]"),
        (lambda e: e.extract(["x"], occupations_threshold=-0.1), "in \\[0, 1\\]"),
        (lambda e: e.extract(["x"], max_results=0), "max_results"),
        (lambda e: e.rank_skills(["x"], top_k=0), "top_k"),
        (lambda e: e.search("x", kind="nope"), "kind"),
    ],
)
def test_bad_input_raises_input_error(extractor: SkillExtractor, call, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError, match=message):
        call(extractor)


def test_long_non_english_and_emoji_input(extractor: SkillExtractor) -> None:
    long_text = ("Python developer with SQL experience. " * 400) + "😀🚀 " * 50
    [result] = extractor.extract([long_text])
    assert PYTHON in {m.uri for m in result.skills}
    python = next(m for m in result.skills if m.uri == PYTHON)
    assert len(python.evidence) > 1
    for evidence in python.evidence:
        assert long_text[evidence.start : evidence.end] == evidence.text
    [german] = extractor.extract(["Wir suchen einen Koch. Teamfähigkeit und Kommunikation 😀"])
    assert isinstance(german.skills, tuple)
    [emoji] = extractor.extract(["😀🚀🎉"])
    assert emoji.skills == () or all(0 <= m.score <= 1 for m in emoji.skills)


def test_extract_iter_is_lazy(extractor: SkillExtractor) -> None:
    consumed = []

    def texts():  # type: ignore[no-untyped-def]
        for i in range(5):
            consumed.append(i)
            yield f"Python developer {i}"

    iterator = extractor.extract_iter(texts(), batch_size=2)
    first = next(iterator)
    assert consumed == [0, 1]
    assert PYTHON in {m.uri for m in first.skills}
    assert len([first, *iterator]) == 5
