"""Typed model of the ESCO taxonomy: skills, occupations, ISCO groups and their relations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from ..errors import ConceptNotFound

__all__ = [
    "COLLECTIONS",
    "IscoGroup",
    "Occupation",
    "Relation",
    "Skill",
    "SkillGroup",
    "Taxonomy",
    "Translation",
]

Relation = Literal["essential", "optional"]

#: The ESCO skill collections, in the spelling the HTTP API uses.
COLLECTIONS: tuple[str, ...] = ("digital", "green", "transversal", "language", "research", "digComp")

_EMPTY: Mapping[str, Translation] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Translation:
    """Labels of a concept in one language other than the taxonomy's primary language."""

    preferred_label: str
    alt_labels: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class _Labelled:
    uri: str
    preferred_label: str
    alt_labels: tuple[str, ...]
    description: str
    translations: Mapping[str, Translation]

    def label(self, language: str = "en") -> str:
        """The preferred label in ``language`` where ESCO has one, else the primary label."""
        translation = self.translations.get(language)
        return translation.preferred_label if translation else self.preferred_label

    def labels(self, language: str = "en") -> tuple[str, ...]:
        """Alternative labels in ``language`` where ESCO has them, else the primary ones."""
        translation = self.translations.get(language)
        return translation.alt_labels if translation else self.alt_labels

    def describe(self, language: str = "en") -> str:
        """The description in ``language`` where ESCO has one, else the primary one."""
        translation = self.translations.get(language)
        if translation and translation.description:
            return translation.description
        return self.description

    @property
    def all_labels(self) -> tuple[str, ...]:
        """The preferred label followed by the alternative labels (primary language)."""
        return (self.preferred_label, *self.alt_labels)


@dataclass(frozen=True, slots=True)
class Skill(_Labelled):
    """An ESCO skill, competence or knowledge concept."""

    skill_type: str = ""  # "skill/competence", "knowledge" or "" (a few DigComp concepts)
    reuse_level: str = ""  # "transversal", "cross-sector", "sector-specific", "occupation-specific"
    collections: tuple[str, ...] = ()
    broader: tuple[str, ...] = ()  # direct broader concepts (skill groups or skills)
    skill_groups: tuple[str, ...] = ()  # the nearest broader skill groups


@dataclass(frozen=True, slots=True)
class Occupation(_Labelled):
    """An ESCO occupation."""

    isco_code: str = ""  # ISCO-08 unit group code, e.g. "2512"
    code: str = ""  # ESCO occupation code, e.g. "2512.4"


@dataclass(frozen=True, slots=True)
class IscoGroup(_Labelled):
    """An ISCO-08 group (major, sub-major, minor or unit)."""

    code: str = ""


@dataclass(frozen=True, slots=True)
class SkillGroup(_Labelled):
    """A node of the ESCO skills hierarchy."""

    code: str = ""


@dataclass(eq=False)
class Taxonomy:
    """One version of ESCO in memory.

    Concepts are looked up by URI; occupation-skill relations are navigable both ways.
    Build one with :func:`esco_skill_extractor.load_taxonomy`.
    """

    version: str
    content_hash: str
    language: str
    languages: tuple[str, ...]
    skills: Mapping[str, Skill]
    occupations: Mapping[str, Occupation]
    isco_groups: Mapping[str, IscoGroup] = field(default_factory=dict)
    skill_groups: Mapping[str, SkillGroup] = field(default_factory=dict)
    # occupation URI -> {skill URI: relation}; a pair listed twice is kept as essential.
    occupation_skills: Mapping[str, Mapping[str, Relation]] = field(default_factory=dict)
    source: str = ""
    _skill_occupations: dict[str, dict[str, Relation]] = field(init=False, repr=False)
    _isco_by_code: dict[str, IscoGroup] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        inverse: dict[str, dict[str, Relation]] = {}
        for occupation_uri, skills in self.occupation_skills.items():
            for skill_uri, relation in skills.items():
                inverse.setdefault(skill_uri, {})[occupation_uri] = relation
        self._skill_occupations = inverse
        self._isco_by_code = {group.code: group for group in self.isco_groups.values()}

    # -- lookups ---------------------------------------------------------------------------
    def skill(self, uri: str) -> Skill:
        """The skill with this URI; raises :class:`ConceptNotFound`."""
        try:
            return self.skills[uri]
        except KeyError:
            raise ConceptNotFound(f"no skill with URI {uri!r} in ESCO {self.version}") from None

    def occupation(self, uri: str) -> Occupation:
        """The occupation with this URI; raises :class:`ConceptNotFound`."""
        try:
            return self.occupations[uri]
        except KeyError:
            raise ConceptNotFound(f"no occupation with URI {uri!r} in ESCO {self.version}") from None

    def concept(self, uri: str) -> Skill | Occupation | IscoGroup | SkillGroup:
        """Any concept by URI; raises :class:`ConceptNotFound`."""
        for table in (self.skills, self.occupations, self.isco_groups, self.skill_groups):
            found = table.get(uri)
            if found is not None:
                return found
        raise ConceptNotFound(f"no concept with URI {uri!r} in ESCO {self.version}")

    def isco_group(self, occupation: Occupation | str) -> IscoGroup | None:
        """The ISCO-08 unit group of an occupation, if the data has it."""
        if isinstance(occupation, str):
            occupation = self.occupation(occupation)
        return self._isco_by_code.get(occupation.isco_code)

    # -- relations -------------------------------------------------------------------------
    def skills_of(self, occupation_uri: str) -> Mapping[str, Relation]:
        """``{skill URI: "essential"|"optional"}`` for an occupation."""
        return self.occupation_skills.get(occupation_uri, {})

    def essential_skills(self, occupation_uri: str) -> list[str]:
        """URIs of the skills ESCO lists as essential for the occupation."""
        return [u for u, r in self.skills_of(occupation_uri).items() if r == "essential"]

    def optional_skills(self, occupation_uri: str) -> list[str]:
        """URIs of the skills ESCO lists as optional for the occupation."""
        return [u for u, r in self.skills_of(occupation_uri).items() if r == "optional"]

    def occupations_of(self, skill_uri: str) -> Mapping[str, Relation]:
        """``{occupation URI: "essential"|"optional"}`` for a skill."""
        return self._skill_occupations.get(skill_uri, {})

    @property
    def relation_count(self) -> int:
        """The number of distinct (occupation, skill) pairs."""
        return sum(len(skills) for skills in self.occupation_skills.values())

    def collection_counts(self) -> dict[str, int]:
        """How many skills each ESCO collection holds."""
        counts = dict.fromkeys(COLLECTIONS, 0)
        for skill in self.skills.values():
            for name in skill.collections:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def iter_concepts(self) -> Iterator[Skill | Occupation]:
        """Every skill, then every occupation."""
        yield from self.skills.values()
        yield from self.occupations.values()

    def summary(self) -> dict[str, object]:
        """Counts and identity, as ``info --json`` prints them."""
        return {
            "version": self.version,
            "content_hash": self.content_hash,
            "source": self.source,
            "skills": len(self.skills),
            "occupations": len(self.occupations),
            "isco_groups": len(self.isco_groups),
            "skill_groups": len(self.skill_groups),
            "occupation_skill_relations": self.relation_count,
            "languages": list(self.languages),
        }
