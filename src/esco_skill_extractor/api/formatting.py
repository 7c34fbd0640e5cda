"""Pure functions from the library's results and taxonomy to the API's response models.

No I/O and no model: a taxonomy and typed matches in, pydantic models out. The web pages
(issue 6) can share these formatters.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence

from ..extraction import SearchHit
from ..taxonomy import Occupation, Skill, Taxonomy
from ..types import Evidence, Extraction, OccupationMatch, SkillMatch
from .schemas import (
    ConceptRef,
    EvidenceOut,
    ExtractionOut,
    OccupationDetail,
    OccupationMatchOut,
    OccupationSearchResult,
    RelationCounts,
    RequiredSkills,
    RichOccupation,
    RichSkill,
    SkillDetail,
    SkillMatchOut,
    SkillSearchResult,
    UsedInOccupations,
)

__all__ = [
    "format_extraction",
    "format_occupation_detail",
    "format_occupation_hit",
    "format_processing_time",
    "format_rich_occupation",
    "format_rich_skill",
    "format_skill_detail",
    "format_skill_hit",
    "skill_categories",
]

_EXAMPLES = 3  # occupation names in usedInOccupations.examples
_REQUIRED = 10  # skill names per list in requiredSkills
_SNIPPET = 200  # characters of description in occupation search results
GENERAL = "general"  # the category of a skill in no ESCO collection


def format_processing_time(seconds: float) -> str:
    """``0.4213`` -> ``"0.42s"``, the front end's spelling."""
    return f"{seconds:.2f}s"


def _evidence(spans: Iterable[Evidence]) -> list[EvidenceOut]:
    return [EvidenceOut(start=e.start, end=e.end, text=e.text) for e in spans]


def _names(taxonomy: Taxonomy, uris: Iterable[str], language: str) -> list[str]:
    return [taxonomy.skills[u].label(language) for u in uris if u in taxonomy.skills]


def _ordered(taxonomy: Taxonomy, uris: Iterable[str], first: Sequence[str], language: str) -> list[str]:
    """URIs of ``first`` (in their order) that are in ``uris``, then the rest by name."""
    pool = set(uris)
    head = [u for u in first if u in pool]
    rest = sorted(pool.difference(head), key=lambda u: (_skill_name(taxonomy, u, language), u))
    return head + rest


def _skill_name(taxonomy: Taxonomy, uri: str, language: str) -> str:
    skill = taxonomy.skills.get(uri)
    return skill.label(language) if skill else uri


def used_in_occupations(taxonomy: Taxonomy, skill_uri: str, language: str) -> UsedInOccupations:
    """How many occupations list a skill, with up to three examples (essential first)."""
    relations = taxonomy.occupations_of(skill_uri)
    ranked = heapq.nsmallest(  # a transversal skill may have a thousand occupations
        _EXAMPLES,
        (o for o in relations if o in taxonomy.occupations),
        key=lambda o: (relations[o] != "essential", taxonomy.occupations[o].label(language), o),
    )
    essential = sum(1 for r in relations.values() if r == "essential")
    return UsedInOccupations(
        count=len(relations),
        examples=[taxonomy.occupations[o].label(language) for o in ranked[:_EXAMPLES]],
        breakdown=RelationCounts(essential=essential, optional=len(relations) - essential),
    )


def skill_categories(taxonomy: Taxonomy, occupation_uri: str) -> dict[str, int]:
    """How many of an occupation's skills are in each collection; ``general``: in none."""
    counts: Counter[str] = Counter()
    for uri in taxonomy.skills_of(occupation_uri):
        skill = taxonomy.skills.get(uri)
        if skill is None:
            continue
        counts.update(skill.collections or (GENERAL,))
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


# -- rich results ---------------------------------------------------------------------------
def format_rich_skill(match: SkillMatch, taxonomy: Taxonomy, language: str) -> RichSkill:
    """A skill match with the ESCO data the front end shows next to it."""
    skill = taxonomy.skill(match.uri)
    return RichSkill(
        name=match.label,
        uri=match.uri,
        type=skill.skill_type,
        reuseLevel=skill.reuse_level,
        description=skill.describe(language),
        alternatives=list(skill.labels(language)),
        categories=list(skill.collections),
        usedInOccupations=used_in_occupations(taxonomy, skill.uri, language),
        similarity=match.score,
        matchedLabel=match.matched_label,
        evidence=_evidence(match.evidence),
    )


