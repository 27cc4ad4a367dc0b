"""The Share button in Chromium: copy the entry's link where the Web Share API is missing, call
navigator.share where it is there; on the page, the embed and entries that arrive live."""

from __future__ import annotations

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect

pytestmark = browser_tests

# Records each call instead of opening a share sheet (headless Chromium on Linux has none).
STUB_SHARE = """
window.__shared = [];
Object.defineProperty(navigator, "share", {configurable: true, value: (data) => {
  window.__shared.push(data); return Promise.resolve();
}});
"""
NO_SHARE = 'Object.defineProperty(navigator, "share", {configurable: true, value: undefined});'


@pytest.fixture
def context(browser, live_server):
    """A reader's browser that may read and write the clipboard."""
    context = browser.new_context(base_url=live_server)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    yield context
    context.close()


def test_without_web_share_the_link_is_copied_and_said(context, live_server, actions):
    actions.create_story()
    entry = actions.post_entry(headline="Gusts")
    page = context.new_page()
    page.add_init_script(NO_SHARE)
    page.goto("/stories/storm")
    article = page.locator(f"#entry-{entry['id']}")
    article.get_by_role("button", name="Share").click()
    expect(page.locator("#live-announcer")).to_have_text("Link copied")
    expect(article.locator(".entry-share-status")).to_have_text("Link copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"{live_server}/stories/storm/entries/{entry['id']}"


def test_web_share_gets_the_title_and_deep_link_for_a_live_entry(context, live_server, actions):
    actions.create_story()
    page = context.new_page()
    page.add_init_script(STUB_SHARE)
    page.goto("/stories/storm/embed")
    expect(page.locator("#story")).to_have_attribute("data-seq", "0")
    page.wait_for_function("document.querySelector('#live-connection').hidden")
    entry = actions.post_entry(headline="Landfall")  # arrives over the socket
    article = page.locator(f"#entry-{entry['id']}")
    article.get_by_role("button", name="Share").click()
    page.wait_for_function("window.__shared.length === 1")
    shared = page.evaluate("window.__shared[0]")
    assert shared == {"title": "Storm watch: Landfall",
                      "url": f"{live_server}/stories/storm/entries/{entry['id']}"}
    assert article.locator(".entry-share-status").text_content() == ""  # nothing copied


def test_every_entrys_share_speaks_through_the_pages_one_polite_region(context, live_server,
                                                                        actions):
    actions.create_story()
    entries = [actions.post_entry(headline=f"Update {n}") for n in range(3)]
    page = context.new_page()
    page.add_init_script(NO_SHARE)
    page.goto("/stories/storm")
    expect(page.locator("#entries .entry-share")).to_have_count(3)
    # No live region per entry (a screen reader would track one per entry): the page's own one.
    assert page.locator("#entries [role=status], #entries [aria-live]").count() == 0
    article = page.locator(f"#entry-{entries[1]['id']}")
    article.get_by_role("button", name="Share").click()
    expect(page.locator("#live-announcer")).to_have_text("Link copied")
    expect(page.locator("#live-announcer")).to_have_attribute("aria-live", "polite")
    # Those who see it still read it beside the button they pressed.
    expect(article.locator(".entry-share-status")).to_have_text("Link copied")
