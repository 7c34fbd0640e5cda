"""Fixtures of the cache tests: the mini taxonomy with its views, and an empty cache."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from cache_helpers import MINI

from esco_skill_extractor.cache import EmbeddingCache
from esco_skill_extractor.cache.recipe import build_views
from esco_skill_extractor.taxonomy import Taxonomy, load_taxonomy


@pytest.fixture(scope="module")
def mini() -> tuple[Taxonomy, Mapping[str, Any]]:
    taxonomy = load_taxonomy(MINI, snapshot=False)
    return taxonomy, build_views(taxonomy)


@pytest.fixture
def cache(tmp_path: Path) -> EmbeddingCache:
    return EmbeddingCache(tmp_path / "embeddings")
