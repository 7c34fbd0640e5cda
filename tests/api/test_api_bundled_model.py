"""The HTTP API with the real bundled model (slow)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from api_helpers import PDF, upload
from fastapi.testclient import TestClient
from fixtures_api import COOK, PYTHON, SOFTWARE_DEVELOPER, SQL, mini_taxonomy

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings


@pytest.fixture(scope="module")
def bundled_client(tmp_path_factory: pytest.TempPathFactory, bundled_embedder: Any) -> Iterator[TestClient]:
    extractor = SkillExtractor(
        embedder=bundled_embedder,
        taxonomy=mini_taxonomy(),
        cache_dir=tmp_path_factory.mktemp("bundled"),
        show_progress=False,
    )
    with TestClient(create_app(Settings(), extractor=extractor)) as test_client:
        yield test_client


@pytest.mark.slow
def test_bundled_model_rich_extraction(bundled_client: TestClient) -> None:
    body = bundled_client.post(
        "/extract-rich",
        json={
            "text": "Senior Python developer wanted. You write SQL queries every day.",
        },
    ).json()
    uris = [s["uri"] for s in body["skills"]]
    assert PYTHON in uris and SQL in uris
    assert body["occupations"] and body["occupations"][0]["uri"] == SOFTWARE_DEVELOPER
    assert bundled_client.get("/health").json()["model"] == "all-MiniLM-L6-v2"


@pytest.mark.slow
def test_bundled_model_search_and_upload(bundled_client: TestClient) -> None:
    search = bundled_client.get("/search/skills", params={"query": "python programming"}).json()
    assert search["results"][0]["uri"] == PYTHON
    occupations = bundled_client.get("/search/occupations", params={"query": "chef"}).json()
    assert occupations["results"][0]["uri"] == COOK  # no label says "chef": semantic
    body = upload(bundled_client, PDF, rich_data=True, max_results=100).json()
    assert PYTHON in [s["uri"] for s in body["skills"]]


@pytest.mark.slow
def test_bundled_model_concurrent_requests(bundled_client: TestClient) -> None:
    app = bundled_client.app
    texts = [f"Python developer number {i} with SQL and teamwork." for i in range(8)]

    async def run_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/extract-skills", json=[t]) for t in texts))

    responses = asyncio.run(run_all())
    assert all(r.status_code == 200 for r in responses)
    assert all(PYTHON in r.json()[0] for r in responses)
