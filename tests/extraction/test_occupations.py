"""A text's occupations from hand-built hits and skills (extraction.occupations): named in
the text, inferred from essential skills found, or both. No embedder."""

from __future__ import annotations

import pytest
from fixtures_api import COOK, PYTHON, SOFTWARE_DEVELOPER
from hits_helpers import found_skill, sentence

from esco_skill_extractor.extraction.occupations import OccupationInference, skills_support
from esco_skill_extractor.extraction.scoring import ScoredSentence
from esco_skill_extractor.taxonomy import Taxonomy
from esco_skill_extractor.types import Evidence, OccupationMatch, SkillMatch

TEXT = "Software developer wanted: project management, store raw food materials."


def skill_uri(taxonomy: Taxonomy, label: str) -> str:
    (uri,) = [s.uri for s in taxonomy.skills.values() if s.preferred_label == label]
    return uri


def inference(taxonomy: Taxonomy) -> OccupationInference:
    return OccupationInference(taxonomy, list(taxonomy.occupations.values()))


def named(taxonomy: Taxonomy, uri: str, score: float, start: int, end: int) -> list[ScoredSentence]:
    """One sentence, the whole text, that names an occupation at ``text[start:end]``."""
    index = list(taxonomy.occupations).index(uri)
    return [sentence(0, len(TEXT), occupations=((index, score, start, end, 0),))]


def run(
    taxonomy: Taxonomy,
    sentences: list[ScoredSentence],
    skills: list[SkillMatch],
    *,
    threshold: float,
    infer: bool = True,
    language: str = "en",
) -> list[OccupationMatch]:
    return inference(taxonomy).matches(
        TEXT, sentences, skills, threshold=threshold, language=language, infer=infer
    )


NOTHING_NAMED = [sentence(0, len(TEXT))]


# -- skills_support -----------------------------------------------------------------------------
def test_skills_support_is_the_mean_score_times_coverage() -> None:
    # two of four essential skills (total 4 + 2/2 = 5): 0.8 * 2/5 + 0.2 * 2/5 = 0.4
    assert skills_support((4, 2), ["a", "b"], [], {"a": 0.875, "b": 0.75}) == 0.325
    # one essential and one optional of (5, 5): found 1.5 of 7.5; 0.8 * 1.5/6 + 0.2 * 1.5/7.5
    assert skills_support((5, 5), ["a"], ["b"], {"a": 0.75, "b": 0.875}) == 0.195


def test_skills_support_counts_optional_skills_half() -> None:
    assert skills_support((4, 2), ["a"], [], {"a": 1.0}) == 0.2
    assert skills_support((4, 2), [], ["a"], {"a": 1.0}) == 0.1


def test_six_essential_skills_are_full_coverage() -> None:
    six = [f"s{i}" for i in range(6)]
    scores = dict.fromkeys(six, 1.0)
    assert skills_support((10, 0), six, [], scores) == 0.92  # 0.8 * 1 + 0.2 * 6/10
    assert skills_support((6, 0), six, [], scores) == 1.0


def test_no_skills_or_no_profile_is_no_support() -> None:
    assert skills_support((4, 2), [], [], {}) == 0.0
    assert skills_support((0, 0), ["a"], [], {"a": 1.0}) == 0.0


# -- OccupationInference ------------------------------------------------------------------------
def test_two_essential_skills_infer_an_occupation(taxonomy: Taxonomy) -> None:
    store = skill_uri(taxonomy, "store raw food materials")
    order = skill_uri(taxonomy, "order supplies")
    skills = [found_skill(order, 0.75), found_skill(store, 0.875)]
    (cook,) = run(taxonomy, NOTHING_NAMED, skills, threshold=0.3)
    assert (cook.uri, cook.label, cook.isco_code) == (COOK, "cook", "5120")
    assert cook.source == "skills"
    assert (cook.score, cook.text_score, cook.skills_score) == (0.325, 0.0, 0.325)
    assert cook.essential_skills_found == (store, order)  # best first
    assert cook.optional_skills_found == ()
    assert (cook.essential_skills_total, cook.optional_skills_total) == (4, 2)
    assert cook.evidence == ()
    assert run(taxonomy, NOTHING_NAMED, skills, threshold=0.33) == []  # support below the threshold


