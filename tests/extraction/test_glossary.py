"""English glosses learned from parallel labels, and the scorer that reads them."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from esco_skill_extractor.extraction import glossary as glossary_module
from esco_skill_extractor.extraction.glossary import (
    Glossaries,
    Glossary,
    align,
    learn_glossary,
    load_glossary,
    parallel_texts,
)
from esco_skill_extractor.extraction.matching import Hits
from esco_skill_extractor.extraction.routing import GlossingScorer
from esco_skill_extractor.extraction.scoring import KEEP, ScoredSentence, SentenceHits
from esco_skill_extractor.taxonomy import load_taxonomy

MINI = Path(__file__).parents[1] / "data" / "esco_mini"

PAIRS = [
    ("Datenbanken verwalten", "manage databases"),
    ("Datenbank entwerfen", "design database"),
    ("Netzwerk verwalten", "manage network"),
    ("Netzwerk entwerfen", "design network"),
    ("Personal verwalten", "manage staff"),
    ("Verwaltung von Datenbanken", "database management"),
    ("Verwaltung des Personals", "staff management"),
    ("Erfahrung mit SQL", "experience with SQL"),
    ("Erfahrung mit Java", "experience with Java"),
]
ENGLISH_LABELS = ["SQL", "SQL", "SQL", "Java", "use Java", "Java"]


@pytest.fixture(scope="module")
def german() -> Glossary:
    return learn_glossary(PAIRS, "de", ENGLISH_LABELS)


def test_alignment_finds_each_words_translation() -> None:
    # source words 1..3: verwalten, datenbank, netzwerk; target words 0..2: manage, database, network
    sources = [[2, 1], [3, 1], [2], [3]]
    targets = [[1, 0], [2, 0], [1], [2]]
    source, target, probability = align(sources, targets)
    best = {
        int(s): int(target[source == s][np.argmax(probability[source == s])]) for s in np.unique(source) if s
    }
    assert best == {1: 0, 2: 1, 3: 2}
    for s in np.unique(source):  # each source word's probabilities sum to one
        assert probability[source == s].sum() == pytest.approx(1.0)


def test_alignment_of_nothing_is_empty() -> None:
    source, target, probability = align([], [])
    assert len(source) == len(target) == len(probability) == 0


def test_words_are_glossed_and_unknown_words_stay(german: Glossary) -> None:
    assert german.words["verwalten"] == "manage"
    assert german.words["datenbank"] == "database"  # lemmatised: "Datenbanken" taught it too
    assert german.gloss("Datenbanken verwalten").text == "database manage"
    assert german.gloss("Kaffee kochen").text == "Kaffee kochen"  # unknown: as they are


def test_words_of_the_english_labels_stay_themselves(german: Glossary) -> None:
    assert "sql" in german.english and "java" in german.english
    words = german.gloss("Erfahrung mit SQL und Java").text.split()
    assert (words[0], words[2:]) == ("experience", ["SQL", "und", "Java"])  # "und": never taught


def test_hyphens_elisions_and_compounds(german: Glossary) -> None:
    assert german.gloss("SQL-Erfahrung").text == "SQL experience"  # unknown as a whole: part by part
    assert german.gloss("Netzwerkverwaltung").text == "network management"  # a compound of two known words
    assert german.gloss("Datenbankenverwaltung").text == "database management"  # with a linking "en"
    french = learn_glossary([("l'expérience", "experience"), ("expérience", "experience")], "fr", [])
    assert french.gloss("d'expérience").text == "d experience"
    assert french.gloss("Datenbankverwaltung").text == "Datenbankverwaltung"  # French has no compounds


def test_compound_parts_and_long_words() -> None:
    glossary = Glossary("de", {"netzwerk": "network", "amt": "office"}, frozenset(), frozenset())
    assert glossary.gloss("Netzwerkamt").text == "network office"  # a three-letter head
    assert glossary.gloss("Amtnetzwerk").text == "office network"
    long = "netzwerk" * 6  # past the longest compound tried: left as it is, not cut 40 ways
    assert glossary.gloss(long).text == long


def test_gloss_words_point_at_their_source_words(german: Glossary) -> None:
    text = "Wir suchen: SQL-Erfahrung, Netzwerkverwaltung!"
    gloss = german.gloss(text)
    assert " ".join(gloss.text[row[0] : row[1]] for row in gloss.pieces.tolist()) == gloss.text
    # "experience" stands for "Erfahrung", "network management" for the compound
    at = gloss.text.index("experience")
    starts, ends = gloss.source_spans(np.array([at]), np.array([at + len("experience")]), (0, len(text)))
    assert text[starts[0] : ends[0]] == "Erfahrung"
    at = gloss.text.index("network management")
    starts, ends = gloss.source_spans(np.array([at, at]), np.array([at + 7, at + 18]), (0, len(text)))
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)] == ["Netzwerkverwaltung"] * 2
    # a span across words reaches from the first to the last; one over no word is the whole
    starts, ends = gloss.source_spans(
        np.array([0, len(gloss.text) + 5]), np.array([len(gloss.text), len(gloss.text) + 9]), (0, len(text))
    )
    assert (starts.tolist(), ends.tolist()) == ([0, 0], [len(text) - 1, len(text)])


def test_an_empty_text_glosses_to_nothing(german: Glossary) -> None:
    gloss = german.gloss(" -- ")
    assert gloss.text == "" and gloss.pieces.shape == (0, 4)
    starts, ends = gloss.source_spans(np.array([0]), np.array([3]), (0, 4))
    assert (starts.tolist(), ends.tolist()) == ([0], [4])


def test_parallel_texts_of_the_taxonomy() -> None:
    taxonomy = load_taxonomy(MINI, snapshot=False)
    pairs = parallel_texts(taxonomy, "de")
    assert ("Haskell", "Haskell") in pairs
    assert any(source.startswith("Techniken und Grundsätze") for source, _ in pairs)  # descriptions
    assert parallel_texts(taxonomy, "fr") == []


def test_a_learned_glossary_is_saved_and_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taxonomy = load_taxonomy(MINI, snapshot=False)
    learned = load_glossary(taxonomy, "de", tmp_path)
    assert learned is not None and learned.words
    [saved] = tmp_path.glob("glossary-*.json")
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind

    def must_not_learn(*args: object) -> Glossary:
        raise AssertionError("learned again")

    monkeypatch.setattr(glossary_module, "learn_glossary", must_not_learn)
    assert load_glossary(taxonomy, "de", tmp_path) == learned
    assert load_glossary(taxonomy, "fr", tmp_path) is None  # no French labels: nothing to learn


def test_an_unreadable_glossary_is_learned_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    taxonomy = load_taxonomy(MINI, snapshot=False)
    learned = load_glossary(taxonomy, "de", tmp_path)
    [saved] = tmp_path.glob("glossary-*.json")
    state = json.loads(saved.read_text(encoding="utf-8"))
    for broken in (
        "{not json",
        "[]",
        "null",
        json.dumps({"format": 0}),
        json.dumps({"format": 1, "words": [1]}),
        json.dumps(state | {"sure": "abc"}),
        json.dumps(state | {"language": 1}),
    ):
        saved.write_text(broken, encoding="utf-8")
        with caplog.at_level(logging.WARNING):
            assert load_glossary(taxonomy, "de", tmp_path) == learned
        assert "learning it again" in caplog.text
        caplog.clear()
    assert Glossary.from_state(json.loads(saved.read_text(encoding="utf-8"))) == learned  # saved again


def test_glossaries_are_learned_once_per_language() -> None:
    glossaries = Glossaries(load_taxonomy(MINI, snapshot=False), None)
    assert glossaries.get("en") is None
    assert glossaries.get("de") is glossaries.get("de") is not None
    for other in ("fr", "xx", ""):  # no labels in them: nothing learned, nothing kept
        assert glossaries.get(other) is None
    assert list(glossaries._glossaries) == ["de"]


class Recorder:
    """A scorer that records what it reads and finds one concept per sentence, on the word
    "experience" (or the whole sentence when it lacks it)."""

    def __init__(self) -> None:
        self.read: list[tuple[str, str]] = []

    def score_documents(
        self, texts: Sequence[str], languages: Sequence[str], keep: int = KEEP
    ) -> list[list[ScoredSentence]]:
        self.read += list(zip(texts, languages, strict=True))
        out = []
        for text in texts:
            at = text.find("experience")
            start, end = (at, at + len("experience")) if at >= 0 else (0, len(text))
            found = Hits(np.array([7]), np.array([0.5]), np.array([start]), np.array([end]), np.array([3]))
            out.append([(0, len(text), SentenceHits(found, found, np.ones(2)))] if text else [])
        return out

    def clear(self) -> None:
        self.read.clear()


class OneGlossary:
    def __init__(self, glossary: Glossary) -> None:
        self.glossary = glossary

    def get(self, language: str) -> Glossary | None:
        return self.glossary if language == "de" else None


def test_the_scorer_reads_glosses_and_points_into_the_original(german: Glossary) -> None:
    inner = Recorder()
    scorer = GlossingScorer(inner, OneGlossary(german))  # type: ignore[arg-type]
    text = "Wir suchen Leute. SQL-Erfahrung ist ein Plus."
    [sentences] = scorer.score_documents([text], ["de"])
    assert inner.read == [("Wir suchen Leute", "en"), ("SQL experience ist ein Plus", "en")]  # words only
    (s1, e1, first), (s2, e2, second) = sentences
    assert text[s1:e1] == "Wir suchen Leute." and text[s2:e2] == "SQL-Erfahrung ist ein Plus."
    sentence = text[s2:e2]
    hit = next(iter(second.skills))
    assert sentence[hit.start : hit.end] == "Erfahrung" and hit.score == pytest.approx(0.5)
    assert (hit.concept, hit.view) == (7, 3)
    whole = next(iter(first.skills))  # the recorder's whole-gloss span: the whole sentence's words
    assert text[s1:e1][whole.start : whole.end] == "Wir suchen Leute"


def test_languages_without_a_glossary_are_read_as_they_are(german: Glossary) -> None:
    inner = Recorder()
    scorer = GlossingScorer(inner, OneGlossary(german))  # type: ignore[arg-type]
    text = "Une expérience en SQL. Un plus."
    [sentences] = scorer.score_documents([text], ["fr"])
    assert inner.read == [("Une expérience en SQL.", "fr"), ("Un plus.", "fr")]
    assert [text[s:e] for s, e, _ in sentences] == ["Une expérience en SQL.", "Un plus."]
    hit = next(iter(sentences[0][2].skills))
    assert (hit.start, hit.end) == (0, len("Une expérience en SQL."))


class Splitter(Recorder):
    """Reads each text as two sentences, each finding its own concept."""

    def score_documents(
        self, texts: Sequence[str], languages: Sequence[str], keep: int = KEEP
    ) -> list[list[ScoredSentence]]:
        out = []
        for text in texts:
            half = len(text) // 2
            parts = []
            for concept, (start, end) in enumerate(((0, half), (half, len(text)))):
                found = Hits(
                    np.array([concept]),
                    np.array([0.5 - concept / 8]),
                    np.array([0]),
                    np.array([end - start]),
                    np.array([0]),
                )
                parts.append((start, end, SentenceHits(found, found, None)))
            out.append(parts)
        return out


def test_a_gloss_read_as_several_sentences_keeps_the_best(german: Glossary) -> None:
    text = "Datenbanken verwalten, Netzwerk entwerfen"
    for keep, concepts in ((1, [0]), (5, [0, 1])):
        [[(start, end, hits)]] = GlossingScorer(Splitter(), OneGlossary(german)).score_documents(  # type: ignore[arg-type]
            [text], ["de"], keep
        )
        assert hits.skills.concepts.tolist() == concepts
        for hit in hits.skills:
            assert 0 <= hit.start < hit.end <= end - start
