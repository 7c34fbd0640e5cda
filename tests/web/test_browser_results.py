"""End to end in Debian's chromium with the bundled model (browser, slow): the results, the
controls that shape them, exports and contrast."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fixtures_api import PYTHON, SOFTWARE_DEVELOPER, SQL
from web_helpers import LiveServer, browser_test, open_page, screenshot, skill_card


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
        # the text read as German: labels in German where the mini ESCO data has them
        page.get_by_label("Language").select_option("de")
        expect(page.locator(f'#occupations .card[data-uri="{SOFTWARE_DEVELOPER}"] .card-label')).to_have_text(
            "Softwareentwickler/Softwareentwicklerin"
        )
        assert page.locator('#language option[value="fr"]').is_disabled()
    finally:
        context.close()


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
