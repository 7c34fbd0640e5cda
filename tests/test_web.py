"""The web page at /ui: rendering, the redirect at /, static files (fast, TestClient), and
end to end in Debian's chromium against a live server with the bundled model (browser, slow).

The browser tests use Playwright for Python with ``executable_path="/usr/bin/chromium"``
(never a downloaded browser) and leave screenshots in ``artifacts/`` at the repository root.
"""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from fixtures_api import (
    ESCO_MINI,
    JOB_AD,
    PYTHON,
    SOFTWARE_DEVELOPER,
    SQL,
    fake_extractor,
    make_docx,
    make_pdf,
    mini_taxonomy,
)

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.negotiation import prefers_html
from esco_skill_extractor.api.service import ExtractorService
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings
from esco_skill_extractor.taxonomy import load_taxonomy
from esco_skill_extractor.web.examples import EXAMPLES
from esco_skill_extractor.web.routes import STATIC_DIR, TEMPLATES_DIR

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    return fake_extractor(tmp_path_factory.mktemp("web"))


@pytest.fixture
def client(extractor: SkillExtractor) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), extractor=extractor)) as test_client:
        yield test_client


def page_config(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="config">(.*?)</script>', html, re.S)
    assert found, "the page carries its configuration"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def blocking_loader(
    tmp_path: Path, release: threading.Event, phase: str, *, publish_taxonomy: bool = True
) -> Callable[[ExtractorService], SkillExtractor]:
    """A loader that waits for ``release``, in ``phase``; the taxonomy is there before."""
    taxonomy = mini_taxonomy()

    def load(service: ExtractorService) -> SkillExtractor:
        if publish_taxonomy:
            service.set_taxonomy(taxonomy)
        service.set_phase(phase)
        assert release.wait(30)
        return fake_extractor(tmp_path)

    return load


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
    assert re.search(r'<option value="en" selected>English</option>', html)
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


def test_page_falls_back_to_english_labels(extractor: SkillExtractor) -> None:
    with TestClient(create_app(Settings(language="fr"), extractor=extractor)) as client:
        html = client.get("/ui").text
    assert '<option value="en" selected>English</option>' in html
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


# -- GET / --------------------------------------------------------------------------------------
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


# -- static files -------------------------------------------------------------------------------
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


# -- in a real browser (Debian's chromium, Playwright, the bundled model) -----------------------
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed at /usr/bin/chromium "
    "(apt-get install -y chromium; .ci/run installs it)",
)


def browser_test(test: Callable[..., None]) -> Callable[..., None]:
    return pytest.mark.browser(pytest.mark.slow(needs_chromium(test)))


