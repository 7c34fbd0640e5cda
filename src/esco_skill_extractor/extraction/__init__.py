"""Extraction: segmentation, concept views, fused matching and the SkillExtractor."""

from __future__ import annotations

from .matching import MatchConfig
from .pipeline import SearchHit, SkillExtractor

__all__ = ["MatchConfig", "SearchHit", "SkillExtractor"]
