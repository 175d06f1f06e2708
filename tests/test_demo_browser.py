"""The demo in a real browser: Debian's Chromium driven by Playwright (never `playwright install`).

Screenshots of each tab go to ``tests/artifacts/demo/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.is_file():
    pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")

from conftest import ROOT  # noqa: E402
from demo.examples import EXAMPLES  # noqa: E402
from test_demo_helpers import demo_server  # noqa: E402

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "tests" / "artifacts" / "demo"
RECRUIT = "Need drivers tonight, easy money 💰 16+ ok, DM @fake_handle_123, no questions asked"
TIMEOUT = 90_000  # ms; the first Policy lab evaluation scores the sample on a slow CPU


@pytest.fixture(scope="module")
def page():
    _, url = demo_server()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(TIMEOUT)
        pg.requests = []
        pg.on("request", lambda r: pg.requests.append(r.url))
        pg.goto(url)
        pg.wait_for_selector("#post-text textarea")
        yield pg
        context.close()
        browser.close()


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def test_try_a_post_shows_decision_signals_and_words(page):
    _tab(page, "Try a post")
    page.fill("#post-text textarea", RECRUIT)
    page.click("#analyse-btn")
    page.wait_for_selector("#decision :text('REVIEW')")
    decision = page.inner_text("#decision")
    assert "review-youth-recruitment" in decision and "Why this rule fired" in decision
    score = page.inner_text("#score")
    assert "Recruitment score" in score and "likely recruitment" in score
    # Signals: the highlighted spans carry their type inline.
    signals = page.inner_text("#signals").lower()
    for piece, kind in (("easy money", "money"), ("no questions asked", "secrecy"), ("@fake_handle_123", "contact"),
                        ("16+", "age_school")):
        assert re.search(re.escape(piece) + r"\s*" + kind, signals), (piece, signals)
    words = page.inner_text("#words-table")
    assert "towards recruitment" in words
    page.wait_for_selector("#categories img, #categories svg, #categories canvas")
    page.screenshot(path=str(SHOTS / "try-a-post.png"), full_page=True)


def test_hard_negative_example_is_allowed(page):
    _tab(page, "Try a post")
    warning = next(e.text for e in EXAMPLES if e.text.startswith("Police warning"))
    page.get_by_text(warning[:40]).first.click()  # the example fills the text box
    page.wait_for_function("document.querySelector('#post-text textarea').value.startsWith('Police warning')")
    page.click("#analyse-btn")
    page.wait_for_selector("#decision :text('ALLOW')")
    assert "default (no rule matched)" in page.inner_text("#decision")


def _summary(page) -> str:
    return page.inner_text("#lab-summary")


def test_policy_lab_slider_changes_the_figures(page):
    _tab(page, "Policy lab")
    page.click("#lab-evaluate")
    page.wait_for_selector("#lab-summary :text('posts change decision')")
    before = _summary(page)
    assert re.search(r"\*?\*?0\*?\*? posts change decision", before.replace("**", "")), before
    rules_before = page.inner_text("#lab-rules")
    page.wait_for_selector("#lab-plot img, #lab-plot svg, #lab-plot canvas")
    # The youth threshold of the youth review rule, up to 0.99: posts move to the plain review rule.
    knob = page.locator("[id^=knob-]").filter(has_text="review-youth-recruitment → review: youth").first
    number = knob.locator("input[type=number]")
    assert number.input_value() == "0.5"
    number.fill("0.99")
    number.press("Enter")
    page.wait_for_function(
        "!/ 0 posts change decision/.test(document.querySelector('#lab-summary').innerText.replace(/\\*/g, ''))")
    after = _summary(page)
    assert after != before
    changed = int(re.search(r"(\d+) posts change decision", after.replace("*", "")).group(1))
    assert changed > 0
    assert page.inner_text("#lab-rules") != rules_before
    changes = page.inner_text("#lab-changes")
    assert "review (review-youth-recruitment)" in changes and "review (review-recruitment)" in changes
    page.screenshot(path=str(SHOTS / "policy-lab.png"), full_page=True)

    # Export the edited policy as JSON and check the moved threshold is in it.
    page.click("#lab-export")
    link = page.locator("#lab-export-file a").first
    link.wait_for()
    with page.expect_download() as dl:
        link.click()
    exported = json.loads(Path(dl.value.path()).read_text(encoding="utf-8"))
    rule = next(r for r in exported["rules"] if r["id"] == "review-youth-recruitment")
    assert rule["when"]["youth"]["min"] == 0.99

    # Saving makes the edited policy the one compared against: nothing changes any more.
    page.click("#lab-save")
    page.locator("#lab-saved-file a").first.wait_for()
    page.wait_for_function(
        "/ 0 posts change decision/.test(document.querySelector('#lab-summary').innerText.replace(/\\*/g, ''))")


def test_batch_upload_filter_and_download(page, tmp_path):
    _tab(page, "Batch")
    src = tmp_path / "posts.csv"
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text"])
        w.writerow(["p1", RECRUIT])
        w.writerow(["p2", "Apple pie recipe with cinnamon and a crumble top"])
        w.writerow(["p3", ""])
        w.writerow(["p4", next(e.text for e in EXAMPLES if e.text.startswith("Parcel courier"))])
    page.set_input_files("#batch-file input[type=file]", str(src))
    page.locator("#batch-file :text('posts.csv')").first.wait_for()
    page.click("#batch-run")
    page.wait_for_selector("#batch-summary :text('posts scored')")
    assert "3 posts scored, 1 rows with errors" in page.inner_text("#batch-summary").replace("*", "")
    table = page.inner_text("#batch-table")
    assert "p1" in table and "review" in table and "p4" in table
    assert "no text" in page.inner_text("#batch-errors")
    # Filter: only the posts sent to review.
    page.locator("#batch-actions label").filter(has_text="review").click()
    page.wait_for_selector("#batch-summary :text('Showing 1 after filters')")
    page.screenshot(path=str(SHOTS / "batch.png"), full_page=True)
    link = page.locator("#batch-download a").first
    link.wait_for()
    with page.expect_download() as dl:
        link.click()
    with open(dl.value.path(), newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["p1"] and rows[0]["action"] == "review"


def test_about_renders_model_card_and_datasheet(page):
    _tab(page, "About")
    page.wait_for_selector("#about-card :text('recruitwatch-base')")
    assert "Datasheet" in page.inner_text("#about-datasheet")
    page.screenshot(path=str(SHOTS / "about.png"), full_page=False)


def test_the_page_fetched_nothing_from_the_network(page):
    outside = [u for u in page.requests if not re.match(r"^(http://127\.0\.0\.1:\d+/|data:|blob:)", u)]
    assert outside == []