class LiveServer:
    """The app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            ws="none",
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            assert self._thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(15)
        self._socket.close()


@pytest.fixture(scope="module")
def bundled_extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    return SkillExtractor(
        model="all-MiniLM-L6-v2",
        taxonomy=load_taxonomy(ESCO_MINI, snapshot=False),
        cache_dir=tmp_path_factory.mktemp("bundled-cache"),
        show_progress=False,
    )


@pytest.fixture(scope="module")
def live_server(bundled_extractor: SkillExtractor) -> Iterator[LiveServer]:
    with LiveServer(create_app(Settings(), extractor=bundled_extractor)) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)  # the real model on shared CPUs
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; console errors and uncaught exceptions fail the test."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    new_page = context.new_page()
    problems: list[str] = []
    new_page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))

    def console(message: Any) -> None:
        # Chromium logs every 4xx/5xx answer ("Failed to load resource"); the tests that
        # cause them (uploads of broken files, /health while loading) check the page's
        # own messages instead.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(f"console: {message.text}")

    new_page.on("console", console)
    yield new_page
    context.close()
    assert not problems, problems


def open_page(page: Any, server: LiveServer) -> None:
    from playwright.sync_api import expect

    page.goto(server.url + "/", wait_until="domcontentloaded")  # the redirect, as a browser sees it
    assert page.url == server.url + "/ui"
    expect(page.locator("#status-badge")).to_have_text("Ready")


def skill_card(page: Any, uri: str) -> Any:
    return page.locator(f'#skills .card[data-uri="{uri}"]')


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.evaluate("window.scrollTo(0, 0)")  # sticky panels in their places
    page.screenshot(path=str(path), full_page=True)
    return path


@browser_test
def test_browser_example_shows_skills_occupations_and_evidence(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    open_page(page, live_server)
    page.get_by_role("button", name="Job ad: software developer").click()
    python = skill_card(page, PYTHON)
    expect(python).to_be_visible()
    expect(python.locator(".card-label")).to_have_text("Python (computer programming)")
    expect(python.get_by_text("Knowledge", exact=True)).to_be_visible()
    expect(python.get_by_text("digital", exact=True)).to_be_visible()
    expect(python.get_by_role("link", name=re.compile("ESCO"))).to_have_attribute("href", PYTHON)
    expect(skill_card(page, SQL)).to_be_visible()
    developer = page.locator(f'#occupations .card[data-uri="{SOFTWARE_DEVELOPER}"]')
    expect(developer).to_be_visible()
    expect(developer.locator(".chip-found").first).to_be_visible()  # required skills covered
    expect(page.locator("#summary")).to_contain_text("found in")
    assert page.locator("#evidence mark").count() >= 3
    # selecting a skill marks its passages
    python.get_by_role("button", name=re.compile("Mark in text")).click()
    expect(python.get_by_role("button", name=re.compile("Marked in text"))).to_have_attribute(
        "aria-pressed", "true"
    )
    selected = page.locator("#evidence mark.is-selected")
    expect(selected.first).to_be_visible()
    assert "Python" in "".join(selected.all_text_contents())
    # selecting a passage says what it matched (with the keyboard)
    selected.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#span-info")).to_contain_text("Python (computer programming)")
    expect(python).to_have_class(re.compile("is-linked|is-selected"))
    path = screenshot(page, "web-results.png")
    assert path.stat().st_size > 10_000


@browser_test
def test_browser_paste_text(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    open_page(page, live_server)
    page.get_by_label("Paste a job ad, CV or course description").fill(
        "Registered nurse: community care and infection prevention. We expect teamwork."
    )  # no button: results follow the text
    card = page.locator("#skills .card", has_text="provide nursing care in community settings")
    expect(card).to_be_visible()
    expect(page.locator("#occupations .card", has_text="nurse responsible for general care")).to_be_visible()
    expect(page.locator("#char-count")).to_have_text("78")


@browser_test
def test_browser_slider_changes_the_list(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    open_page(page, live_server)
    page.get_by_role("button", name="Job ad: software developer").click()
    cards = page.locator("#skills .card")
    expect(cards.first).to_be_visible()
    scores = sorted(float(s) for s in cards.evaluate_all("cs => cs.map(c => c.dataset.score)"))
    assert len(scores) >= 3 and scores[0] < scores[-1]
    threshold = round((scores[0] + scores[-1]) / 2, 2)
    keep = sum(1 for s in scores if s >= threshold)
    assert 1 <= keep < len(scores)
    page.get_by_label("Skill threshold").fill(str(threshold))
    expect(page.locator("#skills-threshold-value")).to_have_text(f"{threshold:.2f}")
    expect(cards).to_have_count(keep)
    remaining = cards.evaluate_all("cs => cs.map(c => Number(c.dataset.score))")
    assert min(remaining) >= threshold
    expect(page.locator("#summary")).to_contain_text(f"thresholds {threshold:.2f}")
    # keyboard: End moves the slider to 1.00 and empties the list
    page.get_by_label("Skill threshold").press("End")
    expect(cards).to_have_count(0)
    expect(page.locator("#skills")).to_contain_text("No skill scores above the threshold 1.00")
    # and the most-results control limits the list
    page.get_by_role("button", name="Reset to defaults").click()
    expect(cards).to_have_count(len(scores))
    page.get_by_label("Most results").fill("2")
    expect(cards).to_have_count(2)


@browser_test
def test_browser_upload_pdf(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    open_page(page, live_server)
    pdf = make_pdf([["Curriculum vitae: software developer", "Skills: Python, SQL and teamwork principles."]])
    page.locator("#file").set_input_files({"name": "cv.pdf", "mimeType": "application/pdf", "buffer": pdf})
    expect(page.locator("#source-info")).to_contain_text("Text read from cv.pdf, 1 page")
    expect(skill_card(page, SQL)).to_be_visible()
    expect(page.get_by_label("Paste a job ad, CV or course description")).to_have_value(
        re.compile("Python, SQL and teamwork")
    )
    expect(page.locator("#evidence")).to_contain_text("Curriculum vitae")
    # a file the server cannot read is explained, not swallowed
    page.locator("#file").set_input_files(
        {"name": "broken.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 garbage"}
    )
    expect(page.locator("#error")).to_contain_text("broken.pdf")
    page.locator("#file").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG"}
    )
    expect(page.locator("#error")).to_contain_text("choose a PDF")
    # a Word document, chosen with the file picker
    docx = make_docx(["Kitchen help", "You store raw food materials and order supplies."])
    page.locator("#file").set_input_files({"name": "ad.docx", "mimeType": DOCX_TYPE, "buffer": docx})
    expect(page.locator("#source-info")).to_contain_text("Text read from ad.docx")
    expect(page.locator("#error")).to_be_hidden()
    expect(page.locator("#skills .card", has_text="store raw food materials")).to_be_visible()
    # a plain-text file dropped on the page
    page.evaluate(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["Nurse: delegate emergency care."], "note.txt",
                                    {type: "text/plain"}));
            document.getElementById("dropzone").dispatchEvent(
                new DragEvent("drop", {dataTransfer: data, bubbles: true, cancelable: true}));
        }"""
    )
    expect(page.locator("#source-info")).to_contain_text("Text read from note.txt")
    expect(page.locator("#skills .card", has_text="delegate emergency care")).to_be_visible()


