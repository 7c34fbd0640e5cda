"""What an ad is for: the title line and role sentences weigh most; a short list returned."""

from __future__ import annotations

import pytest
from fixtures_api import COOK, SOFTWARE_DEVELOPER
from hits_helpers import sentence

from esco_skill_extractor.extraction.occupations import (
    OccupationInference,
    break_ties,
    mask_seniority,
    sentence_weights,
    title_tail,
)
from esco_skill_extractor.taxonomy import Taxonomy
from esco_skill_extractor.types import OccupationMatch

AD = "Software developer (m/w/d)\nOur canteen cook prepares lunch. We offer a team."
TITLE = (0, 26)
BODY = (27, 59)
REST = (60, 74)


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        (AD, [TITLE, BODY, REST], [1.0, 0.5, 0.5]),
        ("Wir suchen eine Köchin. Sie kochen gern.", [(0, 23), (24, 40)], [1.0, 0.5]),
        ("Nous recherchons un développeur. Le poste est à Lyon.", [(0, 32), (33, 53)], [1.0, 0.5]),
        ("Buscamos camarero/a. Horario de tarde.", [(0, 20), (21, 38)], [1.0, 0.5]),
        ("We are looking for a nurse. Nights and weekends.", [(0, 27), (28, 48)], [1.0, 0.5]),
        # no title line and no role phrase (a CV summary): every sentence counts fully
        ("Experienced cook. Worked in hotels.", [(0, 17), (18, 35)], [1.0, 1.0]),
        # a long first line is not a title
        (" ".join(["word"] * 20) + "\nMore.", [(0, 99), (100, 105)], [1.0, 1.0]),
    ],
)
def test_title_and_role_sentences_weigh_most(
    text: str, spans: list[tuple[int, int]], expected: list[float]
) -> None:
    sentences = [sentence(start, end) for start, end in spans]
    assert sentence_weights(text, sentences, 0.5) == expected
    assert sentence_weights(text, sentences, 1.0) == [1.0] * len(spans)


def _index(taxonomy: Taxonomy, uri: str) -> int:
    return list(taxonomy.occupations).index(uri)


def test_the_title_beats_an_occupation_named_in_passing(taxonomy: Taxonomy) -> None:
    developer, cook = _index(taxonomy, SOFTWARE_DEVELOPER), _index(taxonomy, COOK)
    sentences = [
        sentence(*TITLE, occupations=((developer, 0.75, 0, 18, 0),)),
        sentence(*BODY, occupations=((cook, 0.875, 12, 16, 0),)),
    ]
    inference = OccupationInference(taxonomy, list(taxonomy.occupations.values()))

    def ranked(weight: float, margin: float = 0.0) -> list[str]:
        found = inference.matches(
            AD, sentences, [], threshold=0.5, language="en", infer=False, context_weight=weight, margin=margin
        )
        return [m.uri for m in found]

    assert ranked(1.0) == [COOK, SOFTWARE_DEVELOPER]  # every sentence alike: the higher score
    assert ranked(0.75) == [SOFTWARE_DEVELOPER, COOK]  # 0.875 * 0.75 < 0.75
    assert ranked(0.75, margin=0.05) == [SOFTWARE_DEVELOPER]  # the cook is 0.094 behind
    assert ranked(0.75, margin=0.1) == [SOFTWARE_DEVELOPER, COOK]


@pytest.mark.parametrize(
    ("text", "tail"),
    [
        ("Deburring Operator – Precision Engineering\nWe deburr parts.", "– Precision Engineering"),
        ("Koch (m/w/d) – Hotel am See\nWir suchen einen Koch.", "(m/w/d) – Hotel am See"),
        ("Pharmacien adjoint (H/F) – CDI\nNous recherchons.", "(H/F) – CDI"),
        ("Camarero/a de sala, Restaurante\nBuscamos.", ", Restaurante"),
        ("Registered nurse, night shift, administer medication", ", night shift, administer medication"),
        ("Security Officer | Corporate Office\nNights.", "| Corporate Office"),
    ],
)
def test_the_title_tail_qualifies_the_job(text: str, tail: str) -> None:
    found = title_tail(text)
    assert found is not None
    assert text[found[0] : found[1]].strip() == tail


