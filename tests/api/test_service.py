"""The service endpoints (/, /health, /categories, the OpenAPI schema) and the answers while
the model loads or after loading failed."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import pytest
from api_helpers import PYTHON_ID, assert_error
from fastapi.testclient import TestClient
from fixtures_api import JOB_AD, fake_extractor, mini_taxonomy

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.service import ExtractorService
from esco_skill_extractor.errors import ModelUnavailable
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings


# -- service endpoints --------------------------------------------------------------------------
def test_root_describes_the_service(client: TestClient) -> None:
    body = client.get("/").json()
    assert body["message"] and body["version"]
    assert body["model"] == "fake" and body["device"] == "cpu" and body["status"] == "healthy"
    assert body["endpoints"]["extract_rich"] == "/extract-rich"
    assert all(isinstance(f, str) for f in body["features"])


def test_health_when_ready(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert (body["skills_count"], body["occupations_count"]) == (41, 5)
    assert body["data_version"] == "1.2.0-mini"
    assert body["thresholds"] == {"skills": 0.6, "occupations": 0.55}
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", body["timestamp"])


def test_categories(client: TestClient) -> None:
    body = client.get("/categories").json()
    assert body["categories"] == {
        "digital": 15,
        "green": 0,
        "transversal": 0,
        "language": 0,
        "research": 0,
        "digComp": 0,
    }
    assert body["total_skills"] == 41 and body["categorized_skills"] == 15


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in (
        "/",
        "/health",
        "/categories",
        "/extract-rich",
        "/extract-basic",
        "/extract-pdf-skills",
        "/extract",
        "/extract-skills",
        "/extract-occupations",
        "/search/skills",
        "/search/occupations",
        "/skills/{uri}",
        "/occupations/{uri}",
        "/metrics",
    ):
        assert path in schema["paths"], path
    rich = schema["components"]["schemas"]["RichSkill"]["properties"]
    assert {"reuseLevel", "usedInOccupations", "evidence"} <= set(rich)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# -- loading ------------------------------------------------------------------------------------
def test_health_and_endpoints_while_loading(tmp_path: Path) -> None:
    release = threading.Event()
    taxonomy = mini_taxonomy()

    def slow_loader(service: ExtractorService) -> SkillExtractor:
        service.set_taxonomy(taxonomy)
        service.set_phase("building the embedding cache")
        assert release.wait(10)
        return fake_extractor(tmp_path)

    app = create_app(Settings(model="some-model"), loader=slow_loader)
    with TestClient(app) as client:
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "loading"
        assert "building the embedding cache" in health.json()["detail"]
        assert health.headers["retry-after"]
        root = client.get("/")
        assert root.status_code == 200
        assert root.json()["status"] == "loading" and root.json()["model"] == "some-model"
        answer = client.post("/extract-rich", json={"text": JOB_AD})
        assert_error(answer, 503, "starting", "building the embedding cache")
        assert answer.headers["retry-after"]
        assert_error(client.post("/extract-skills", json=["x"]), 503)
        assert_error(client.get("/search/skills", params={"query": "python"}), 503)
        # the taxonomy is there already: details and categories answer
        assert client.get(f"/skills/{PYTHON_ID}").status_code == 200
        assert client.get("/categories").status_code == 200
        release.set()
        assert app.state.service.wait(10)
        assert client.get("/health").status_code == 200
        assert client.post("/extract-skills", json=[JOB_AD]).json()[0]


def test_health_when_loading_failed(caplog: pytest.LogCaptureFixture) -> None:
    def failing(service: ExtractorService) -> SkillExtractor:
        raise ModelUnavailable("could not load model no/such-model")

    app = create_app(Settings(model="no/such-model"), loader=failing)
    with caplog.at_level(logging.ERROR), TestClient(app) as client:
        app.state.service.wait(10)
        health = client.get("/health")
        assert health.status_code == 503
        assert health.json()["status"] == "failed"
        assert "no/such-model" in health.json()["detail"]
        assert_error(client.post("/extract-basic", json={"text": "x"}), 503, "no/such-model")
        assert client.get("/").json()["status"] == "failed"
        assert_error(client.get("/categories"), 503)
    assert "could not be loaded" in caplog.text
