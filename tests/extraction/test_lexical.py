from __future__ import annotations

import numpy as np

from esco_skill_extractor.extraction.lexical import BM25, VerbatimMatcher, terms, terms_with_offsets


def test_terms_fold_case_accents_and_plurals() -> None:
    assert terms("Databases, Équipes and C++") == ["database", "equipe", "and", "c++"]
    text = "Use Node.js daily"
    assert [text[s:e] for _, s, e in terms_with_offsets(text)] == ["Use", "Node.js", "daily"]


def test_verbatim_hits_with_optional_parenthetical() -> None:
    matcher = VerbatimMatcher(
        [(0, "Java (computer programming)"), (1, "project management"), (2, "manage projects")]
    )
    text = "Java developers who like Project Management"
    hits = {(h.owner, text[h.start : h.end]) for h in matcher.find(text)}
    assert hits == {(0, "Java"), (1, "Project Management")}
    assert {h.owner for h in matcher.find("we manage project")} == {2}  # plural-insensitive


def test_bm25_prefers_rarer_terms() -> None:
    bm25 = BM25([["manage", "staff"], ["manage", "budget"], ["python"]])
    scores = bm25.scores(["python", "manage"])
    assert scores.argmax() == 2
    assert np.all(bm25.scores(["unknown"]) == 0)
