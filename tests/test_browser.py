"""The reader page in Debian's Chromium: live entries, edits, resume, no-JS reading, paging."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect

LIVE = 1000  # ms: a pushed change must show within a second
RECONNECT = 5000  # ms: covers the client's first backoff (at most 1 s) with room to spare
UPDATE_LABEL = re.compile(r"^UPDATE \d{4} GMT$")

pytestmark = browser_tests


@pytest.fixture
def context(browser, live_server):
    """A fresh browser context per test, pointed at the live server."""
    context = browser.new_context(base_url=live_server)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A page in the test's context."""
    return context.new_page()


def open_story(page, slug: str = "storm"):
    """Open a story page and mark the window, so a reload would show."""
    page.goto(f"/stories/{slug}")
    page.evaluate("window.__marker = 1")
    return page


def assert_not_reloaded(page) -> None:
    """The window marked after load is still the one on screen."""
    assert page.evaluate("window.__marker") == 1


def entry_ids(page) -> list[int]:
    """Ids of the entries shown, top to bottom."""
    return [
        int(v)
        for v in page.locator("#entries > .entry").evaluate_all(
            "els => els.map(el => el.dataset.entryId)"
        )
    ]


def update_label(entry: dict) -> str:
    """The time label the API's published_at should give in a GMT story."""
    return datetime.fromisoformat(entry["published_at"]).strftime("UPDATE %H%M GMT")


def api(actions, method: str, path: str, **kwargs):
    """Call the API as the editor and return the response."""
    kwargs = dict(kwargs)  # a copy: parameters are shared by every run of the test
    headers = actions.headers(**kwargs.pop("headers", {}))
    return actions.client.open(path, method=method, headers=headers, **kwargs)


def test_new_entry_appears_at_the_top_live_and_is_announced(page, actions):
    actions.create_story(summary="Live updates as the storm arrives.")
    first = actions.post_entry(body="<p>Rain is spreading north.</p>")
    second = actions.post_entry(body="<p>Winds gusting 70 mph.</p>", headline="Gusts")
    open_story(page)
    expect(page.locator("#story-title")).to_have_text("Storm watch")
    expect(page.locator("#story-summary")).to_have_text("Live updates as the storm arrives.")
    expect(page.locator("#story-status")).to_have_text("LIVE")
    assert entry_ids(page) == [second["id"], first["id"]]
    expect(page.locator(f"#entry-{first['id']} .entry-label")).to_have_text("ORIGINAL ENTRY")
    expect(page.locator(f"#entry-{second['id']} .entry-headline")).to_have_text("Gusts")

    live = actions.post_entry(body="<p>The pier is closed.</p>", headline="Pier closed")

    top = page.locator("#entries > .entry").first
    expect(top).to_have_id(f"entry-{live['id']}", timeout=LIVE)
    expect(top.locator(".entry-body")).to_have_text("The pier is closed.")
    expect(top.locator(".entry-label")).to_have_text(update_label(live))
    expect(page.locator("#entries > .entry")).to_have_count(3)
    expect(page.locator("#live-announcer")).to_have_text("New update: Pier closed")
    expect(page.locator("#story")).to_have_attribute("data-seq", str(live["seq"]))
    assert_not_reloaded(page)


def test_edit_delete_and_end_apply_in_place(page, actions):
    actions.create_story()
    original = actions.post_entry(body="<p>Original report.</p>")
    middle = actions.post_entry(body="<p>Trees down on Mill Road.</p>")
    newest = actions.post_entry(body="<p>Schools shut tomorrow.</p>")
    open_story(page)
    middle_entry = page.locator(f"#entry-{middle['id']}")
    expect(middle_entry.locator(".entry-body")).to_have_text("Trees down on Mill Road.")

    edited = api(
        actions,
        "PATCH",
        f"/api/stories/storm/entries/{middle['id']}",
        json={"body": "<p>Trees down on Mill Road and Station Lane.</p>"},
        headers={"If-Match": str(middle["version"])},
    )
    assert edited.status_code == 200, edited.get_json()
    expect(middle_entry.locator(".entry-body")).to_have_text(
        "Trees down on Mill Road and Station Lane.", timeout=LIVE
    )
    expect(middle_entry).to_have_attribute("data-seq", str(edited.get_json()["seq"]))
    assert entry_ids(page) == [newest["id"], middle["id"], original["id"]]

    deleted = api(actions, "DELETE", f"/api/stories/storm/entries/{original['id']}")
    assert deleted.status_code == 204
    expect(page.locator(f"#entry-{original['id']}")).to_have_count(0, timeout=LIVE)
    # The oldest remaining entry takes over as the ORIGINAL ENTRY, live too.
    expect(middle_entry.locator(".entry-label")).to_have_text("ORIGINAL ENTRY", timeout=LIVE)
    assert entry_ids(page) == [newest["id"], middle["id"]]

    ended = api(actions, "PATCH", "/api/stories/storm", json={"status": "ended"})
    assert ended.status_code == 200, ended.get_json()
    expect(page.locator("#story-status")).to_have_text("ENDED", timeout=LIVE)
    expect(page.locator("#story")).to_have_attribute("data-status", "ended")
    expect(page.locator("#live-announcer")).to_have_text("This story has ended.")
    assert_not_reloaded(page)


