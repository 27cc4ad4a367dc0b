"""The content security policy in Debian's Chromium: the reader, embed and desk pages break none."""

from __future__ import annotations

import re

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect

# Every violation is also a DOM event; record them where the test can read them.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""
VIDEO = "<p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>"

pytestmark = browser_tests


@pytest.fixture
def page(browser, live_server):
    """A page that records console messages and CSP violations."""
    context = browser.new_context(base_url=live_server)
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    page.console_messages = []
    page.on("console", lambda message: page.console_messages.append(message.text))
    yield page
    context.close()


def violations(page) -> list[str]:
    """CSP violations seen by the page, from the console and the DOM events."""
    console = [text for text in page.console_messages if "Content Security Policy" in text]
    return console + page.evaluate("window.__violations")


def test_the_story_page_runs_live_and_plays_video_within_the_policy(page, actions):
    actions.create_story()
    actions.post_entry(body=VIDEO)
    page.goto("/stories/storm")
    actions.post_entry(body="<p>Live and within the policy</p>")
    expect(page.locator("#entries > .entry").first).to_contain_text("Live and within the policy")

    page.locator(".embed-activate").first.click()
    player = page.locator(".embed-frame iframe")
    expect(player).to_have_attribute("src", "https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ")
    assert violations(page) == []


def test_the_embed_page_runs_live_within_the_policy(page, actions):
    actions.create_story()
    page.goto("/stories/storm/embed")
    actions.post_entry(body="<p>Framed update</p>")
    expect(page.locator("#entries > .entry").first).to_contain_text("Framed update")
    assert violations(page) == []


def test_the_desk_and_its_editor_run_within_the_policy(page, actions):
    actions.create_story()
    actions.post_entry(body="<p>An <strong>older</strong> update</p>")
    actions.create_user("desk@example.org")
    page.goto("/admin/login")
    page.get_by_label("Email").fill("desk@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))

    page.goto("/admin/stories/storm")
    editor = page.locator("#compose .ql-editor")
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.type("Typed in the desk")
    page.keyboard.press("Control+B")
    page.keyboard.type(" and bold")
    expect(editor.locator("strong")).to_have_text("and bold")
    actions.post_entry(body="<p>Posted from elsewhere</p>")
    expect(page.get_by_text("Posted from elsewhere")).to_be_visible()
    assert violations(page) == []
