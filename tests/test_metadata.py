"""What the story page tells search engines and link previews: JSON-LD, Open Graph, discovery."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from liveblog.extensions import db
from liveblog.models import Entry, Story
from liveblog.public.metadata import script_json

BASE = "http://localhost"
BREAKOUT = "</script><script>alert(1)</script>"


class Head(HTMLParser):
    """A page's link and meta tags and its JSON-LD text, parsed as a browser would."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.links: list[dict] = []
        self.meta: dict[str, str] = {}
        self.scripts: list[dict] = []
        self.json_ld: list[str] = []
        self._in_ld = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link":
            self.links.append(attrs)
        elif tag == "meta" and ("property" in attrs or "name" in attrs):
            self.meta[attrs.get("property") or attrs["name"]] = attrs["content"]
        elif tag == "script":
            self.scripts.append(attrs)
            self._in_ld = attrs.get("type") == "application/ld+json"
            if self._in_ld:
                self.json_ld.append("")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_ld = False

    def handle_data(self, data):
        if self._in_ld:
            self.json_ld[-1] += data

    def link(self, rel: str, type_: str | None = None) -> dict:
        """The one link with this rel (and type)."""
        found = [
            link
            for link in self.links
            if link.get("rel") == rel and (type_ is None or link.get("type") == type_)
        ]
        assert len(found) == 1, found
        return found[0]


