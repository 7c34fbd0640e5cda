"""Fixtures of the web tests: a fast extractor and client (TestClient), and for the browser
tests the bundled model served live, chromium and a page that fails on console errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from fixtures_api import ESCO_MINI, fake_extractor
from web_helpers import CHROMIUM, CHROMIUM_ARGS, LiveServer

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings
from esco_skill_extractor.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def extractor(tmp_path_factory: pytest.TempPathFactory) -> SkillExtractor:
    return fake_extractor(tmp_path_factory.mktemp("web"))


@pytest.fixture
def client(extractor: SkillExtractor) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), extractor=extractor)) as test_client:
        yield test_client


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
