"""A scheduled story in Chromium: a reader waiting on the "starts at" page gets the live story
when the scheduler opens it, without reloading, whatever the reader's clock says."""

from __future__ import annotations

from datetime import timedelta

from browser_support import browser_tests
from playwright.sync_api import expect
from test_desk_browser import new_page
from test_story_schedule import run, stamp

from liveblog.models import utcnow

pytestmark = browser_tests
__all__ = ["new_page"]  # the fixture

SERVER = 5000  # ms: a round trip through the server and the page, with room for a slow machine


def test_the_starts_at_page_turns_into_the_live_story_when_the_scheduler_opens_it(
    app, actions, new_page
):
    opens = utcnow() + timedelta(hours=2)
    actions.create_story(status="draft", opens_at=stamp(opens))
    reader = new_page()
    # The reader's clock is a day ahead: a timer on it would open the page far too early.
    reader.clock.install(time=(opens + timedelta(days=1)).timestamp())
    with reader.expect_websocket(timeout=SERVER) as listening:
        reader.goto("/stories/storm")
    socket = listening.value
    expect(reader.locator("#story-starts")).to_contain_text("This live blog starts at")
    assert "/api/stories/storm/live" in socket.url
    expect(reader.locator("#entries")).to_have_count(0)

    assert run(app, opens) == 1  # the scheduler's pass at the opening time
    expect(reader.locator("#entries")).to_be_attached(timeout=SERVER)
    expect(reader.locator("#story-starts")).to_have_count(0)
    actions.post_entry(body="<p>We are live.</p>")
    expect(reader.locator("#entries")).to_contain_text("We are live.", timeout=SERVER)
