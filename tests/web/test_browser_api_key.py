"""The page on a server that needs an API key (browser, slow): it asks for the key and
sends it as a bearer token."""

from __future__ import annotations

from typing import Any

from web_helpers import LiveServer, browser_test, open_page

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings

KEY = "page-test-key"


@browser_test
def test_browser_sends_the_api_key(page: Any, bundled_extractor: SkillExtractor) -> None:
    from playwright.sync_api import expect

    app = create_app(Settings(api_keys=[KEY]), extractor=bundled_extractor)
    with LiveServer(app) as server:
        open_page(page, server)  # the page and /health need no key
        text = page.get_by_label("Paste a job ad, CV or course description")
        text.fill("Registered nurse: community care and infection prevention.")
        expect(page.locator("#error")).to_contain_text("API key")
        page.get_by_label("API key").fill(KEY)
        page.get_by_label("API key").dispatch_event("change")
        card = page.locator("#skills .card", has_text="provide nursing care in community settings")
        expect(card).to_be_visible()
        expect(page.locator("#error")).to_be_hidden()
