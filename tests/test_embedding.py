"""Embedding a story on other sites: the embed page, framing headers, oEmbed and the loader."""

from __future__ import annotations

import os
import threading
from html.parser import HTMLParser

import pytest
from browser_support import CHROMIUM
from servers import SERVER_POLL_SECONDS
from werkzeug.serving import make_server

from liveblog.extensions import db
from liveblog.models import Story

BASE = "http://localhost"
STORY_URL = f"{BASE}/stories/storm"


class Elements(HTMLParser):
    """Every start tag of a page with its attributes, in document order."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag: str, **attrs) -> list[dict]:
        """Tags of this name whose attributes include these."""
        return [
            found
            for name, found in self.tags
            if name == tag and all(found.get(k) == v for k, v in attrs.items())
        ]


def oembed(client, url: str = STORY_URL, **params):
    """Ask the oEmbed endpoint about a URL."""
    return client.get("/oembed", query_string={"url": url, **params})


def test_embed_page_shows_the_latest_entries_with_the_live_hooks(client, actions):
    actions.create_story(summary="Not shown in the embed.")
    ids = [actions.post_entry(body=f"<p>number {n}</p>")["id"] for n in range(22)]
    response = client.get("/stories/storm/embed")
    assert response.status_code == 200
    page = Elements(response.get_data(as_text=True))
    seq = client.get("/api/stories/storm").get_json()["last_seq"]

    (story,) = page.find("article", id="story")
    assert story["data-story"] == "storm" and story["data-seq"] == str(seq)
    assert story["data-status"] == "live"
    assert story["data-live-url"] == "/api/stories/storm/live"
    assert story["data-entries-url"] == "/api/stories/storm/entries"
    for element_id in ("entries", "live-announcer", "story-status", "story-title"):
        assert len([tag for tag in page.tags if tag[1].get("id") == element_id]) == 1
    shown = [int(tag["data-entry-id"]) for tag in page.find("article", **{"class": "entry"})]
    assert shown == ids[:-21:-1]  # the latest 20, newest first, through the same partial
    assert page.find("header", **{"class": "site-header"}) == []
    (full,) = page.find("a", href="/stories/storm")
    assert full["target"] == "_blank"
    assert "Open the full live page" in response.get_data(as_text=True)
    # Fingerprinted; the import map before them has no src.
    scripts = [tag["src"].partition("?v=")[0] for tag in page.find("script") if "src" in tag]
    assert scripts == ["/static/js/live.js", "/static/js/embed-frame.js", "/static/js/share.js",
                       "/static/js/seen.js", "/static/js/visit.js"]
    assert page.find("meta", name="robots") == [{"name": "robots", "content": "noindex"}]


def test_embed_page_of_a_draft_is_not_found(client, actions):
    actions.create_story(slug="secret", status="draft")
    assert client.get("/stories/secret/embed").status_code == 404
    assert client.get("/stories/nothing/embed").status_code == 404


def test_embed_page_may_be_framed_by_anyone(client, actions):
    actions.create_story()
    response = client.get("/stories/storm/embed")
    assert response.headers["Content-Security-Policy"].endswith("; frame-ancestors *")
    assert "X-Frame-Options" not in response.headers


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/stories/storm",
        "/stories/storm/feed.atom",
        "/api/stories/storm",
        "/oembed",
        "/static/js/live.js",
        "/admin/login",
        "/no-such-page",
    ],
)
def test_every_other_response_refuses_framing(client, actions, path):
    actions.create_story()
    response = client.get(path)
    response.close()  # the static file's handle
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"].endswith("; frame-ancestors 'none'")


def test_oembed_answers_a_rich_iframe_for_a_story(client, actions):
    actions.create_story()
    response = oembed(client, format="json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_json() == {
        "type": "rich",
        "version": "1.0",
        "title": "Storm watch",
        "provider_name": "liveblog",
        "provider_url": f"{BASE}/",
        "html": f'<iframe src="{STORY_URL}/embed" width="600" height="800"'
        ' title="Live: Storm watch" loading="lazy" data-liveblog-frame'
        ' style="border:0;max-width:100%"></iframe>'
        f'<script async src="{BASE}/static/embed.js"></script>',
        "width": 600,
        "height": 800,
        "cache_age": 3600,
    }


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"maxwidth": "400"}, (400, 800)),
        ({"maxheight": "300"}, (600, 300)),
        ({"maxwidth": "320", "maxheight": "480"}, (320, 480)),
        ({"maxwidth": "2000", "maxheight": "5000"}, (600, 800)),
        ({"maxwidth": "wide", "maxheight": "-5"}, (600, 800)),
    ],
)
def test_oembed_honours_maxwidth_and_maxheight(client, actions, params, size):
    actions.create_story()
    answer = oembed(client, **params).get_json()
    assert (answer["width"], answer["height"]) == size
    assert f'width="{size[0]}" height="{size[1]}"' in answer["html"]


def test_oembed_escapes_the_title_in_its_markup(client, actions):
    actions.create_story()
    with client.application.app_context():
        # The API strips tags from titles; write directly to prove the markup is escaped anyway.
        db.session.query(Story).filter_by(slug="storm").one().title = '"><script>x</script>'
        db.session.commit()
    answer = oembed(client).get_json()
    assert answer["title"] == '"><script>x</script>'
    assert 'title="Live: &#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in answer["html"]
    (iframe,) = Elements(answer["html"]).find("iframe")
    assert iframe["title"] == 'Live: "><script>x</script>'


@pytest.mark.parametrize(
    "url",
    [
        STORY_URL,
        f"{STORY_URL}/embed",
        f"{STORY_URL}/entries/1",
        f"{STORY_URL}?x=1#top",
    ],
)
def test_oembed_accepts_every_address_of_a_story(client, actions, url):
    actions.create_story()
    actions.post_entry()
    answer = oembed(client, url=url)
    assert answer.status_code == 200
    assert f'src="{STORY_URL}/embed"' in answer.get_json()["html"]


@pytest.mark.parametrize(
    "url",
    [
        "",
        f"{BASE}/stories/nothing",
        f"{BASE}/stories/secret",
        f"{BASE}/",
        f"{BASE}/api/stories/storm",
        f"{BASE}/stories/storm/feed.atom",
        "https://evil.example/stories/storm",
        "http://localhost.evil.example/stories/storm",
        "ftp://localhost/stories/storm",
        "javascript:alert(1)//localhost/stories/storm",
    ],
)
def test_oembed_refuses_unknown_private_and_foreign_urls(client, actions, url):
    actions.create_story()
    actions.create_story(slug="secret", status="draft")
    response = oembed(client, url=url)
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


def test_oembed_xml_is_not_implemented(client, actions):
    actions.create_story()
    response = oembed(client, format="xml")
    assert response.status_code == 501
    assert response.get_json()["error"]["message"] == "Only format=json is supported."


HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A newspaper</title></head>
<body>
<h1>Somebody else's site</h1>
<div data-liveblog="{site}/stories/storm">Storm watch</div>
<div data-liveblog="javascript:alert(1)">not a story</div>
<div data-liveblog="{site}/admin/">not a story either</div>
<script src="{site}/static/embed.js"></script>
</body></html>
"""


