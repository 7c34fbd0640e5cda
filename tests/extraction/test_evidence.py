"""From hand-built sentence hits to skills (extraction.evidence): collecting spans, claiming
overlapping spans for the best concept, evidence order and matched labels. No embedder."""

from __future__ import annotations

from fixtures_api import PYTHON, SQL
from hits_helpers import sentence, view_of

from esco_skill_extractor.cache.recipe import ViewTable
from esco_skill_extractor.extraction.evidence import (
    claim_spans,
    collect,
    evidence_spans,
    matched_label,
    skill_matches,
)
from esco_skill_extractor.extraction.scoring import ScoredSentence
from esco_skill_extractor.taxonomy import Taxonomy
from esco_skill_extractor.types import Evidence

JAVA = "http://data.europa.eu/esco/skill/19a8293b-8e95-4de3-983f-77484079c389"
TEXT = "We need Python and SQL.\nJava is a plus."  # sentences 0..23 and 24..39


def _hits_in_two_sentences(python: int, sql: int, java: int) -> list[ScoredSentence]:
    """Hits with views 1..5 (any numbers: collect only passes the best one on)."""
    return [
        sentence(0, 23, skills=((python, 0.875, 8, 14, 1), (java, 0.625, 8, 22, 2), (sql, 0.5, 19, 22, 3))),
        sentence(24, 39, skills=((java, 0.75, 0, 4, 4), (python, 0.625, 0, 4, 5))),
    ]


def test_collect_gathers_each_concepts_spans_in_text_offsets() -> None:
    python, sql, java = 0, 1, 2  # concept indexes
    sentences = _hits_in_two_sentences(python, sql, java)
    assert collect(sentences, "skill", 0.5) == {
        python: (0.875, [(0.875, (8, 14)), (0.625, (24, 28))], 1),
        java: (0.75, [(0.625, (8, 22)), (0.75, (24, 28))], 4),  # the view of its best hit
        sql: (0.5, [(0.5, (19, 22))], 3),  # a score at the threshold is kept
    }


def test_a_threshold_drops_lower_hits() -> None:
    python, sql, java = 0, 1, 2  # concept indexes
    sentences = _hits_in_two_sentences(python, sql, java)
    assert collect(sentences, "skill", 0.7) == {
        python: (0.875, [(0.875, (8, 14))], 1),
        java: (0.75, [(0.75, (24, 28))], 4),
    }
    assert collect(sentences, "skill", 0.9) == {}


def test_collect_reads_the_hits_of_the_kind_asked_for() -> None:
    sentences = [sentence(10, 40, skills=((39, 0.875, 0, 6, 1),), occupations=((4, 0.625, 2, 20, 7),))]
    assert collect(sentences, "occupation", 0.5) == {4: (0.625, [(0.625, (12, 30))], 7)}
    assert collect(sentences, "skill", 0.5) == {39: (0.875, [(0.875, (10, 16))], 1)}


def test_overlapping_spans_are_claimed_by_the_best_concept_only() -> None:
    found = {
        0: (0.875, [(0.875, (0, 10)), (0.5, (2, 8))], 5),
        1: (0.75, [(0.75, (5, 15)), (0.625, (20, 25))], 7),
        2: (0.5, [(0.5, (8, 12))], 9),
    }
    assert claim_spans(found) == {
        0: (0.875, [(0.875, (0, 10))], 5),  # its own weaker overlapping hit is dropped too
        1: (0.625, [(0.625, (20, 25))], 7),  # keeps the score of the hit that claimed a span
    }  # concept 2 lost its only span to concept 0


def test_spans_that_only_touch_do_not_overlap() -> None:
    found = {
        0: (0.875, [(0.875, (0, 10))], 1),
        1: (0.75, [(0.75, (10, 20))], 2),
        2: (0.625, [(0.625, (9, 11))], 3),
    }
    assert claim_spans(found) == {0: found[0], 1: found[1]}