@pytest.mark.parametrize(
    "text",
    [
        "Plumber\nWe fix pipes.",  # a title without qualifiers
        "Brenner / Ofenführer\nZiegelwerk.",  # two names of the job: both are the title
        " ".join(["word"] * 20) + ", more\nBody.",  # a long first line is not a title
        "(m/w/d) Koch\nWir suchen.",  # nothing before the bracket
    ],
)
def test_no_title_tail(text: str) -> None:
    assert title_tail(text) is None


def test_a_hit_reaching_into_the_title_tail_counts_less(taxonomy: Taxonomy) -> None:
    # "Registered nurse, night shift": "nurse, night" must not name a night auditor
    text = "Registered nurse, night shift, administer medication"
    developer, cook = _index(taxonomy, SOFTWARE_DEVELOPER), _index(taxonomy, COOK)
    sentences = [sentence(0, len(text), occupations=((developer, 0.8, 11, 23, 0), (cook, 0.7, 0, 16, 0)))]
    inference = OccupationInference(taxonomy, list(taxonomy.occupations.values()))

    def ranked(weight: float) -> list[tuple[str, float]]:
        found = inference.matches(
            text, sentences, [], threshold=0.5, language="en", infer=False, title_tail_weight=weight
        )
        return [(m.uri, m.score) for m in found]

    assert ranked(1.0) == [(SOFTWARE_DEVELOPER, 0.8), (COOK, 0.7)]
    assert ranked(0.8) == [(COOK, 0.7), (SOFTWARE_DEVELOPER, 0.64)]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("Senior Backend Engineer", "       Backend Engineer"),
        ("Junior Agent – Actors", "       Agent – Actors"),
        ("Erfahrener Koch gesucht, Sr. chef", " " * 11 + "Koch gesucht," + " " * 5 + "chef"),
        ("Ingénieur confirmé (H/F)", "Ingénieur          (H/F)"),
        ("Seniorenheim: Pflegekraft", "Seniorenheim: Pflegekraft"),  # a word that only starts so
    ],
)
def test_seniority_is_masked_in_place(text: str, masked: str) -> None:
    assert mask_seniority(text) == masked and len(mask_seniority(text)) == len(text)


def _match(name: str, score: float, isco: str) -> OccupationMatch:
    return OccupationMatch(name, name, score, isco, "text", (), score, 0.0, (), (), 0, 0)


def test_near_ties_are_broken_by_the_isco_group() -> None:
    # "Profesor de Matemáticas y Física": a lecturer first by a hair, two secondary school
    # teachers (one ISCO unit group) just behind
    matches = [
        _match("mathematics lecturer", 0.62, "2310"),
        _match("mathematics teacher secondary school", 0.60, "2330"),
        _match("physics teacher secondary school", 0.58, "2330"),
        _match("driving instructor", 0.40, "5165"),
    ]
    ranked = break_ties(matches, 0.1)
    assert [m.uri for m in ranked[:3]] == [
        "mathematics teacher secondary school",
        "mathematics lecturer",
        "physics teacher secondary school",
    ]
    assert ranked[-1] == matches[-1]  # not a near-tie: untouched
    assert [m.score for m in ranked] == sorted((m.score for m in ranked), reverse=True)
    assert break_ties(matches, 0.0)[0].uri == "mathematics lecturer"


def test_a_clear_winner_stays_first() -> None:
    matches = [
        _match("cook", 0.80, "5120"),
        _match("kitchen porter", 0.62, "9412"),
        _match("chef", 0.61, "9412"),
    ]
    assert break_ties(matches, 0.1)[0].uri == "cook"
    assert break_ties(matches[:1], 0.1) == matches[:1]