class LiveSocketProxy:
    """Passes the page's live sockets through to the server; can drop one and hold reconnects."""

    def __init__(self):
        self.routes = []  # page-side routes, one per socket the page opened, in order
        self.servers = {}  # route index -> its connection to the real server
        self.holding = False

    def __call__(self, route) -> None:
        """Route handler: connect to the server unless reconnects are held."""
        self.routes.append(route)
        if not self.holding:
            self.servers[len(self.routes) - 1] = route.connect_to_server()

    def after(self, index: int) -> str:
        """The `after` query value of the page's socket at index."""
        return parse_qs(urlsplit(self.routes[index].url).query)["after"][0]

    def drop(self) -> None:
        """Close the current connection on both sides and hold any reconnect back."""
        self.holding = True
        index = len(self.routes) - 1
        self.routes[index].close(code=4002, reason="test drop")
        self.servers[index].close(code=1001, reason="test drop")

    def release(self) -> None:
        """Let held and future reconnects through to the server."""
        self.holding = False
        for index, route in enumerate(self.routes):
            if index not in self.servers:
                self.servers[index] = route.connect_to_server()


def test_resumes_after_a_dropped_connection_without_gaps_or_duplicates(page, actions):
    actions.create_story()
    first = actions.post_entry(body="<p>Before the drop.</p>")
    proxy = LiveSocketProxy()
    page.route_web_socket(re.compile(r"/api/stories/storm/live"), proxy)
    open_story(page)
    connected = actions.post_entry(body="<p>Proves the socket is live.</p>")
    expect(page.locator(f"#entry-{connected['id']}")).to_have_count(1, timeout=LIVE)
    expect(page.locator("#story")).to_have_attribute("data-seq", str(connected["seq"]))
    assert len(proxy.routes) == 1 and proxy.after(0) == str(first["seq"])

    proxy.drop()
    # Posted with no server connection for the page: they can only arrive by resuming.
    missed = [actions.post_entry(body=f"<p>Missed {n}.</p>") for n in (1, 2)]
    proxy.release()

    for entry in missed:
        expect(page.locator(f"#entry-{entry['id']}")).to_have_count(1, timeout=RECONNECT)
    expect(page.locator("#story")).to_have_attribute("data-seq", str(missed[-1]["seq"]))
    assert entry_ids(page) == [missed[1]["id"], missed[0]["id"], connected["id"], first["id"]]
    assert len(proxy.routes) == 2 and proxy.after(1) == str(connected["seq"])
    assert_not_reloaded(page)


def post_entries(actions, count: int) -> list[dict]:
    """Publish `count` entries, oldest first."""
    return [actions.post_entry(body=f"<p>Entry number {n}.</p>") for n in range(count)]


@pytest.fixture
def no_js_page(browser, live_server):
    """A page in a fresh context with JavaScript switched off."""
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_page_reads_without_javascript(no_js_page, actions):
    actions.create_story()
    posted = post_entries(actions, 25)
    newest_first = [entry["id"] for entry in reversed(posted)]
    page = no_js_page
    page.goto("/stories/storm")
    expect(page.locator("#story-title")).to_have_text("Storm watch")
    assert entry_ids(page) == newest_first[:20]
    labels = page.locator("#entries > .entry .entry-label").all_inner_texts()
    assert labels == [update_label(entry) for entry in reversed(posted[5:])]
    assert all(UPDATE_LABEL.match(label) for label in labels)
    expect(page.locator(f"#entry-{posted[24]['id']} .entry-body")).to_have_text("Entry number 24.")

    older = page.locator("#load-older")
    expect(older).to_have_text("Load older updates")
    older.click()
    page.wait_for_url(re.compile(rf"/stories/storm\?before={newest_first[19]}$"))
    assert entry_ids(page) == newest_first[20:]
    expect(page.locator(f"#entry-{posted[0]['id']} .entry-label")).to_have_text("ORIGINAL ENTRY")
    expect(page.locator("#load-older")).to_have_count(0)
    expect(page.get_by_role("link", name="Back to the latest updates")).to_have_attribute(
        "href", "/stories/storm"
    )


