from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from esco_skill_extractor.extraction.segmentation import (
    segment_text,
    split_clauses,
    split_sentences,
)

WORD = re.compile(r"\w+")


def words_of(text: str) -> list[str]:
    return WORD.findall(text)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
@settings(max_examples=300, deadline=None)
def test_offsets_point_at_the_right_characters(text: str) -> None:
    for segment in segment_text(text, max_chars=80):
        assert text[segment.start : segment.end] == segment.text
        assert 0 <= segment.start < segment.end <= len(text)
        assert segment.text == segment.text.strip()


@given(
    st.lists(
        st.sampled_from(
            [
                "standard",
                "order",
                "Android",
                "and",
                "or",
                "brand",
                "sand",
                ",",
                ".",
                "organise",
                "Oracle",
                "operations",
                "\n",
                "-",
                "band",
                "as",
                "well",
                "such",
                "including",
                "e.g.",
                "Node.js",
            ]
        ),
        max_size=60,
    )
)
@settings(max_examples=300, deadline=None)
def test_never_splits_inside_a_word(pieces: list[str]) -> None:
    text = " ".join(pieces)
    whole_words = set(words_of(text))
    for segment in segment_text(text, max_chars=60):
        for word in words_of(segment.text):
            assert word in whole_words, (word, text)
        # segment boundaries fall on word boundaries
        before = text[segment.start - 1] if segment.start else " "
        after = text[segment.end] if segment.end < len(text) else " "
        assert not (before.isalnum() and segment.text[0].isalnum())
        assert not (after.isalnum() and segment.text[-1].isalnum())


def test_words_with_conjunction_letters_survive() -> None:
    text = "Knowledge of standard order processing on Android and iOS"
    clauses = [text[s:e] for s, e in split_clauses(text, 0, len(text))]
    assert clauses == ["Knowledge of standard order processing on Android", "iOS"]


def test_sentences_bullets_and_clauses() -> None:
    text = "We need Python and SQL. Team player!\n- Java\n• Git & Docker as well as CI/CD\n2. Excel"
    sentences = [text[s:e] for s, e in split_sentences(text)]
    assert sentences == [
        "We need Python and SQL.",
        "Team player!",
        "Java",
        "Git & Docker as well as CI/CD",
        "Excel",
    ]
    segments = segment_text(text)
    clauses = [s.text for s in segments if s.level == "clause" and s.sentence == 3]
    assert clauses == ["Git", "Docker", "CI/CD"]


def test_abbreviations_and_decimals_do_not_end_sentences() -> None:
    text = "Tools e.g. Node.js and ASP.NET, version 3.5 preferred."
    assert [text[s:e] for s, e in split_sentences(text)] == [text]


def test_long_sentences_are_cut_at_whitespace() -> None:
    text = " ".join(["word"] * 1000)
    spans = split_sentences(text, max_chars=100)
    assert all(e - s <= 100 for s, e in spans)
    assert " ".join(text[s:e] for s, e in spans) == text


def test_empty_and_whitespace() -> None:
    assert segment_text("") == []
    assert segment_text("   \n\t ") == []
    assert segment_text("!!! ...") == []


def test_non_english_and_emoji() -> None:
    text = "😀 Teamfähigkeit und Kommunikation; travail d'équipe et communication"
    clauses = [s.text for s in segment_text(text) if s.level == "clause"]
    assert clauses == ["😀 Teamfähigkeit", "Kommunikation", "travail d'équipe", "communication"]
