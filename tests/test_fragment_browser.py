"""A host page on another origin includes story fragments server-side; embed.js keeps them live."""

from __future__ import annotations

import re

import pytest
from browser_support import browser_tests
from test_embedding import serve_host_page

pytestmark = browser_tests

HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A newspaper</title>
<link rel="stylesheet" href="{site}/static/css/fragment.css"></head>
<body>
<h1>Somebody else's site</h1>
<section id="full">{full}</section>
<section id="teaser">{teaser}</section>
<script async src="{site}/static/embed.js"></script>
</body></html>
"""
FULL = "#full .entries > .entry"
TEASER = "#teaser .entries > .entry"
UPGRADED = """() => [...document.querySelectorAll('[data-liveblog-fragment]')]
                 .every(root => root.dataset.liveblogLive === 'true')"""


def _fragment(actions, live_server: str, path: str) -> str:
    """What a host's server-side fetch (or SSI) puts in its page."""
    answer = actions.client.get(path, base_url=live_server)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


@pytest.fixture
def browser_page(browser):
    """A page in a fresh context of the shared headless Chromium, its console errors kept."""
    context = browser.new_context()
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    context.close()


def test_a_host_page_keeps_included_fragments_live(browser_page, live_server, actions):
    from playwright.sync_api import expect

    client = actions.client
    actions.create_story()
    first = actions.post_entry(body="<p>Rain is spreading north.</p>")
    actions.create_story(slug="quake", title="Quake")
    older, newer = (actions.post_entry(slug="quake", body=f"<p>Quake {n}</p>") for n in range(2))
    host = serve_host_page(HOST_PAGE.format(
        site=live_server,
        full=_fragment(actions, live_server, "/stories/storm/fragment"),
        teaser=_fragment(actions, live_server, "/stories/quake/fragment?limit=2"),
    ).encode())
    page = browser_page
    try:
        page.goto(next(host))
        assert page.evaluate("location.origin") != live_server
        expect(page.locator(FULL)).to_have_count(1)
        page.wait_for_function(UPGRADED, timeout=5000)

        # Published, edited and deleted on the desk's side: the host page follows, no reload.
        added = actions.post_entry(body="<p>The bridge is closed.</p>", headline="Bridge shut",
                                   pinned=True)
        expect(page.locator(FULL)).to_have_count(2, timeout=5000)
        expect(page.locator(FULL).first).to_contain_text("Bridge shut")
        # Its links name the story's server, not the host's.
        address = f"{live_server}/stories/storm/entries/{added['id']}"
        expect(page.locator(f"#entry-{added['id']} .entry-label a")).to_have_attribute(
            "href", address)
        # A key entry: the LATEST box, hidden while it had none, lists it.
        expect(page.locator("#full #latest")).to_be_visible()
        expect(page.locator("#full #latest-list a")).to_have_attribute("href", address)
        edited = client.patch(f"/api/stories/storm/entries/{first['id']}",
                              json={"body": "<p>Rain has reached the coast.</p>"},
                              headers=actions.headers())
        assert edited.status_code == 200
        expect(page.locator(f"#entry-{first['id']}")).to_contain_text("reached the coast")
        gone = client.delete(f"/api/stories/storm/entries/{added['id']}",
                             headers=actions.headers())
        assert gone.status_code == 204
        expect(page.locator(FULL)).to_have_count(1, timeout=5000)
        expect(page.locator("#full #latest")).to_be_hidden()

        # The teaser keeps the newest two: a new entry pushes the oldest out...
        expect(page.locator(TEASER)).to_have_count(2)
        latest = actions.post_entry(slug="quake", body="<p>Aftershock</p>", headline="Aftershock")
        expect(page.locator(TEASER).first).to_contain_text("Aftershock", timeout=5000)
        expect(page.locator(TEASER)).to_have_count(2)
        expect(page.locator(f"#entry-{older['id']}")).to_have_count(0)
        # ...and a deleted one lets it back in, as a fresh include would show.
        client.delete(f"/api/stories/quake/entries/{latest['id']}", headers=actions.headers())
        expect(page.locator(f"#entry-{older['id']}")).to_have_count(1, timeout=5000)
        expect(page.locator(TEASER)).to_have_count(2)
        expect(page.locator(TEASER).first).to_have_attribute("id", f"entry-{newer['id']}")
        assert page.errors == []
    finally:
        host.close()