def test_evidence_comes_best_first_each_span_once() -> None:
    spans = [(0.5, (24, 28)), (0.875, (19, 22)), (0.5, (24, 28)), (0.875, (8, 14)), (0.625, (19, 22))]
    assert evidence_spans(TEXT, spans) == (
        Evidence(8, 14, "Python"),  # equal scores: the earlier span first
        Evidence(19, 22, "SQL"),
        Evidence(24, 28, "Java"),
    )
    assert evidence_spans(TEXT, []) == ()


def test_matched_label_names_the_label_view_else_the_preferred_label(
    taxonomy: Taxonomy, skill_views: ViewTable
) -> None:
    haskell_index = skill_views.uris.index(
        "http://data.europa.eu/esco/skill/000f1d3d-220f-4789-9c0a-cc742521fb02"
    )
    haskell = list(taxonomy.skills.values())[haskell_index]
    label = view_of(skill_views, haskell_index, "Haskell techniques")
    blob = label + 1  # the views of a concept: its labels, then its blob
    assert skill_views.texts[blob].startswith("Haskell The techniques ")  # preferred label, description
    assert matched_label(skill_views, label, haskell) == "Haskell techniques"
    assert matched_label(skill_views, blob, haskell) == "Haskell"
    assert matched_label(skill_views, -1, haskell) == "Haskell"
    assert matched_label(skill_views, len(skill_views.texts), haskell) == "Haskell"


def _sentences(skill_views: ViewTable) -> list[ScoredSentence]:
    python, sql, java = (skill_views.uris.index(uri) for uri in (PYTHON, SQL, JAVA))
    py_label = view_of(skill_views, python, "Python")
    java_label = view_of(skill_views, java, "Java")
    sql_label = view_of(skill_views, sql, "SQL")
    return [
        sentence(
            0,
            23,
            skills=(
                (python, 0.875, 8, 14, py_label),
                (java, 0.75, 8, 22, java_label),  # overlaps Python and SQL
                (sql, 0.625, 19, 22, sql_label),
            ),
        ),
        sentence(24, 39, skills=((java, 0.5, 0, 4, java_label),)),
    ]


def test_skill_matches_with_one_concept_per_span(taxonomy: Taxonomy, skill_views: ViewTable) -> None:
    skills = list(taxonomy.skills.values())
    matches = skill_matches(
        TEXT,
        _sentences(skill_views),
        skills,
        skill_views,
        threshold=0.5,
        language="de",
        one_concept_per_span=True,
    )
    assert [(m.uri, m.score) for m in matches] == [(PYTHON, 0.875), (SQL, 0.625), (JAVA, 0.5)]
    python, _, java = matches
    assert python.label == "Python (Computerprogrammierung)" and python.matched_label == "Python"
    assert (python.skill_type, python.reuse_level, python.collections) == (
        "knowledge",
        "sector-specific",
        ("digital",),
    )
    assert python.evidence == (Evidence(8, 14, "Python"),)
    assert java.evidence == (Evidence(24, 28, "Java"),)  # its span over Python went to Python


def test_skill_matches_without_claiming_spans(taxonomy: Taxonomy, skill_views: ViewTable) -> None:
    skills = list(taxonomy.skills.values())
    sentences = _sentences(skill_views)
    matches = skill_matches(
        TEXT, sentences, skills, skill_views, threshold=0.5, language="en", one_concept_per_span=False
    )
    assert [(m.uri, m.score) for m in matches] == [(PYTHON, 0.875), (JAVA, 0.75), (SQL, 0.625)]
    java = matches[1]
    assert java.label == "Java (computer programming)" and java.matched_label == "Java"
    assert java.evidence == (Evidence(8, 22, "Python and SQL"), Evidence(24, 28, "Java"))
    strict = skill_matches(
        TEXT, sentences, skills, skill_views, threshold=0.7, language="en", one_concept_per_span=False
    )
    assert [m.uri for m in strict] == [PYTHON, JAVA]
    assert strict[1].evidence == (Evidence(8, 22, "Python and SQL"),)
