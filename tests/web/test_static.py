"""The page's static files: served with a version and an ETag, only from their folder, and
shipped in the wheel."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from web_helpers import ROOT

from esco_skill_extractor.web.routes import STATIC_DIR, TEMPLATES_DIR


@pytest.mark.parametrize(("name", "media_type"), [("app.js", "text/javascript"), ("app.css", "text/css")])
def test_static_files(client: TestClient, name: str, media_type: str) -> None:
    html = client.get("/ui").text
    url = re.search(rf'"(/ui/static/{re.escape(name)}\?v=[0-9a-f]+)"', html)
    assert url
    response = client.get(url.group(1))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    assert response.content == (STATIC_DIR / name).read_bytes()
    assert response.headers.get("etag")


@pytest.mark.parametrize(
    "path", ["/ui/static/nothing.js", "/ui/static/../routes.py", "/ui/static/%2e%2e/routes.py"]
)
def test_static_files_outside_the_folder_are_not_served(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_package_data_is_where_the_wheel_takes_it() -> None:
    """hatchling puts every file under src/esco_skill_extractor into the wheel (not only .py);
    the page's files must live there and must not be ignored by git (hatch honours
    .gitignore)."""
    package = ROOT / "src" / "esco_skill_extractor"
    for path in (STATIC_DIR / "app.js", STATIC_DIR / "app.css", TEMPLATES_DIR / "index.html"):
        assert path.is_file() and package in path.parents
    ignored = (ROOT / ".gitignore").read_text().split()
    assert not any(p.strip("/") in ("static", "templates", "web") for p in ignored)


def test_script_uses_the_api_it_needs() -> None:
    script = (STATIC_DIR / "app.js").read_text()
    for endpoint in ("/health", "/extract-rich", "/extract-pdf-skills"):
        assert f'"{endpoint}"' in script
    assert "innerHTML" not in script  # untrusted text goes in through textContent only
