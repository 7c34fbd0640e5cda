"""Fixtures of the pure extraction tests: the mini taxonomy and its skill views."""

from __future__ import annotations

import pytest
from fixtures_api import mini_taxonomy

from esco_skill_extractor.cache.recipe import ViewTable, build_views
from esco_skill_extractor.taxonomy import Taxonomy


@pytest.fixture(scope="session")
def taxonomy() -> Taxonomy:
    return mini_taxonomy()


@pytest.fixture(scope="session")
def skill_views(taxonomy: Taxonomy) -> ViewTable:
    return build_views(taxonomy)["skills"]
