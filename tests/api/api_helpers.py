"""Helpers shared by the API tests: request helpers, error checks and a small PDF upload."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.testclient import TestClient
from fixtures_api import COOK, PYTHON, make_pdf

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings

PYTHON_ID = PYTHON.rsplit("/", 1)[-1]
COOK_ID = COOK.rsplit("/", 1)[-1]


def client_with(extractor: SkillExtractor, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(**settings), extractor=extractor))


def assert_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    for word in words:
        assert word.lower() in body["detail"].lower(), body["detail"]
    assert "Traceback" not in response.text
    return str(body["detail"])


PDF = make_pdf(
    [["We are hiring a software developer.", "Python and SQL"], ["Teamwork principles, communication"]]
)


def upload(
    client: TestClient, data: bytes, name: str = "cv.pdf", content_type: str = "application/pdf", **form: Any
) -> httpx.Response:
    return client.post(
        "/extract-pdf-skills",
        files={"pdf": (name, data, content_type)},
        data={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()},
    )
