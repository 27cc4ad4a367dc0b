"""An Arabic story in Chromium: mirrored layout, Arabic words from the scripts, live in Arabic.

With LIVEBLOG_SCREENSHOTS=1 the page is saved to docs/screenshots/ on a phone and a laptop.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
LIVE = 5000  # ms: a published entry reaches the open page, with room for a busy machine

pytestmark = browser_tests


def _arabic_story(actions, client) -> None:
    # An Arabic story as a newsroom would run it: a box of figures, a key entry, a poll, a
    # correction, an English post quoted from X and the readers' question form.
    actions.create_story(
        "gulf-storm", title="عاصفة فوق الخليج: التغطية المباشرة", language="ar",
        summary="رياح قوية وأمطار غزيرة على الساحل، وإغلاق الموانئ حتى إشعار آخر.",
        questions_open=True,
        key_figures={"kind": "figures", "title": "حصيلة العاصفة", "items": [
            {"label": "سرعة الرياح", "value": "120 كم/س"},
            {"label": "الموانئ المغلقة", "value": "4"}]})
    actions.post_entry("gulf-storm", body="<p>بدأت العاصفة تضرب الساحل الشرقي صباح اليوم.</p>")
    actions.post_entry("gulf-storm", body="<p>مشاهد من الساحل:</p>"
                       "<p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>")
    actions.post_entry("gulf-storm", headline="إغلاق الموانئ", pinned=True,
                       body="<p>أعلنت السلطات إغلاق أربعة موانئ حتى إشعار آخر.</p>")
    entry = actions.post_entry("gulf-storm", body="<p>هل تؤيد إغلاق المدارس غدًا؟</p>",
                               poll={"question": "هل تؤيد إغلاق المدارس غدًا؟",
                                     "options": ["نعم", "لا", "لا أعرف"]})
    client.post(f"/api/polls/{entry['poll']['id']}/votes",
                json={"option": 0, "voter": "arabic-reader-0000001"})
    fixed = actions.post_entry("gulf-storm", headline="الرياح تشتد",
                               body="<p>سجلت محطة الرصد رياحًا بسرعة 120 كيلومترًا في الساعة.</p>")
    answer = client.patch(f"/api/stories/gulf-storm/entries/{fixed['id']}",
                          headers=actions.headers(), json={
            "body": "<p>سجلت محطة الرصد رياحًا بسرعة 120 كيلومترًا في الساعة.</p>",
            "correction": "كانت السرعة 120 لا 102 كيلومترًا في الساعة."})
    assert answer.status_code == 200, answer.get_json()


@pytest.fixture
def arabic(actions, client):
    """An Arabic story with every kind of entry; yields its path."""
    _arabic_story(actions, client)
    return "/stories/gulf-storm"


def test_an_arabic_page_mirrors_its_layout_and_speaks_arabic(browser, live_server, arabic,
                                                              actions):
    shots = os.environ.get("LIVEBLOG_SCREENSHOTS") == "1"  # only when asked: PNGs vary per run
    for name, width, height in (("laptop", 1366, 900), ("phone", 390, 844)):
        context = browser.new_context(base_url=live_server, color_scheme="light",
                                      viewport={"width": width, "height": height})
        try:
            page = context.new_page()
            page.goto(arabic)
            expect(page.locator("#order-toggle")).to_have_text("عرض الأقدم أولًا")
            assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
            # Mirrored: the LATEST list's bullets and the correction's rule are on the right.
            rule = page.locator(".entry-correction").evaluate(
                "e => [getComputedStyle(e).borderRightWidth, getComputedStyle(e).borderLeftWidth]")
            assert rule == ["3px", "0px"], rule
            # The status and the title start at the right edge of the column, not the left.
            column = page.locator("#main").bounding_box()
            status = page.locator("#story-status").evaluate(
                "e => { const r = document.createRange(); r.selectNodeContents(e);"
                " const box = r.getBoundingClientRect(); return [box.left, box.right]; }")
            assert status[1] >= column["x"] + column["width"] - 40, status
            assert status[0] > column["x"] + column["width"] / 2, status
            # Relative times in Arabic, written by Intl in the page's language.
            times = page.locator("time.entry-time").all_inner_texts()
            assert times and all("قبل" in text or "الآن" in text for text in times), times
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"the page scrolls sideways by {overflow}px at {width}px"
            expect(page.locator(".embed-activate").first).to_contain_text("تشغيل الفيديو")
            if shots:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=SCREENSHOTS / f"reader-arabic-{name}.png",
                                animations="disabled", full_page=name == "phone")
        finally:
            context.close()


def test_a_live_entry_arrives_in_arabic(browser, live_server, arabic, actions):
    context = browser.new_context(base_url=live_server)
    try:
        page = context.new_page()
        page.goto(arabic)
        expect(page.locator("#order-toggle")).to_be_attached()
        actions.post_entry("gulf-storm", headline="تحسن الطقس", body="<p>بدأت الرياح تهدأ.</p>")
        expect(page.locator("#live-announcer")).to_have_text("تحديث جديد: تحسن الطقس",
                                                             timeout=LIVE)
        label = page.locator(".entry").first.locator(".entry-label")
        expect(label).to_contain_text("بتوقيت غرينتش")
        # The story's "Last updated", written by the script as the server writes it.
        expect(page.locator("#story-updated")).to_contain_text("بتوقيت غرينتش، ")
    finally:
        context.close()


@pytest.mark.parametrize(("language", "direction"), [("ar", "rtl"), ("en", "ltr")])
def test_the_alerts_button_sits_at_the_rows_end_in_either_direction(browser, live_server, actions,
                                                                     language, direction):
    actions.create_story(language=language)
    actions.post_entry()
    context = browser.new_context(base_url=live_server, viewport={"width": 1000, "height": 700})
    try:
        page = context.new_page()
        page.goto("/stories/storm")
        expect(page.locator("#alerts")).to_be_visible()
        expect(page.locator("#order-toggle")).to_be_visible()
        row = page.locator(".entries-tools").bounding_box()
        alerts = page.locator("#alerts").bounding_box()
        toggle = page.locator("#order-toggle").bounding_box()
        # The toggle at the row's start, the alerts at its end: mirrored in right to left.
        if direction == "rtl":
            assert abs(alerts["x"] - row["x"]) <= 1, (alerts, row)
            assert toggle["x"] > alerts["x"] + alerts["width"]
        else:
            assert abs(alerts["x"] + alerts["width"] - row["x"] - row["width"]) <= 1, (alerts, row)
            assert toggle["x"] + toggle["width"] < alerts["x"]
    finally:
        context.close()
