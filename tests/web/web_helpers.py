"""Helpers shared by the web tests: the page's configuration, blocking loaders, and for the
browser tests Debian's chromium, a live server and page helpers.

The browser tests use Playwright for Python with ``executable_path="/usr/bin/chromium"``
(never a downloaded browser) and leave screenshots in ``artifacts/`` at the repository root.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fixtures_api import fake_extractor, mini_taxonomy

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.api.service import ExtractorService

ROOT = Path(__file__).resolve().parents[2]
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