def test_a_teaser_embed_keeps_its_newest_n_live(browser_page, live_server, actions):
    from playwright.sync_api import expect

    actions.create_story()
    older, newer = (actions.post_entry(body=f"<p>Storm {n}</p>") for n in range(2))
    page = browser_page
    page.goto(f"{live_server}/stories/storm/embed?limit=2")
    shown = page.locator("#entries > .entry")
    expect(shown).to_have_count(2)
    # live.js adds the order toggle once it runs: from then on every frame is applied.
    page.wait_for_selector("#order-toggle", state="attached", timeout=5000)
    latest = actions.post_entry(body="<p>Landfall</p>", headline="Landfall")
    expect(shown.first).to_contain_text("Landfall", timeout=5000)
    expect(shown).to_have_count(2)
    expect(page.locator(f"#entry-{older['id']}")).to_have_count(0)
    actions.client.delete(f"/api/stories/storm/entries/{latest['id']}", headers=actions.headers())
    expect(page.locator(f"#entry-{older['id']}")).to_have_count(1, timeout=5000)
    expect(shown).to_have_count(2)
    expect(shown.first).to_have_attribute("id", f"entry-{newer['id']}")
    assert page.errors == []


def test_an_included_fragments_script_words_follow_its_storys_language(browser_page,
                                                                       live_server, actions):
    from playwright.sync_api import expect

    # Two stories, neither in the host page's English: an Arabic list and a Spanish teaser.
    actions.create_story(language="ar")
    arabic = actions.post_entry(body="<p>بدأت العاصفة.</p>")
    actions.create_story(slug="quake", title="Terremoto", language="es")
    actions.post_entry(slug="quake", body="<p>Réplica</p>")
    host = serve_host_page(HOST_PAGE.format(
        site=live_server,
        full=_fragment(actions, live_server, "/stories/storm/fragment"),
        teaser=_fragment(actions, live_server, "/stories/quake/fragment?limit=2"),
    ).encode())
    page = browser_page
    try:
        page.goto(next(host))
        page.wait_for_function(UPGRADED, timeout=5000)
        # The scripts rewrite each entry's time as a relative one, in its own story's words
        # ("now", or "a second ago" on a slow machine).
        expect(page.locator("#full .entry-time")).to_have_text(re.compile(r"^(الآن|قبل .+)$"))
        expect(page.locator("#teaser .entry-time")).to_have_text(re.compile(r"^(ahora|hace .+)$"))
        actions.client.delete(f"/api/stories/storm/entries/{arabic['id']}",
                              headers=actions.headers())
        expect(page.locator("#full .no-entries")).to_have_text(
            "لا توجد تحديثات بعد. هذه الصفحة تتحدث تلقائيًا.", timeout=5000)
        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.errors == []
    finally:
        host.close()


def test_the_desks_teaser_code_on_a_host_page_keeps_its_newest_n_live(browser_page, live_server,
                                                                       actions):
    from playwright.sync_api import expect

    # The loader's teaser code as the desk's embed box gives it (data-liveblog-limit), on
    # another site's page: embed.js asks for the teaser, which then follows the story.
    actions.create_story()
    older, newer = (actions.post_entry(body=f"<p>Storm {n}</p>") for n in range(2))
    actions.post_entry(body="<p>Storm 2</p>")
    host = serve_host_page((
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Home</title></head>'
        f'<body><h1>Home</h1><div data-liveblog="{live_server}/stories/storm" '
        'data-liveblog-limit="2">Storm watch</div>'
        f'<script async src="{live_server}/static/embed.js"></script></body></html>').encode())
    page = browser_page
    try:
        page.goto(next(host))
        expect(page.locator("iframe")).to_have_attribute(
            "src", f"{live_server}/stories/storm/embed?limit=2")
        frame = page.frame_locator("iframe")
        shown = frame.locator("#entries > .entry")
        expect(shown).to_have_count(2, timeout=5000)
        expect(frame.locator(f"#entry-{older['id']}")).to_have_count(0)
        expect(frame.locator("#order-toggle")).to_be_attached(timeout=5000)
        actions.post_entry(body="<p>Landfall</p>", headline="Landfall")
        expect(shown.first).to_contain_text("Landfall", timeout=5000)
        expect(shown).to_have_count(2)
        expect(frame.locator(f"#entry-{newer['id']}")).to_have_count(0)
        assert page.errors == []
    finally:
        host.close()
