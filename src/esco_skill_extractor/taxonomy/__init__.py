"""The ESCO taxonomy: typed concepts, the CSV loader and label search."""

from __future__ import annotations

from .loader import DEFAULT_DATA_DIR, load_taxonomy, resolve_data_dir
from .models import (
    COLLECTIONS,
    IscoGroup,
    Occupation,
    Relation,
    Skill,
    SkillGroup,
    Taxonomy,
    Translation,
)

__all__ = [
    "COLLECTIONS",
    "DEFAULT_DATA_DIR",
    "IscoGroup",
    "Occupation",
    "Relation",
    "Skill",
    "SkillGroup",
    "Taxonomy",
    "Translation",
    "load_taxonomy",
    "resolve_data_dir",
]