def format_rich_occupation(match: OccupationMatch, taxonomy: Taxonomy, language: str) -> RichOccupation:
    """An occupation match with its ISCO group, required skills and their categories."""
    occupation = taxonomy.occupation(match.uri)
    relations = taxonomy.skills_of(occupation.uri)
    essential = [u for u, r in relations.items() if r == "essential"]
    optional = [u for u, r in relations.items() if r == "optional"]
    group = taxonomy.isco_group(occupation)
    return RichOccupation(
        name=match.label,
        uri=match.uri,
        iscoGroup=occupation.isco_code,
        iscoGroupName=group.label(language) if group else "",
        description=occupation.describe(language),
        alternatives=list(occupation.labels(language)),
        requiredSkills=RequiredSkills(
            essential=_names(
                taxonomy,
                _ordered(taxonomy, essential, match.essential_skills_found, language)[:_REQUIRED],
                language,
            ),
            optional=_names(
                taxonomy,
                _ordered(taxonomy, optional, match.optional_skills_found, language)[:_REQUIRED],
                language,
            ),
            totalEssential=len(essential),
            totalOptional=len(optional),
            essentialFound=_names(taxonomy, match.essential_skills_found, language),
            optionalFound=_names(taxonomy, match.optional_skills_found, language),
        ),
        skillCategories=skill_categories(taxonomy, occupation.uri),
        similarity=match.score,
        source=match.source,
        evidence=_evidence(match.evidence),
        textScore=match.text_score,
        skillsScore=match.skills_score,
    )


# -- our typed results ----------------------------------------------------------------------
def format_extraction(index: int, extraction: Extraction) -> ExtractionOut:
    """One :class:`Extraction` as JSON (snake_case, the library's names)."""
    return ExtractionOut(
        index=index,
        language=extraction.language,
        skills=[SkillMatchOut.model_validate(m.to_dict()) for m in extraction.skills],
        occupations=[OccupationMatchOut.model_validate(m.to_dict()) for m in extraction.occupations],
    )


# -- search and details ---------------------------------------------------------------------
def format_skill_hit(hit: SearchHit, taxonomy: Taxonomy) -> SkillSearchResult:
    skill = taxonomy.skill(hit.uri)
    return SkillSearchResult(
        name=hit.label,
        uri=hit.uri,
        similarity=hit.score,
        matched=hit.matched,
        via=hit.via,
        type=skill.skill_type,
        reuseLevel=skill.reuse_level,
        categories=list(skill.collections),
    )


def format_occupation_hit(hit: SearchHit, taxonomy: Taxonomy, language: str) -> OccupationSearchResult:
    occupation = taxonomy.occupation(hit.uri)
    description = occupation.describe(language)
    if len(description) > _SNIPPET:
        description = description[:_SNIPPET].rstrip() + "..."
    return OccupationSearchResult(
        name=hit.label,
        uri=hit.uri,
        similarity=hit.score,
        matched=hit.matched,
        via=hit.via,
        iscoGroup=occupation.isco_code,
        description=description,
    )


def _refs(concepts: Iterable[Skill | Occupation], language: str) -> list[ConceptRef]:
    return sorted(
        (ConceptRef(name=c.label(language), uri=c.uri) for c in concepts),
        key=lambda ref: (ref.name.lower(), ref.uri),
    )


def format_skill_detail(skill: Skill, taxonomy: Taxonomy, language: str) -> SkillDetail:
    """Everything ESCO says about a skill, with the occupations that need it."""
    relations = taxonomy.occupations_of(skill.uri)
    occupations = {
        r: [taxonomy.occupations[o] for o, rel in relations.items() if rel == r and o in taxonomy.occupations]
        for r in ("essential", "optional")
    }
    groups = [taxonomy.skill_groups[g] for g in skill.skill_groups if g in taxonomy.skill_groups]
    return SkillDetail(
        name=skill.label(language),
        uri=skill.uri,
        type=skill.skill_type,
        reuseLevel=skill.reuse_level,
        description=skill.describe(language),
        alternatives=list(skill.labels(language)),
        categories=list(skill.collections),
        skillGroups=[ConceptRef(name=g.label(language), uri=g.uri) for g in groups],
        usedInOccupations=used_in_occupations(taxonomy, skill.uri, language),
        essentialFor=_refs(occupations["essential"], language),
        optionalFor=_refs(occupations["optional"], language),
        language=language,
    )


def format_occupation_detail(occupation: Occupation, taxonomy: Taxonomy, language: str) -> OccupationDetail:
    """Everything ESCO says about an occupation, with its essential and optional skills."""
    relations = taxonomy.skills_of(occupation.uri)
    skills = {
        r: [taxonomy.skills[s] for s, rel in relations.items() if rel == r and s in taxonomy.skills]
        for r in ("essential", "optional")
    }
    group = taxonomy.isco_group(occupation)
    return OccupationDetail(
        name=occupation.label(language),
        uri=occupation.uri,
        code=occupation.code,
        iscoGroup=occupation.isco_code,
        iscoGroupName=group.label(language) if group else "",
        description=occupation.describe(language),
        alternatives=list(occupation.labels(language)),
        essentialSkills=_refs(skills["essential"], language),
        optionalSkills=_refs(skills["optional"], language),
        skillCategories=skill_categories(taxonomy, occupation.uri),
        language=language,
    )
