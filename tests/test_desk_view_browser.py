"""What the desk shows a journalist, in Chromium: a short tab title, the import form, previews."""

from __future__ import annotations

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect
from test_desk_browser import desk_as, new_page, open_desk, write_png

from liveblog.models import Role

pytestmark = browser_tests
__all__ = ["new_page"]  # the fixture, shared with the desk's other browser tests

SERVER = 5000  # ms: a round trip through the desk, with room for a slow machine


@pytest.fixture
def console_errors():
    """Collects the console errors of the pages a test hands to `watch`."""
    errors: list[str] = []

    def watch(page):
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        return page

    watch.errors = errors
    return watch


def test_story_list_has_a_short_title_and_shows_the_import_form(actions, new_page):
    page = desk_as(new_page, actions, "dana@example.org")
    assert page.title() == "Stories | liveblog desk"
    expect(page.get_by_role("heading", name="Import a story")).to_be_visible()
    expect(page.get_by_label("Archive (from “Export”)")).to_be_visible()


def test_the_composer_shows_the_chosen_picture(actions, new_page, console_errors, tmp_path):
    actions.create_story()
    page = console_errors(desk_as(new_page, actions, "dana@example.org", Role.EDITOR))
    open_desk(page, "storm")
    page.locator("#picture-file").set_input_files(write_png(tmp_path / "quay.png"))
    thumb = page.locator(".picture-row img.picture-thumb")
    expect(thumb).to_be_visible(timeout=SERVER)
    # Not "networkidle": the desk keeps a long poll open, so its network is never idle.
    page.wait_for_function("img => img.complete", arg=thumb.element_handle(), timeout=SERVER)
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 640
    assert not [e for e in console_errors.errors if "Content Security Policy" in e]


def test_the_story_desk_offers_the_embed_code_with_a_copy_button(actions, new_page, live_server):
    actions.create_story(title="Storm & \"more\"")
    page = desk_as(new_page, actions, "dana@example.org")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_desk(page, "storm")
    page.get_by_text("Embed this story on another site").click()
    expected = (f'<div data-liveblog="{live_server}/stories/storm">Storm &amp; &#34;more&#34;'
                f'</div><script async src="{live_server}/static/embed.js"></script>')
    expect(page.get_by_label("Embed code")).to_have_value(expected)
    page.get_by_role("button", name="Copy embed code").click()
    expect(page.locator("#copy-embed-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == expected


def test_the_embed_box_offers_the_teaser_and_the_server_side_include(actions, new_page,
                                                                      live_server):
    actions.create_story(title="Storm & \"more\"")
    page = desk_as(new_page, actions, "dana@example.org")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_desk(page, "storm")
    page.get_by_text("Embed this story on another site").click()
    loader = f'<script async src="{live_server}/static/embed.js"></script>'
    teaser = (f'<div data-liveblog="{live_server}/stories/storm" data-liveblog-limit="5">'
              f'Storm &amp; &#34;more&#34;</div>{loader}')
    expect(page.get_by_label("Teaser code (the 5 latest entries)")).to_have_value(teaser)
    include = (f'<esi:include src="{live_server}/stories/storm/fragment" onerror="continue"/>\n'
               f'<link rel="stylesheet" href="{live_server}/static/css/fragment.css">\n{loader}')
    expect(page.get_by_label("Server-side include")).to_have_value(include)
    page.get_by_role("button", name="Copy teaser code").click()
    expect(page.locator("#copy-embed-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == teaser
    page.get_by_role("button", name="Copy include code").click()
    page.wait_for_function("expected => navigator.clipboard.readText()"
                           ".then((text) => text === expected)", arg=include, timeout=SERVER)
    # The addresses the snippets name answer: the fragment, its teaser and the stylesheet.
    for path in ("/stories/storm/fragment", "/stories/storm/fragment?limit=5",
                 "/static/css/fragment.css"):
        with actions.client.get(path) as answer:
            assert answer.status_code == 200, path
