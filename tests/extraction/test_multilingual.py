"""Labels in other languages: normalisation, detection, per-language lexical indexes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.cache.recipe import VIEW_BLOB, VIEW_LABEL, ViewTable
from esco_skill_extractor.embedding import FakeEmbedder
from esco_skill_extractor.extraction.language import LanguageDetector
from esco_skill_extractor.extraction.lexical import (
    VerbatimMatcher,
    build_lexical,
    label_variants,
    terms,
    terms_with_offsets,
)
from esco_skill_extractor.extraction.lexical_cache import lexical_key
from esco_skill_extractor.extraction.matching import ConceptIndex, MatchConfig
from esco_skill_extractor.taxonomy import load_taxonomy

COOK = "http://data.europa.eu/esco/occupation/90f75f67-495d-49fa-ab57-2f320e251d7e"


def test_english_terms_are_only_folded_and_stemmed() -> None:
    assert terms("Databases, Köchin") == ["database", "kochin"]


@pytest.mark.parametrize(
    ("language", "inflected", "base"),
    [("de", "Datenbanken", "Datenbank"), ("es", "gestiona", "gestionar"), ("fr", "bases", "base")],
)
def test_other_languages_are_lemmatised(language: str, inflected: str, base: str) -> None:
    assert terms(inflected, language) == terms(base, language)
    assert terms(inflected) != terms(base) or language == "fr"  # English rules alone do not


@pytest.mark.parametrize(
    ("text", "language", "kept"),
    [
        ("Camarero/a de sala", "es", ["camarero", "de", "sala"]),
        ("Koch/Köchin im Restaurant", "de", ["koch", "im", "restaurant"]),
        ("Java/Python", "de", ["java", "python"]),  # two words, not a gender pair
        ("Camarero/a", "en", ["camarero", "a"]),  # English text is read as it is
    ],
)
def test_second_forms_of_gender_pairs_are_skipped(text: str, language: str, kept: list[str]) -> None:
    words = terms_with_offsets(text, language)
    assert [w for w, _, _ in words] == kept
    assert all(text[start:end] for _, start, end in words)


def test_gender_pairs_in_labels_give_each_form() -> None:
    assert label_variants("Koch/Köchin", language="de") == ["Koch/Köchin", "Koch", "Köchin"]
    assert label_variants("Camarero/Camarera de sala", bare=False, language="es") == [
        "Camarero/Camarera de sala",
        "Camarero de sala",
        "Camarera de sala",
    ]
    assert label_variants("input/output device", bare=False) == ["input/output device"]


def test_a_german_label_is_found_in_german_text() -> None:
    matcher = VerbatimMatcher([(0, "Koch/Köchin"), (1, "Lebensmittelsicherheit")], language="de")
    text = "Wir suchen eine Köchin (m/w/d). Lebensmittelsicherheit ist Pflicht."
    hits = {(h.owner, text[h.start : h.end]) for h in matcher.find(text)}
    assert hits == {(0, "Köchin"), (1, "Lebensmittelsicherheit")}
    assert not VerbatimMatcher([(0, "Koch/Köchin")]).find("Wir suchen eine Köchin")


def test_lexical_indexes_are_keyed_by_language() -> None:
    labels = [(0, "Koch")]
    assert lexical_key(labels, bare_variants=True) != lexical_key(labels, bare_variants=True, language="de")


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector(["en", "de", "fr", "es"], "en")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Wir suchen eine Pflegefachkraft für den Nachtdienst.", "de"),
        ("Koch (m/w/d)", "de"),
        ("Nous recherchons un développeur web en CDI.", "fr"),
        ("Buscamos camarero/a de sala con experiencia.", "es"),
        ("Experienced cook, HACCP and food safety.", "en"),
        ("", "en"),
        ("12345 !!", "en"),
    ],
)
def test_detection(detector: LanguageDetector, text: str, language: str) -> None:
    assert detector.detect(text) == language


def test_an_unknown_language_reads_as_the_fallback() -> None:
    assert LanguageDetector(["en", "xx"], "en").detect("Wir suchen eine Pflegefachkraft.") == "en"


def _index() -> ConceptIndex:
    labels = [(0, "cook"), (1, "food safety")]
    table = ViewTable(
        ("uri:cook", "uri:safety"),
        ("cook", "blob cook", "food safety", "blob safety"),
        np.asarray([0, 0, 1, 1], dtype=np.int32),
        np.asarray([VIEW_LABEL, VIEW_BLOB, VIEW_LABEL, VIEW_BLOB], dtype=np.int8),
    )
    vectors = np.eye(4, 8, dtype=np.float32)
    german = build_lexical(
        2, [(0, "Koch/Köchin"), (1, "Lebensmittelsicherheit")], bare_variants=True, language="de"
    )
    english = build_lexical(2, labels, bare_variants=True)
    return ConceptIndex(table, vectors, labels, lexical={"en": english, "de": german})


def test_a_sentence_matches_the_labels_of_its_language() -> None:
    index = _index()
    sentence = "Köchin gesucht"
    rows = np.zeros((1, 8), dtype=np.float32)
    args = (
        index.coarse(rows),
        rows,
        [(0, len(sentence))],
        np.zeros((0, 8), np.float32),
        [],
        MatchConfig(),
        2,
    )
    german = index.score_sentence(sentence, *args, language="de")
    english = index.score_sentence(sentence, *args)
    assert german.concepts[0] == 0 and (german.starts[0], german.ends[0]) == (0, 6)
    assert german.views[0] == 0  # the foreign label stands for the preferred label's view
    assert german.scores[0] > english.scores[0]


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    mini = Path(__file__).parents[1] / "data" / "esco_mini"
    return SkillExtractor(
        embedder=FakeEmbedder(dim=64),
        taxonomy=load_taxonomy(mini, snapshot=False),
        cache_dir=tmp_path_factory.mktemp("cache"),
        show_progress=False,
    )


def test_the_language_is_detected_and_can_be_overridden(extractor: SkillExtractor) -> None:
    ad = "Wir suchen einen Koch (m/w/d) für unser Restaurant."
    [detected] = extractor.extract([ad], occupations_threshold=0.3)  # the fake model scores low
    assert detected.language == "de"
    assert detected.occupations and detected.occupations[0].uri == COOK
    assert detected.occupations[0].label == "Koch/Köchin"
    [forced] = extractor.extract([ad], language="en", occupations_threshold=0.3)
    assert forced.language == "en"
    assert all(o.uri != COOK or o.score < detected.occupations[0].score for o in forced.occupations)
    assert extractor.languages == ("en", "de")


@pytest.mark.slow
def test_a_multilingual_model_embeds_every_labels_language(tiny_bge_m3: Path, tmp_path: Path) -> None:
    mini = Path(__file__).parents[1] / "data" / "esco_mini"
    extractor = SkillExtractor(
        model=str(tiny_bge_m3),
        device="cpu",
        taxonomy=load_taxonomy(mini, snapshot=False),
        cache_dir=tmp_path,
        show_progress=False,
    )
    assert extractor.multilingual_model is None  # bge-m3 reads every language itself
    assert extractor.cache.manifest["key"]["recipe_name"] == "labels[de,en]+blob"
    [german] = extractor.extract(["Wir suchen einen Koch (m/w/d)."])
    assert german.language == "de"


@pytest.mark.parametrize(
    "text", ["Koch", "我们正在招聘一名软件开发人员", "ソフトウェア開発者を募集しています。", "-- // --"]
)
def test_short_texts_and_scripts_without_spaces(extractor: SkillExtractor, text: str) -> None:
    [found] = extractor.extract([text])
    assert found.text == text and found.language in extractor.languages
    assert all(text[e.start : e.end] == e.text for m in found.skills for e in m.evidence)
