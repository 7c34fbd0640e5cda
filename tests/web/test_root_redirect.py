"""GET /: a browser is redirected to the page, API clients keep getting JSON."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_helpers import BROWSER_ACCEPT, blocking_loader

from esco_skill_extractor.api.negotiation import prefers_html
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER_ACCEPT, True),  # Chrome, Firefox navigating
        ("text/html", True),
        ("application/json;q=0.9, text/html", True),
        ("text/*, application/json;q=0.5", True),
        (None, False),  # httpx/requests without a header
        ("", False),
        ("*/*", False),  # curl, fetch, the Next.js front end
        ("application/json", False),
        ("application/json, text/html", False),  # a tie goes to JSON
        ("text/html;q=0.5, application/json", False),
        ("text/html;q=0", False),
        ("text/html;q=nonsense, */*;q=0.1", False),
        ("application/*, text/html;q=0.9", False),
        ("TEXT/HTML", True),
        (" , ", False),
    ],
)
def test_prefers_html(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_root_redirects_a_browser_to_the_page(client: TestClient) -> None:
    response = client.get("/", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/ui"
    assert "accept" in response.headers["vary"].lower()
    followed = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert followed.status_code == 200 and "<title>ESCO Skill Extractor</title>" in followed.text


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/html"])
def test_root_keeps_answering_json_to_api_clients(client: TestClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get("/", headers=headers, follow_redirects=False)
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "ESCO Skill Extractor API" and body["endpoints"]["ui"] == "/ui"
    assert "accept" in response.headers["vary"].lower()


def test_root_redirects_while_loading(tmp_path: Path) -> None:
    release = threading.Event()
    app = create_app(Settings(), loader=blocking_loader(tmp_path, release, "loading"))
    with TestClient(app) as client:
        browser = client.get("/", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
        api = client.get("/")
        release.set()
        assert app.state.service.wait(10)
    assert browser.status_code == 307 and api.json()["status"] == "loading"
