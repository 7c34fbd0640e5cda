"""ESCO Skill Extractor: ESCO skills and occupations from free text, with scores and evidence."""

from __future__ import annotations

from .__about__ import __version__
from .errors import EscoError
from .taxonomy import Occupation, Skill, Taxonomy, load_taxonomy

__all__ = [
    "EscoError",
    "Occupation",
    "Skill",
    "Taxonomy",
    "__version__",
    "load_taxonomy",
]