def test_load_older_appends_the_next_page_in_place(page, actions):
    actions.create_story()
    posted = post_entries(actions, 45)
    newest_first = [entry["id"] for entry in reversed(posted)]
    open_story(page)
    entries = page.locator("#entries > .entry")
    expect(entries).to_have_count(20)

    # A double click sends two requests for the same page; the second must add nothing.
    page.locator("#load-older").dblclick()
    expect(entries).to_have_count(40, timeout=LIVE)
    assert entry_ids(page) == newest_first[:40]
    expect(page.locator("#load-older")).not_to_have_attribute("aria-busy", "true")

    page.locator("#load-older").click()
    expect(entries).to_have_count(45, timeout=LIVE)
    assert entry_ids(page) == newest_first
    expect(page.locator("#load-older")).to_have_count(0)
    expect(page.locator(f"#entry-{posted[0]['id']} .entry-label")).to_have_text("ORIGINAL ENTRY")
    assert page.url.endswith("/stories/storm")
    assert_not_reloaded(page)


@pytest.mark.browser
def test_latest_box_follows_key_entries_live(page, live_server, actions, client):
    """Marking and unmarking key entries updates the LATEST box without a reload."""
    actions.create_story()
    first = actions.post_entry(body="<p>One</p>", headline="Bridge closed")
    second = actions.post_entry(body="<p>Two</p>", headline="Ferries stopped")
    page.goto(f"{live_server}/stories/storm")
    latest = page.locator("#latest-list li")
    expect(page.locator("#latest")).to_be_hidden()
    for entry in (first, second):
        client.patch(f"/api/stories/storm/entries/{entry['id']}", json={"pinned": True},
                     headers=actions.headers())
    expect(latest).to_have_text(["Ferries stopped", "Bridge closed"], timeout=2000)
    client.patch(f"/api/stories/storm/entries/{second['id']}", json={"pinned": False},
                 headers=actions.headers())
    expect(latest).to_have_text(["Bridge closed"], timeout=2000)
    client.delete(f"/api/stories/storm/entries/{first['id']}", headers=actions.headers())
    expect(page.locator("#latest")).to_be_hidden(timeout=2000)


@pytest.mark.browser
def test_third_party_embeds_load_only_on_click_including_live_ones(page, live_server, actions):
    """No player or post script loads until the reader asks, for old and live entries alike."""
    actions.create_story()
    actions.post_entry(body="<p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>")
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.route("**/*", lambda route: route.abort()
               if "127.0.0.1" not in route.request.url else route.continue_())
    page.goto(f"{live_server}/stories/storm")
    frame = page.locator(".embed-frame").first
    expect(frame.locator("iframe")).to_have_count(0)
    actions.post_entry(body="<p>https://x.com/LiveblogDemo/status/2125490000000000000</p>")
    live_tweet = page.locator(".embed-tweet")
    expect(live_tweet.locator(".embed-activate-tweet")).to_have_count(1, timeout=2000)
    assert not [url for url in requested if "127.0.0.1" not in url]
    # The post first: a player iframe appearing above it moves the page under the next click.
    live_tweet.locator(".embed-activate-tweet").click()
    expect(live_tweet).to_have_attribute("data-active", "true")
    # A locator, not wait_for_function: the page's CSP forbids the eval that one would need.
    widgets = page.locator('script[src="https://platform.twitter.com/widgets.js"]')
    expect(widgets).to_have_count(1, timeout=2000)
    frame.locator(".embed-activate").click()
    player = frame.locator("iframe")
    expect(player).to_have_attribute("src", "https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ")


@pytest.mark.browser
def test_new_entries_wait_behind_a_button_while_the_reader_is_scrolled_down(
    page, live_server, actions
):
    """A reader deep in the list is not jolted: a button and the title count the new entries."""
    actions.create_story()
    for n in range(20):
        actions.post_entry(body=f"<p>{'Long paragraph. ' * 30}{n}</p>")
    page.set_viewport_size({"width": 800, "height": 600})
    page.goto(f"{live_server}/stories/storm")
    base_title = page.title()
    page.locator("#entries > .entry").last.scroll_into_view_if_needed()
    top_before = page.locator("#entries > .entry").first.get_attribute("id")
    fresh = actions.post_entry(body="<p>Fresh news</p>")
    button = page.locator("#new-updates")
    expect(button).to_have_text("1 new update", timeout=2000)
    expect(page).to_have_title(f"(1) {base_title}")
    assert page.locator("#entries > .entry").first.get_attribute("id") == top_before
    button.click()
    expect(page.locator("#entries > .entry").first).to_have_id(f"entry-{fresh['id']}")
    expect(page).to_have_title(base_title)
    expect(button).to_be_hidden()