def head(client, slug: str = "storm") -> tuple[Head, str]:
    """Fetch a story page; return its parsed head and its raw HTML."""
    response = client.get(f"/stories/{slug}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return Head(html), html


def test_story_page_links_its_canonical_address_feeds_and_oembed(client, actions):
    actions.create_story()
    page, _ = head(client)
    assert page.link("canonical")["href"] == f"{BASE}/stories/storm"
    atom = page.link("alternate", "application/atom+xml")
    assert atom["href"] == f"{BASE}/stories/storm/feed.atom"
    assert atom["title"] == "Storm watch (Atom)"
    assert page.link("alternate", "application/feed+json")["href"] == (
        f"{BASE}/stories/storm/feed.json"
    )
    oembed = page.link("alternate", "application/json+oembed")["href"]
    address = urlsplit(oembed)
    assert f"{address.scheme}://{address.netloc}{address.path}" == f"{BASE}/oembed"
    assert parse_qs(address.query) == {"url": [f"{BASE}/stories/storm"], "format": ["json"]}
    assert client.get(oembed).get_json()["title"] == "Storm watch"


def test_story_page_has_open_graph_and_twitter_tags(client, actions):
    actions.create_story(summary="Live as the storm arrives.")
    page, _ = head(client)
    page.meta.pop("viewport"), page.meta.pop("color-scheme")  # from base.html
    assert page.meta == {
        "description": "Live as the storm arrives.",
        "og:type": "article",
        "og:site_name": "liveblog",
        "og:title": "Storm watch",
        "og:description": "Live as the storm arrives.",
        "og:url": f"{BASE}/stories/storm",
        "twitter:card": "summary",
        "twitter:title": "Storm watch",
        "twitter:description": "Live as the storm arrives.",
    }


@pytest.mark.parametrize(
    ("cover", "image"),
    [
        ("/static/demo/harbour.png", f"{BASE}/static/demo/harbour.png"),
        ("https://images.example.org/harbour.jpg", "https://images.example.org/harbour.jpg"),
    ],
)
def test_cover_picture_becomes_the_preview_image(client, actions, cover, image):
    actions.create_story(cover_url=cover, cover_alt="Boats in the harbour")
    page, _ = head(client)
    assert page.meta["og:image"] == page.meta["twitter:image"] == image
    assert page.meta["og:image:alt"] == "Boats in the harbour"
    assert page.meta["twitter:card"] == "summary_large_image"
    assert json.loads(page.json_ld[0])["image"] == image


def test_quotes_and_markup_in_titles_stay_inside_their_attributes(client, actions):
    title = "The \"big\" storm & 'floods' <b>"
    actions.create_story(title="placeholder", summary='Say "hello" & go')
    with client.application.app_context():
        # The API strips tags from titles; write directly to prove the template escapes anyway.
        story = db.session.query(Story).filter_by(slug="storm").one()
        story.title = title
        db.session.commit()
    page, html = head(client)
    assert page.meta["og:title"] == page.meta["twitter:title"] == title
    assert page.meta["og:description"] == 'Say "hello" & go'
    assert 'content="The &#34;big&#34; storm &amp; &#39;floods&#39; &lt;b&gt;"' in html
    assert "<b>" not in html.split("</head>")[0]


def test_json_ld_describes_the_live_blog_and_its_latest_updates(client, actions):
    story = actions.create_story(summary="Live as the storm arrives.")
    first = actions.post_entry(body="<p>Rain &amp; <em>wind</em>.</p><p>More soon.</p>")
    second = actions.post_entry(body="<p>Gusts of 70 mph.</p>", headline="Gusts")
    page, _ = head(client)
    assert len(page.json_ld) == 1
    data = json.loads(page.json_ld[0])
    updated = client.get("/api/stories/storm").get_json()["updated_at"]

    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "LiveBlogPosting"
    assert data["headline"] == "Storm watch"
    assert data["description"] == "Live as the storm arrives."
    assert data["url"] == f"{BASE}/stories/storm"
    assert data["datePublished"] == data["coverageStartTime"] == story["created_at"]
    assert data["dateModified"] == updated
    assert "coverageEndTime" not in data
    updates = data["liveBlogUpdate"]
    assert [update["headline"] for update in updates] == ["Gusts", "ORIGINAL ENTRY"]
    assert updates[1] == {
        "@type": "BlogPosting",
        "@id": f"{BASE}/stories/storm/entries/{first['id']}",
        "headline": "ORIGINAL ENTRY",
        "datePublished": first["published_at"],
        "dateModified": first["updated_at"],
        "articleBody": "Rain & wind. More soon.",
        "url": f"{BASE}/stories/storm/entries/{first['id']}",
        "author": [{"@type": "Person", "name": "Ed Itor"}],
    }
    assert updates[0]["url"] == f"{BASE}/stories/storm/entries/{second['id']}"


def test_json_ld_gets_a_coverage_end_once_the_story_ends(client, actions):
    actions.create_story()
    ended = client.patch("/api/stories/storm", json={"status": "ended"}, headers=actions.headers())
    page, _ = head(client)
    data = json.loads(page.json_ld[0])
    assert data["coverageEndTime"] == ended.get_json()["ended_at"] is not None


def test_a_headline_cannot_break_out_of_the_json_ld_script(client, actions):
    actions.create_story()
    entry = actions.post_entry(body="<p>Body</p>", headline="placeholder")
    with client.application.app_context():
        # The API strips tags from headlines; write directly to prove the serializer holds.
        db.session.get(Entry, entry["id"]).headline = BREAKOUT
        db.session.query(Story).filter_by(slug="storm").one().title = BREAKOUT
        db.session.commit()
    page, html = head(client)

    assert "<script>alert(1)" not in html.split("</head>")[0]
    assert [script.get("type") for script in page.scripts].count("application/ld+json") == 1
    inline = [script for script in page.scripts if not script.get("type") and "src" not in script]
    assert inline == []
    data = json.loads(page.json_ld[0])
    assert data["headline"] == BREAKOUT
    assert data["liveBlogUpdate"][0]["headline"] == BREAKOUT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("</script>", '"\\u003c/script\\u003e"'),
        ("a & b", '"a \\u0026 b"'),
        ("<!--", '"\\u003c!--"'),
        ("caf\u00e9 \u2028", '"caf\u00e9 \\u2028"'),
        ({"q": '"quoted"'}, '{"q": "\\"quoted\\""}'),
    ],
)
def test_script_json_escapes_what_html_would_read(value, expected):
    assert script_json(value) == expected
    assert json.loads(str(script_json(value))) == value
