"""Entries seen, in Chromium: an entry on screen for a second counts once, sent as the page goes,
when the tab is hidden, or 30 s after the batch's first entry."""

from __future__ import annotations

import time

from browser_support import browser_tests
from playwright.sync_api import expect
from sqlalchemy import select
from test_desk_browser import new_page

from liveblog.extensions import db
from liveblog.models import EntryReach

pytestmark = browser_tests
__all__ = ["new_page"]  # the fixture

DWELL = 1500  # ms on screen: the page counts an entry after a second of it
SERVER = 5000  # ms: a round trip through the page, with room for a slow machine
LONG = "".join(f"<p>Paragraph {n} of a long update, long enough to fill a screen.</p>"
               for n in range(30))


def seen_counts(app) -> dict[int, int]:
    """Every entry_reach row: entry id -> seen."""
    with app.app_context():
        return dict(db.session.execute(select(EntryReach.entry_id, EntryReach.seen)).all())


def show(page, entry_id: int) -> None:
    """Jump (no smooth scroll past other entries) to an entry, and leave it on screen."""
    page.locator(f"#entry-{entry_id}").evaluate(
        "(entry) => entry.scrollIntoView({block: 'start', behavior: 'instant'})")
    page.wait_for_timeout(DWELL)  # the subject is a time on screen, not an event


def test_entries_on_screen_are_counted_once_when_the_reader_leaves(app, actions, new_page):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>Update {n}</p>{LONG}")["id"] for n in range(5)]
    reader = new_page(viewport={"width": 800, "height": 600})
    reader.goto("/stories/storm")
    show(reader, ids[2])
    # An entry the live page adds later is watched too (at the top, where the page adds it
    # at once instead of offering a "new updates" button).
    reader.evaluate("window.scrollTo({top: 0, behavior: 'instant'})")
    added = actions.post_entry(body=f"<p>Just in</p>{LONG}")["id"]
    expect(reader.locator(f"#entry-{added}")).to_be_attached(timeout=SERVER)
    show(reader, added)
    show(reader, ids[2])  # again: still one reader
    assert seen_counts(app) == {}  # nothing is sent while the reader stays (a batch waits 30 s)

    # pagehide: the batch goes with sendBeacon. (Chromium does not show Playwright a request
    # sent as a page goes, so the server's count is what the test waits for.)
    reader.goto("about:blank")
    deadline = time.monotonic() + SERVER / 1000
    while seen_counts(app).get(added) != 1:
        assert time.monotonic() < deadline, f"seen never rose: {seen_counts(app)}"
        time.sleep(0.05)  # the beacon is answered in the server's thread: nothing to await here
    counts = seen_counts(app)
    assert counts[ids[2]] == 1 and ids[0] not in counts  # ids[0]: never on screen
    assert set(counts.values()) == {1}  # one batch, each entry once


# Resolves once the browser has told its intersection observers about the entry on screen: the
# page's own observer, made first, hears it in the same update, before this one.
ON_SCREEN = """(entry) => new Promise((resolve) => {
  const probe = new IntersectionObserver((changes) => {
    if (changes.some((change) => change.isIntersecting)) { probe.disconnect(); resolve(); }
  });
  probe.observe(entry);
})"""


def wait_for_count(app, entry_id: int) -> dict[int, int]:
    """Wait (bounded) until the server has counted the entry once; every count."""
    deadline = time.monotonic() + SERVER / 1000
    while seen_counts(app).get(entry_id) != 1:
        assert time.monotonic() < deadline, f"seen never rose: {seen_counts(app)}"
        time.sleep(0.05)  # the beacon is answered in the server's thread: nothing to await here
    return seen_counts(app)


def test_a_batch_goes_thirty_seconds_after_its_first_entry_or_when_the_tab_is_hidden(
        app, actions, new_page):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>Update {n}</p>{LONG}")["id"] for n in range(4)]
    reader = new_page(viewport={"width": 800, "height": 600})
    reader.clock.install()  # the page's timers run on the test's clock
    reader.goto("/stories/storm")
    first = reader.locator(f"#entry-{ids[1]}")
    first.evaluate("(entry) => entry.scrollIntoView({block: 'start', behavior: 'instant'})")
    first.evaluate(ON_SCREEN)
    reader.clock.run_for(DWELL)  # on screen for a second: counted into the batch
    reader.clock.run_for(25_000)
    assert seen_counts(app) == {}  # the batch waits 30 s from its first entry
    reader.clock.run_for(5_000)
    assert wait_for_count(app, ids[1]) == {ids[1]: 1}

    second = reader.locator(f"#entry-{ids[2]}")
    second.evaluate("(entry) => entry.scrollIntoView({block: 'start', behavior: 'instant'})")
    second.evaluate(ON_SCREEN)
    reader.clock.run_for(DWELL)
    # The reader switches tabs: the batch goes at once, long before its 30 s.
    reader.evaluate("""() => {
      Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
      Object.defineProperty(document, "visibilityState", {configurable: true, get: () => "hidden"});
      document.dispatchEvent(new Event("visibilitychange"));
    }""")
    assert wait_for_count(app, ids[2]) == {ids[1]: 1, ids[2]: 1}
