"""Fixtures of the API tests: a fast extractor over the mini taxonomy (fake embedder) and a
client of the app serving it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from fixtures_api import fake_extractor

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    return fake_extractor(tmp_path_factory.mktemp("api"))


@pytest.fixture
def client(extractor: SkillExtractor) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), extractor=extractor)) as test_client:
        yield test_client
