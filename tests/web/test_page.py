"""The web page at /ui (fast, TestClient): rendering, loading states, languages, escaping,
path prefixes, and the API additions the page uses."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient
from fixtures_api import JOB_AD, SOFTWARE_DEVELOPER, fake_extractor
from web_helpers import BROWSER_ACCEPT, blocking_loader, page_config

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.service import ExtractorService
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings
from esco_skill_extractor.web.examples import EXAMPLES


# -- the page -----------------------------------------------------------------------------------
def test_page_renders(client: TestClient) -> None:
    response = client.get("/ui")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<title>ESCO Skill Extractor</title>" in html
    assert 'id="status-model">fake<' in html and "ESCO 1.2.0-mini" in html
    assert "41 skills · 5 occupations" in html and ">Ready<" in html
    for example in EXAMPLES:
        assert f'data-example="{example.key}"' in html and example.title in html
    for control in (
        "text",
        "file",
        "skills-threshold",
        "occupations-threshold",
        "max-results",
        "language",
        "filter-text",
        "filter-type",
        "filter-collection",
        "sort",
        "export-json",
        "export-csv",
        "copy-uris",
    ):
        assert f'id="{control}"' in html, control
        if control not in ("export-json", "export-csv", "copy-uris"):
            assert f'for="{control}"' in html, f"{control} has a label"
    assert 'aria-live="polite"' in html and 'lang="en"' in html
    assert re.search(r'src="/ui/static/app\.js\?v=[0-9a-f]{12}"', html)
    assert re.search(r'href="/ui/static/app\.css\?v=[0-9a-f]{12}"', html)
    config = page_config(html)
    assert config["api"] == ""
    assert config["health"]["status"] == "healthy"
    assert config["thresholds"] == {"skills": 0.6, "occupations": 0.55}
    assert config["limits"]["max_results"] == 100
    assert [e["key"] for e in config["examples"]] == [e.key for e in EXAMPLES]


def test_page_has_a_strict_content_security_policy(client: TestClient) -> None:
    headers = client.get("/ui").headers
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert headers["x-content-type-options"] == "nosniff"


def test_page_offers_the_label_languages_the_data_has(client: TestClient) -> None:
    html = client.get("/ui").text
    assert '<option value="" id="language-detected" selected>Detected</option>' in html
    assert re.search(r'<option value="en">English</option>', html)
    assert re.search(r'<option value="de">Deutsch</option>', html)
    for code in ("fr", "es"):
        assert re.search(rf'<option value="{code}" disabled>[^<]+\(not in this ESCO data\)', html)


def test_page_uses_the_servers_default_language(extractor: SkillExtractor) -> None:
    with TestClient(create_app(Settings(language="de"), extractor=extractor)) as client:
        html = client.get("/ui").text
    assert '<option value="de" selected>Deutsch</option>' in html


def test_page_while_the_embeddings_are_built(tmp_path: Path) -> None:
    release = threading.Event()
    loader = blocking_loader(tmp_path, release, "building the embedding cache of fake")
    app = create_app(Settings(model="some-model"), loader=loader)
    with TestClient(app) as client:
        for _ in range(100):  # the loader thread publishes the taxonomy first
            if app.state.service.phase.startswith("building"):
                break
            time.sleep(0.05)
        html = client.get("/ui").text
        health = client.get("/health")
        release.set()
        assert app.state.service.wait(10)
        ready = client.get("/ui").text
    assert ">Building embeddings<" in html and "can take minutes" in html
    assert page_config(html)["health"]["building_embeddings"] is True
    assert health.status_code == 503 and health.json()["building_embeddings"] is True
    assert ">Ready<" in ready and "can take minutes" not in ready


def test_page_falls_back_to_detection(extractor: SkillExtractor) -> None:
    with TestClient(create_app(Settings(language="fr"), extractor=extractor)) as client:
        html = client.get("/ui").text
    assert '<option value="" id="language-detected" selected>Detected</option>' in html
    assert re.search(r'<option value="fr" disabled>', html)


def test_page_while_loading_the_model(tmp_path: Path) -> None:
    release = threading.Event()
    loader = blocking_loader(tmp_path, release, "loading the model", publish_taxonomy=False)
    app = create_app(Settings(), loader=loader)
    with TestClient(app) as client:
        for _ in range(100):
            if app.state.service.phase == "loading the model":
                break
            time.sleep(0.05)
        html = client.get("/ui").text
        release.set()
        assert app.state.service.wait(10)
    assert ">Loading<" in html and "The server is starting" in html
    # every language until the data says which it has
    assert "disabled>" not in html and '<option value="es">Español</option>' in html
    # the configured model's default thresholds until the model is there
    assert page_config(html)["thresholds"] == {"skills": 0.6, "occupations": 0.55}


def test_page_when_loading_failed() -> None:
    def failing(service: ExtractorService) -> SkillExtractor:
        raise RuntimeError("no model here")

    app = create_app(Settings(model="no/such-model"), loader=failing)
    with TestClient(app) as client:
        app.state.service.wait(10)
        html = client.get("/ui").text
    assert ">Failed<" in html and "no model here" in html


def test_page_says_when_the_fallback_model_is_in_use(tmp_path: Path) -> None:
    extractor = fake_extractor(tmp_path)
    extractor.fallback_used = True
    extractor.fallback_reason = "BAAI/bge-m3 is not in the Hugging Face cache (offline)."
    with TestClient(create_app(Settings(), extractor=extractor)) as client:
        html = client.get("/ui").text
        health = client.get("/health").json()
    assert health["fallback_used"] and "not in the Hugging Face cache" in health["fallback_reason"]
    note = re.search(r'<p id="fallback-note"[^>]*>', html)
    assert note and "hidden" not in note.group(0)
    assert "Fallback model in use" in html and "not in the Hugging Face cache" in html


def test_fallback_note_is_hidden_otherwise(client: TestClient) -> None:
    note = re.search(r'<p id="fallback-note"[^>]*>', client.get("/ui").text)
    assert note and "hidden" in note.group(0)


def test_page_escapes_what_it_shows(tmp_path: Path) -> None:
    release = threading.Event()
    model = '</script><script>alert("x")</script>'
    app = create_app(Settings(model=model), loader=blocking_loader(tmp_path, release, "loading"))
    with TestClient(app) as client:
        html = client.get("/ui").text
        release.set()
        assert app.state.service.wait(10)
    assert model not in html
    assert page_config(html)["health"]["model"] == model


def test_page_behind_a_path_prefix(extractor: SkillExtractor) -> None:
    app = create_app(Settings(), extractor=extractor)
    with TestClient(app, root_path="/esco") as client:
        html = client.get("/ui").text
        redirect = client.get("/", headers={"Accept": BROWSER_ACCEPT}, follow_redirects=False)
    assert page_config(html)["api"] == "/esco"
    assert 'src="/esco/ui/static/app.js?v=' in html
    assert redirect.headers["location"] == "/esco/ui"


def test_page_is_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/ui" not in paths and "/" in paths


# -- API additions the page uses ----------------------------------------------------------------
def test_rich_occupations_say_which_required_skills_the_text_covers(client: TestClient) -> None:
    body = client.post("/extract-rich", json={"text": JOB_AD, "max_results": 25}).json()
    developer = next(o for o in body["occupations"] if o["uri"] == SOFTWARE_DEVELOPER)
    required = developer["requiredSkills"]
    found = required["essentialFound"] + required["optionalFound"]
    assert found, "the job ad covers some of the developer's skills"
    names = {s["name"] for s in body["skills"]}
    assert set(found) <= names
    assert set(required["essentialFound"]) <= set(required["essential"]) | names
    assert 0.0 <= developer["textScore"] <= 1.0 and 0.0 <= developer["skillsScore"] <= 1.0
    skill = body["skills"][0]
    assert {"evidence", "categories", "alternatives", "type"} <= set(skill)


def test_health_lists_the_label_languages(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["languages"] == ["en", "de"]
    assert health["bundled_model"] is False and health["building_embeddings"] is False
    assert health["fallback_reason"] == ""
