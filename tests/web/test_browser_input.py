"""End to end in Debian's chromium (browser, slow): pasting, uploading and dropping text,
phone width, waiting for the embeddings, and keyboard-only use."""

from __future__ import annotations

import re
import shutil
import threading
from importlib.resources import files
from pathlib import Path
from typing import Any

from fixtures_api import ESCO_MINI, JOB_AD, SQL, make_docx, make_pdf
from web_helpers import (
    DOCX_TYPE,
    LiveServer,
    blocking_loader,
    browser_test,
    open_page,
    screenshot,
    skill_card,
)

from esco_skill_extractor import SkillExtractor
from esco_skill_extractor.server import create_app
from esco_skill_extractor.settings import Settings
from esco_skill_extractor.taxonomy import load_taxonomy


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


@browser_test
def test_browser_reads_german_text(page: Any, live_server: LiveServer) -> None:
    from playwright.sync_api import expect

    open_page(page, live_server)
    expect(page.locator("#language")).to_have_value("")  # detected by default
    page.get_by_label("Paste a job ad, CV or course description").fill(
        "Koch / Köchin (m/w/d) in Vollzeit. Für unser Restaurant suchen wir einen engagierten Koch."
    )
    expect(page.locator("#occupations .card", has_text="Koch/Köchin")).to_be_visible()
    expect(page.locator("#language-detected")).to_have_text("Detected (Deutsch)")
    expect(page.locator("#summary")).to_contain_text("detected Deutsch")
    # untouched sliders follow the thresholds of the models that read German
    expect(page.locator("#summary")).to_contain_text("thresholds 0.54 and 0.40")
    expect(page.locator("#skills-threshold-value")).to_have_text("0.54")
    screenshot(page, "german-text.png")


@browser_test
def test_browser_reads_french_text(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    # the test taxonomy with ESCO's French occupation labels (the built-in ESCO's file)
    folder = tmp_path / "esco"
    shutil.copytree(ESCO_MINI, folder)
    french = files("esco_skill_extractor") / "data" / "esco" / "v1.0.x" / "occupations_fr.csv.gz"
    (folder / "occupations_fr.csv.gz").write_bytes(french.read_bytes())
    extractor = SkillExtractor(
        model="all-MiniLM-L6-v2",
        taxonomy=load_taxonomy(folder, snapshot=False),
        cache_dir=tmp_path / "cache",
        show_progress=False,
    )
    with LiveServer(create_app(Settings(), extractor=extractor)) as server:
        page = browser.new_page()
        try:
            open_page(page, server)
            page.get_by_label("Paste a job ad, CV or course description").fill(
                "Cuisinier / Cuisinière (H/F) en CDI. Nous recherchons un cuisinier pour notre restaurant."
            )
            expect(page.locator("#occupations .card", has_text="cuisinier/cuisinière")).to_be_visible()
            expect(page.locator("#language-detected")).to_have_text("Detected (Français)")
            expect(page.locator("#summary")).to_contain_text("detected Français")
            screenshot(page, "french-text.png")
        finally:
            page.close()