def test_one_essential_skill_does_not_infer_an_occupation_not_named(taxonomy: Taxonomy) -> None:
    order = found_skill(skill_uri(taxonomy, "order supplies"), 0.875)
    nutrition = found_skill(skill_uri(taxonomy, "nutrition"), 0.875)  # optional for cooks
    assert run(taxonomy, NOTHING_NAMED, [order, nutrition], threshold=0.05) == []
    receive = found_skill(skill_uri(taxonomy, "receive kitchen supplies"), 0.875)
    (cook,) = run(taxonomy, NOTHING_NAMED, [order, nutrition, receive], threshold=0.05)
    assert cook.uri == COOK and cook.source == "skills"


def test_a_named_occupation_with_support_combines_text_and_skills(taxonomy: Taxonomy) -> None:
    management = skill_uri(taxonomy, "project management")  # the one essential skill found
    skills = [found_skill(management, 0.75), found_skill(PYTHON, 0.875)]
    sentences = named(taxonomy, SOFTWARE_DEVELOPER, 0.625, 0, 18)
    (developer,) = run(taxonomy, sentences, skills, threshold=0.55, language="de")
    assert developer.uri == SOFTWARE_DEVELOPER
    assert developer.label == "Softwareentwickler/Softwareentwicklerin"
    assert developer.source == "text+skills"
    assert (developer.text_score, developer.skills_score) == (0.625, 0.195)
    assert developer.score == round(1 - (1 - 0.625) * (1 - 0.195), 4) == 0.6981
    assert developer.evidence == (Evidence(0, 18, "Software developer"),)
    assert developer.essential_skills_found == (management,)
    assert developer.optional_skills_found == (PYTHON,)
    assert (developer.essential_skills_total, developer.optional_skills_total) == (5, 5)


def test_a_named_occupation_without_skills_scores_its_text(taxonomy: Taxonomy) -> None:
    sentences = named(taxonomy, SOFTWARE_DEVELOPER, 0.625, 0, 18)
    (developer,) = run(taxonomy, sentences, [], threshold=0.55)
    assert developer.source == "text"
    assert (developer.score, developer.text_score, developer.skills_score) == (0.625, 0.625, 0.0)
    assert run(taxonomy, sentences, [], threshold=0.7) == []


def test_infer_false_ignores_the_skills(taxonomy: Taxonomy) -> None:
    store = skill_uri(taxonomy, "store raw food materials")
    order = skill_uri(taxonomy, "order supplies")
    management = skill_uri(taxonomy, "project management")
    skills = [found_skill(store, 0.875), found_skill(order, 0.75), found_skill(management, 0.75)]
    sentences = named(taxonomy, SOFTWARE_DEVELOPER, 0.625, 0, 18)
    with_skills = run(taxonomy, sentences, skills, threshold=0.3)
    assert [(m.uri, m.source) for m in with_skills] == [(SOFTWARE_DEVELOPER, "text+skills"), (COOK, "skills")]
    (developer,) = run(taxonomy, sentences, skills, threshold=0.3, infer=False)
    assert developer.uri == SOFTWARE_DEVELOPER and developer.source == "text"
    assert (developer.score, developer.skills_score) == (0.625, 0.0)
    assert developer.essential_skills_found == () and developer.optional_skills_found == ()
    assert developer.essential_skills_total == 5  # the profile is still reported


def test_a_weak_mention_with_support_from_skills_is_found(taxonomy: Taxonomy) -> None:
    management = skill_uri(taxonomy, "project management")
    skills = [found_skill(management, 1.0), found_skill(PYTHON, 1.0)]  # support 0.24
    sentences = named(taxonomy, SOFTWARE_DEVELOPER, 0.375, 0, 18)  # under 0.5, over half of it
    (developer,) = run(taxonomy, sentences, skills, threshold=0.5)
    assert developer.source == "text+skills" and developer.score == 0.525  # 1 - 0.625 * 0.76
    assert run(taxonomy, sentences, skills, threshold=0.5, infer=False) == []


@pytest.mark.parametrize("infer", [True, False])
def test_a_mention_below_the_threshold_alone_is_not_an_occupation(taxonomy: Taxonomy, infer: bool) -> None:
    sentences = named(taxonomy, SOFTWARE_DEVELOPER, 0.375, 0, 18)
    assert run(taxonomy, sentences, [], threshold=0.5, infer=infer) == []
