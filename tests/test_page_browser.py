"""The reader page as the tools that judge it see it, in Debian's Chromium: a steady first paint."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect

pytestmark = browser_tests

LIVE = 1000  # ms: a pushed change must show within a second


@pytest.fixture
def page(browser, live_server):
    """A page in a fresh context that allows motion, as most readers' systems do."""
    context = browser.new_context(base_url=live_server, reduced_motion="no-preference")
    yield context.new_page()
    context.close()


def animated(page, selector: str) -> list[bool]:
    """For each element the selector finds, whether CSS gives it an animation (run or not yet)."""
    return page.locator(selector).evaluate_all(
        "els => els.map(el => getComputedStyle(el).animationName !== 'none')")


def test_only_entries_that_arrive_live_animate(page, actions):
    actions.create_story()
    for n in range(3):
        actions.post_entry(body=f"<p>Before the page {n}</p>")
    page.goto("/stories/storm")
    expect(page.locator("#entries > .entry")).to_have_count(3)
    # A fresh page is painted at full strength at once: nothing fades in.
    assert animated(page, "#entries > .entry") == [False] * 3
    arrived = actions.post_entry(body="<p>Arrived live</p>")
    expect(page.locator(f"#entry-{arrived['id']}")).to_be_visible(timeout=LIVE)
    # Newest first: the one that arrived live, alone, draws the eye.
    assert animated(page, "#entries > .entry") == [True, False, False, False]


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London", "Asia/Kolkata"])
def test_last_updated_stays_in_the_storys_zone_after_live_updates(page, actions, zone):
    actions.create_story(timezone=zone)
    actions.post_entry(body="<p>Before the page</p>")
    page.goto("/stories/storm")
    updated = page.locator("#story-updated")
    server_text = updated.text_content()
    arrived = actions.post_entry(body="<p>Arrived live</p>")
    expect(page.locator(f"#entry-{arrived['id']}")).to_be_visible(timeout=LIVE)
    now = datetime.now(ZoneInfo(zone))
    # The server's format, "%H:%M %Z, %d %b %Y", in the story's zone (give or take a minute).
    expected = {(now + timedelta(minutes=m)).strftime("%H:%M %Z, %d %b %Y") for m in (-1, 0)}
    assert updated.text_content() in expected, (server_text, updated.text_content())


def test_a_polling_page_stops_when_the_story_is_unpublished(browser, live_server, actions):
    """Where sockets are blocked, an unpublished story's 404 ends polling, as 4404 ends a socket."""
    actions.create_story()
    actions.post_entry(body="<p>Before</p>")
    context = browser.new_context(base_url=live_server)
    context.add_init_script("window.liveblogPollMs = 200;")
    page = context.new_page()
    page.route_web_socket("**/live*", lambda ws: ws.close())
    polls = []
    page.on("request", lambda request: "/events?" in request.url and polls.append(request.url))
    try:
        page.goto("/stories/storm")
        expect(page.locator("#live-connection")).to_contain_text("every few seconds", timeout=10000)
        answer = actions.client.patch("/api/stories/storm", json={"status": "draft"},
                                      headers=actions.headers())
        assert answer.status_code == 200
        expect(page.locator("#live-connection")).to_have_text(
            "This story is no longer available.", timeout=3000)
        seen = len(polls)
        # Ten polling intervals: a page still polling would ask again several times.
        page.wait_for_timeout(2000)
        assert len(polls) == seen
    finally:
        context.close()