@pytest.fixture
def host_page(live_server):
    """A page on another origin (another port) that embeds the story with static/embed.js."""
    yield from serve_host_page(HOST_PAGE.format(site=live_server).encode())


def serve_host_page(html: bytes):
    """Serve one page from another origin (another port) until the generator is closed."""

    def host(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html]

    server = make_server("127.0.0.1", 0, host, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(SERVER_POLL_SECONDS,),
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def browser_page(browser):
    """A page in a fresh context of the shared headless Chromium."""
    context = browser.new_context()
    yield context.new_page()
    context.close()


FRAME_HEIGHT = "() => parseInt(document.querySelector('iframe').style.height, 10) || 0"
SPOOF = """() => new Promise(resolve => {
  // Listeners run in order: by the time this one runs, embed.js has seen the message.
  window.addEventListener("message", function seen(event) {
    if (!event.data.spoof) return;
    window.removeEventListener("message", seen);
    resolve(document.querySelector("iframe").style.height);
  });
  window.postMessage({type: "liveblog:height", slug: "storm", height: 5, spoof: true}, "*");
})"""


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's Chromium not at {CHROMIUM}")
def test_loader_embeds_the_story_on_another_origin_and_grows_with_it(
    browser_page, host_page, live_server, actions
):
    from playwright.sync_api import expect

    page = browser_page
    actions.create_story()
    actions.post_entry(body="<p>Rain is spreading north.</p>")
    page.goto(host_page)
    assert page.evaluate("location.origin") != live_server

    iframe = page.locator("iframe")
    expect(iframe).to_have_count(1)  # the two bad addresses were left alone
    expect(iframe).to_have_attribute("title", "Live: Storm watch")
    expect(iframe).to_have_attribute("src", f"{live_server}/stories/storm/embed")
    frame = page.frame_locator("iframe")
    expect(frame.locator("#entries > .entry")).to_have_count(1)
    page.wait_for_function(f"({FRAME_HEIGHT})() > 0", timeout=5000)
    first = page.evaluate(FRAME_HEIGHT)
    inside = page.frames[1].evaluate("document.documentElement.getBoundingClientRect().height")
    assert abs(first - inside) <= 1  # sized to its content, no inner scrollbar

    assert page.evaluate(SPOOF) == f"{first}px"  # a message not from the frame changes nothing

    for n in range(3):
        actions.post_entry(
            body=f"<p>{'Another long paragraph of news. ' * 20} {n}</p>", headline=f"Update {n}"
        )
    expect(frame.locator("#entries > .entry")).to_have_count(4, timeout=5000)
    expect(frame.locator("#entries > .entry").first).to_contain_text("Update 2")
    page.wait_for_function(f"({FRAME_HEIGHT})() > {first} + 200", timeout=5000)


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's Chromium not at {CHROMIUM}")
def test_an_oembed_consumers_page_grows_with_the_story(browser_page, live_server, actions):
    """A site that pastes the oEmbed answer into its page gets a frame that follows the story."""
    from playwright.sync_api import expect

    actions.create_story()
    actions.post_entry(body="<p>Rain is spreading north.</p>")
    answer = actions.client.get("/oembed", base_url=live_server, query_string={
        "url": f"{live_server}/stories/storm"}).get_json()
    assert answer["html"].endswith(f'<script async src="{live_server}/static/embed.js"></script>')
    consumer = serve_host_page(
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>A newspaper</title>"
        f"</head><body><h1>Elsewhere</h1>{answer['html']}</body></html>".encode())
    page = browser_page
    try:
        page.goto(next(consumer))
        frame = page.frame_locator("iframe")
        expect(frame.locator("#entries > .entry")).to_have_count(1, timeout=5000)
        page.wait_for_function(f"({FRAME_HEIGHT})() > 0", timeout=5000)
        first = page.evaluate(FRAME_HEIGHT)
        for n in range(3):
            actions.post_entry(body=f"<p>{'More news. ' * 60} {n}</p>", headline=f"Update {n}")
        expect(frame.locator("#entries > .entry")).to_have_count(4, timeout=5000)
        page.wait_for_function(f"({FRAME_HEIGHT})() > {first} + 200", timeout=5000)
    finally:
        consumer.close()


STORIES_IN_TWO_LANGUAGES = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A newspaper</title></head>
<body>
<h1>Somebody else's site</h1>
<div data-liveblog="{site}/stories/gulf-storm">Gulf storm</div>
<div data-liveblog="{site}/stories/tempete">Storm in Brittany</div>
<script src="{site}/static/embed.js"></script>
</body></html>
"""


@pytest.mark.browser
@pytest.mark.databases("sqlite")  # the scripts are the same on either engine
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's Chromium not at {CHROMIUM}")
def test_the_loaders_frames_are_named_in_their_storys_language(
    browser_page, live_server, actions
):
    """A screen reader announces each frame in its story's words and language, not in English."""
    from playwright.sync_api import expect

    actions.create_story("gulf-storm", title="عاصفة فوق الخليج", language="ar")
    actions.create_story("tempete", title="Tempête sur la Bretagne", language="fr")
    host = serve_host_page(STORIES_IN_TWO_LANGUAGES.format(site=live_server).encode())
    page = browser_page
    try:
        page.goto(next(host))
        arabic, french = page.locator("iframe").nth(0), page.locator("iframe").nth(1)
        # The catalogues' "Live: %(title)s", as the oEmbed answer names the frame.
        expect(arabic).to_have_attribute("title", "مباشر: عاصفة فوق الخليج", timeout=5000)
        expect(french).to_have_attribute("title", "En direct : Tempête sur la Bretagne")
        # The title's language, so that it is read with Arabic or French voices.
        expect(arabic).to_have_attribute("lang", "ar")
        expect(french).to_have_attribute("lang", "fr")
        # A page that only claims a title in a message of its own changes nothing.
        named = page.evaluate("""() => new Promise(resolve => {
          window.addEventListener("message", function seen(event) {
            if (!event.data.spoof) return;
            window.removeEventListener("message", seen);
            resolve(document.querySelector("iframe").title);
          });
          window.postMessage({type: "liveblog:height", height: 5, title: "Fake", spoof: true}, "*");
        })""")
        assert named == "مباشر: عاصفة فوق الخليج"
    finally:
        host.close()