@browser_test
def test_browser_export_csv_and_json(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    open_page(page, live_server)
    page.get_by_role("button", name="Job ad: software developer").click()
    cards = page.locator("#skills .card")
    expect(skill_card(page, SQL)).to_be_visible()
    shown_skills = cards.count()
    shown_occupations = page.locator("#occupations .card").count()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    content = Path(download.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert rows and list(rows[0])[:5] == ["kind", "rank", "label", "uri", "score"]
    skills = [r for r in rows if r["kind"] == "skill"]
    occupations = [r for r in rows if r["kind"] == "occupation"]
    assert (len(skills), len(occupations)) == (shown_skills, shown_occupations)
    sql = next(r for r in skills if r["uri"] == SQL)
    assert sql["label"] == "SQL" and sql["type"] == "knowledge" and "digital" in sql["collections"]
    assert 0 < float(sql["score"]) <= 1 and "SQL" in sql["evidence"]
    developer = next(r for r in occupations if r["uri"] == SOFTWARE_DEVELOPER)
    assert developer["isco_group"] and int(developer["essential_skills_total"]) > 0
    # the filters shape the export
    page.get_by_label("Type", exact=True).select_option("knowledge")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Export JSON").click()
    data = json.loads(Path(download_info.value.path()).read_text())
    assert data["skills"] and all(s["type"] == "knowledge" for s in data["skills"])
    assert data["filters"]["type"] == "knowledge" and data["model"] == "all-MiniLM-L6-v2"
    assert data["text"].startswith("Software developer") and data["data_version"] == "1.2.0-mini"


@browser_test
def test_browser_filter_sort_copy_and_language(browser: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    try:
        open_page(page, live_server)
        page.get_by_role("button", name="Job ad: software developer").click()
        cards = page.locator("#skills .card")
        expect(skill_card(page, SQL)).to_be_visible()
        total = cards.count()
        page.get_by_label("Sort by").select_option("label")
        labels = cards.locator(".card-label").all_text_contents()
        assert labels == sorted(labels, key=str.casefold)
        page.get_by_label("Filter", exact=True).fill("sql")
        expect(cards).to_have_count(1)
        expect(page.locator("#skills-count")).to_have_text(f"(1 of {total} shown)")
        page.get_by_label("Filter", exact=True).fill("")
        page.get_by_label("Collection").select_option("digital")
        for badges in cards.locator(".badges").all_text_contents():
            assert "digital" in badges
        page.get_by_label("Collection").select_option("")
        page.get_by_role("button", name="Copy URIs").click()
        expect(page.locator("#toolbar-message")).to_contain_text("Copied")
        copied = page.evaluate("navigator.clipboard.readText()").split()
        assert SQL in copied and SOFTWARE_DEVELOPER in copied
        # labels in German where the mini ESCO data has them
        page.get_by_label("Labels in").select_option("de")
        expect(page.locator(f'#occupations .card[data-uri="{SOFTWARE_DEVELOPER}"] .card-label')).to_have_text(
            "Softwareentwickler/Softwareentwicklerin"
        )
        assert page.locator('#language option[value="fr"]').is_disabled()
    finally:
        context.close()


@browser_test
def test_browser_phone_width(browser: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    try:
        open_page(page, live_server)
        page.get_by_role("button", name="CV: nurse").click()
        expect(page.locator("#skills .card").first).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px at phone width"
        screenshot(page, "web-results-phone.png")
    finally:
        context.close()


@browser_test
def test_browser_waits_while_embeddings_are_built(page: Any, tmp_path: Path) -> None:
    """The page says the embeddings are being built, keeps the text, and extracts once the
    server is ready (a fake model keeps this fast)."""
    from playwright.sync_api import expect

    release = threading.Event()
    loader = blocking_loader(tmp_path, release, "building the embedding cache of fake")
    with LiveServer(create_app(Settings(), loader=loader)) as server:
        page.goto(server.url + "/ui")
        expect(page.locator("#status-badge")).to_have_text("Building embeddings")
        expect(page.locator("#status-detail")).to_contain_text("can take minutes")
        page.get_by_label("Paste a job ad, CV or course description").fill(JOB_AD)
        expect(page.locator("#summary")).to_contain_text("as soon as the model is ready")
        release.set()
        expect(page.locator("#status-badge")).to_have_text("Ready")
        expect(page.locator("#skills .card").first).to_be_visible()
        expect(page.locator("#status-text")).to_contain_text("ESCO 1.2.0-mini")


CONTRAST_SCRIPT = """() => {
  const parse = (value) => {
    const m = value.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const channel = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = (node) => {
    for (let e = node; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      if (style.backgroundImage !== "none") return null;  // gradients: not measured
      const c = parse(style.backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return parse(getComputedStyle(document.documentElement).backgroundColor)
      || { r: 255, g: 255, b: 255, a: 1 };
  };
  const low = [];
  let checked = 0;
  for (const node of document.querySelectorAll("body *")) {
    if (!node.getClientRects().length) continue;
    if (node.closest(".visually-hidden, option, [hidden]")) continue;
    if (node.disabled) continue;
    const own = Array.from(node.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const fg = parse(getComputedStyle(node).color);
    const bg = background(node);
    if (!fg || !bg) continue;
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    checked += 1;
    const text = node.textContent.trim().slice(0, 30);
    if (ratio < 4.5) low.push(`${node.className} "${text}": ${ratio.toFixed(2)}`);
  }
  return { checked, low };
}"""


@browser_test
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_browser_text_contrast(browser: Any, live_server: LiveServer, scheme: str) -> None:
    """Every text on the results page meets WCAG AA contrast (4.5:1), light and dark."""
    from playwright.sync_api import expect

    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_page(page, live_server)
        page.get_by_role("button", name="Job ad: software developer").click()
        expect(skill_card(page, SQL)).to_be_visible()
        skill_card(page, SQL).get_by_role("button", name=re.compile("Mark in text")).click()
        page.locator("#evidence mark").first.click()
        expect(page.locator("#span-info")).not_to_be_empty()
        result = page.evaluate(CONTRAST_SCRIPT)
        assert result["checked"] > 100
        assert not result["low"], result["low"]
    finally:
        context.close()


@browser_test
def test_browser_keyboard_only(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    open_page(page, live_server)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    example = page.get_by_role("button", name="Job ad: software developer")
    example.focus()
    page.keyboard.press("Enter")
    sql = skill_card(page, SQL)
    expect(sql).to_be_visible()
    mark = sql.get_by_role("button", name=re.compile("Mark in text"))
    mark.focus()
    page.keyboard.press("Space")
    expect(sql.get_by_role("button", name=re.compile("Marked in text"))).to_have_attribute(
        "aria-pressed", "true"
    )
    outline = sql.get_by_role("button", name=re.compile("Marked in text")).evaluate(
        "b => getComputedStyle(b).outlineStyle"
    )
    assert outline != "none", "the focused button shows where the focus is"
    page.keyboard.press("Escape")
    expect(page.locator("#evidence mark.is-selected")).to_have_count(0)
    # Ctrl+Enter in the text extracts at once
    text = page.get_by_label("Paste a job ad, CV or course description")
    text.fill("Cook: store raw food materials and order supplies.")
    text.press("Control+Enter")
    expect(page.locator("#skills .card", has_text="store raw food materials")).to_be_visible()
