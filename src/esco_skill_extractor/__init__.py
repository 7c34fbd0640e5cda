"""ESCO Skill Extractor: ESCO skills and occupations from free text, with scores and evidence."""

from __future__ import annotations

from .__about__ import __version__
from .errors import EscoError
from .extraction import MatchConfig, SearchHit, SkillExtractor
from .taxonomy import Occupation, Skill, Taxonomy, load_taxonomy
from .types import Evidence, Extraction, OccupationMatch, SkillMatch

__all__ = [
    "EscoError",
    "Evidence",
    "Extraction",
    "MatchConfig",
    "Occupation",
    "OccupationMatch",
    "SearchHit",
    "Skill",
    "SkillExtractor",
    "SkillMatch",
    "Taxonomy",
    "__version__",
    "load_taxonomy",
]