@pytest.mark.browser
def test_order_toggle_and_a_deep_link_to_an_old_entry(page, live_server, actions):
    """Oldest-first shows the original entry on top; a link to an old entry opens it."""
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>Entry {n}</p>")["id"] for n in range(25)]
    page.goto(f"{live_server}/stories/storm")
    page.locator("#order-toggle").click()
    expect(page.locator("#entries > .entry").first).to_have_id(f"entry-{ids[5]}")
    expect(page.locator("#entries > .entry").last).to_have_id(f"entry-{ids[-1]}")
    newer = actions.post_entry(body="<p>Latest at the bottom</p>")
    expect(page.locator("#entries > .entry").last).to_have_id(f"entry-{newer['id']}",
                                                             timeout=2000)
    page.locator("#order-toggle").click()  # back to newest first for the next page load
    page.goto(f"{live_server}/stories/storm#entry-{ids[1]}")
    old = page.locator(f"#entry-{ids[1]}")
    expect(old).to_be_visible(timeout=3000)
    expect(old).to_be_in_viewport()
    assert "through=" in page.url


@pytest.mark.browser
def test_the_page_falls_back_to_polling_when_websockets_are_blocked(browser, live_server,
                                                                    actions):
    """A network that refuses WebSockets still gets every update, by polling the event log."""
    actions.create_story()
    actions.post_entry(body="<p>Before</p>")
    context = browser.new_context()
    context.add_init_script("window.liveblogPollMs = 300;")
    page = context.new_page()
    page.route_web_socket("**/live*", lambda ws: ws.close())
    page.goto(f"{live_server}/stories/storm")
    expect(page.locator("#live-connection")).to_contain_text("every few seconds", timeout=10000)
    entry = actions.post_entry(body="<p>Through polling</p>")
    expect(page.locator(f"#entry-{entry['id']}")).to_be_visible(timeout=3000)
    expect(page.locator("#entries > .entry")).to_have_count(2)
    context.close()


@pytest.mark.browser
def test_the_seeded_story_shows_every_part_of_a_newsroom_live_page(app, page, live_server):
    """Cover, LATEST, featured link, labels, headlines, quotes, tweet, video, pictures, fixes."""
    from sqlalchemy import select

    from liveblog import publishing
    from liveblog.extensions import db
    from liveblog.models import Entry
    from liveblog.ops.demo import DEMO_SLUG, seed_demo

    with app.app_context():
        seed_demo(lambda line: None)
        quote = db.session.scalar(select(Entry).where(Entry.body_html.contains("<blockquote")))
        publishing.update_entry(quote.story_id, quote.id,
                                {"correction": "An earlier version misnamed the harbour master."})
    page.goto(f"{live_server}/stories/{DEMO_SLUG}")
    expect(page.locator(".story-cover img")).to_have_attribute("alt", re.compile("waves", re.I))
    expect(page.locator(".story-cover figcaption")).to_contain_text("Illustration")
    expect(page.locator("#story-title")).to_contain_text("Storm Ada")
    expect(page.locator("#story-summary")).to_be_visible()
    expect(page.locator("#story-status")).to_have_text("LIVE")
    expect(page.locator("#story-updated")).to_be_visible()
    expect(page.locator("#latest-list li")).to_have_count(2)
    expect(page.locator(".featured-link")).to_contain_text("TUESDAY FEATURE")
    labels = page.locator("#entries > .entry .entry-label").all_inner_texts()
    assert labels[-1] == "ORIGINAL ENTRY"
    assert all(re.fullmatch(r"UPDATE \d{4} GMT", label) for label in labels[:-1])
    published = page.locator("#entries > .entry").evaluate_all(
        "entries => entries.map(e => e.dataset.published)")
    assert published == sorted(published, reverse=True)  # newest first
    expect(page.locator(".entry-headline").first).to_be_visible()
    expect(page.locator(".entry-body blockquote cite").first).to_contain_text("harbour master")
    tweet = page.locator(".embed-tweet")
    expect(tweet.locator(".embed-tweet-name")).to_have_text("Liveblog Demo")
    expect(tweet.locator(".embed-tweet-date")).to_have_attribute("datetime", re.compile("^2026"))
    expect(tweet.locator("a.embed-tweet-link")).to_have_attribute("href", re.compile("^https://x.com/"))
    expect(page.locator(".embed-video .embed-activate")).to_be_visible()
    expect(page.locator(".picture-set figure")).to_have_count(2)
    expect(page.locator(".picture-set figcaption").first).to_be_visible()
    expect(page.locator(".entry-correction")).to_contain_text("misnamed the harbour master")
