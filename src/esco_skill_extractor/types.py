"""Typed results of extraction, shared by the library, the CLI and the HTTP API."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Evidence", "Extraction", "OccupationMatch", "SkillMatch"]

OccupationSource = Literal["text", "skills", "text+skills"]


@dataclass(frozen=True, slots=True)
class Evidence:
    """A span of the input text that supports a match: ``text == input[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class SkillMatch:
    """An ESCO skill found in a text."""

    uri: str
    label: str  # preferred label in the requested language, else English
    score: float  # fused similarity in [0, 1]; compare with the skills threshold
    skill_type: str  # "skill/competence", "knowledge" or ""
    reuse_level: str
    collections: tuple[str, ...]
    evidence: tuple[Evidence, ...]  # best-supported first
    matched_label: str  # the concept label (preferred or alternative) closest to the evidence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class OccupationMatch:
    """An ESCO occupation found in a text or inferred from the skills found."""

    uri: str
    label: str
    score: float
    isco_code: str
    source: OccupationSource  # named in the text, inferred from skills, or both
    evidence: tuple[Evidence, ...]
    text_score: float  # similarity to what the text says (0 when not named)
    skills_score: float  # support from the skills found through ESCO's relations
    essential_skills_found: tuple[str, ...]  # URIs of its essential skills the text covers
    optional_skills_found: tuple[str, ...]
    essential_skills_total: int
    optional_skills_total: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What one input text expresses: skills and occupations, best first."""

    text: str
    skills: tuple[SkillMatch, ...]
    occupations: tuple[OccupationMatch, ...]
    language: str = "en"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "skills": [s.to_dict() for s in self.skills],
            "occupations": [o.to_dict() for o in self.occupations],
        }
