"""Atom and JSON feeds of a story, the sitemap and robots.txt."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from liveblog.public.feeds import absolute_urls

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE = "http://localhost"


def atom(client, slug: str = "storm") -> ET.Element:
    """Fetch and parse a story's Atom feed."""
    response = client.get(f"/stories/{slug}/feed.atom")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    return ET.fromstring(response.data)


def edit(actions, entry: dict, **fields) -> dict:
    """Edit an entry through the API."""
    response = actions.client.patch(
        f"/api/stories/storm/entries/{entry['id']}", json=fields, headers=actions.headers()
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_atom_feed_lists_entries_newest_first_with_the_partial(client, actions):
    actions.create_story(summary="Live as the storm arrives.")
    first = actions.post_entry(body="<p>Rain is spreading north.</p>")
    second = actions.post_entry(body="<p>Winds gusting 70 mph.</p>", headline="Gusts")
    feed = atom(client)

    assert feed.findtext(f"{ATOM}title") == "Storm watch"
    assert feed.findtext(f"{ATOM}subtitle") == "Live as the storm arrives."
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {
        "alternate": f"{BASE}/stories/storm",
        "self": f"{BASE}/stories/storm/feed.atom",
    }
    entries = feed.findall(f"{ATOM}entry")
    permalinks = [f"{BASE}/stories/storm/entries/{e['id']}" for e in (second, first)]
    assert [entry.findtext(f"{ATOM}id") for entry in entries] == permalinks
    newest = entries[0]
    assert newest.findtext(f"{ATOM}title") == "Gusts"
    assert entries[1].findtext(f"{ATOM}title") == "ORIGINAL ENTRY"
    assert newest.findtext(f"{ATOM}author/{ATOM}name") == "Ed Itor"
    link = newest.find(f"{ATOM}link")
    # An Atom link without rel is rel="alternate" (RFC 4287, 4.2.7.2).
    assert link.get("rel", "alternate") == "alternate" and link.get("href") == permalinks[0]
    content = newest.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert f'id="entry-{second["id"]}"' in content.text
    assert "<p>Winds gusting 70 mph.</p>" in content.text
    assert f'href="{permalinks[0]}"' in content.text  # the partial's links made absolute


def test_atom_entry_updated_changes_when_the_entry_is_edited(client, actions):
    actions.create_story()
    entry = actions.post_entry(body="<p>First words.</p>")
    before = atom(client).find(f"{ATOM}entry")
    edited = edit(actions, entry, body="<p>Better words.</p>")
    after = atom(client).find(f"{ATOM}entry")

    assert after.findtext(f"{ATOM}updated") > before.findtext(f"{ATOM}updated")
    assert after.findtext(f"{ATOM}published") == before.findtext(f"{ATOM}published")
    assert "Better words." in after.findtext(f"{ATOM}content")
    assert edited["updated_at"] > entry["updated_at"]


def test_atom_escapes_ampersands_and_markup(client, actions):
    actions.create_story(title="Storms & floods")
    actions.post_entry(body="<p>Salt &amp; pepper &lt;b&gt;</p>", headline="Tom & Jerry")
    feed = atom(client)

    assert feed.findtext(f"{ATOM}title") == "Storms & floods"
    entry = feed.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Tom & Jerry"
    assert "<p>Salt &amp; pepper &lt;b&gt;</p>" in entry.findtext(f"{ATOM}content")


def test_feeds_hold_the_latest_fifty(client, actions):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>number {n}</p>")["id"] for n in range(52)]
    entries = atom(client).findall(f"{ATOM}entry")
    items = client.get("/stories/storm/feed.json").get_json()["items"]

    expected = [f"{BASE}/stories/storm/entries/{i}" for i in reversed(ids[2:])]
    assert [entry.findtext(f"{ATOM}id") for entry in entries] == expected
    assert [item["id"] for item in items] == expected


def test_json_feed_has_the_required_keys_and_the_partial(client, actions):
    actions.create_story(summary="Live as the storm arrives.")
    first = actions.post_entry(body="<p>Rain is spreading north.</p>")
    second = actions.post_entry(body="<p>Gusts of 70 mph.</p>", headline="Gusts")
    response = client.get("/stories/storm/feed.json")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/feed+json"
    feed = response.get_json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Storm watch"
    assert feed["description"] == "Live as the storm arrives."
    assert feed["home_page_url"] == f"{BASE}/stories/storm"
    assert feed["feed_url"] == f"{BASE}/stories/storm/feed.json"
    assert feed["expired"] is False
    assert [item["title"] for item in feed["items"]] == ["Gusts", "ORIGINAL ENTRY"]
    item = feed["items"][0]
    assert set(item) == {
        "id",
        "url",
        "title",
        "content_html",
        "date_published",
        "date_modified",
        "authors",
    }
    assert item["id"] == item["url"] == f"{BASE}/stories/storm/entries/{second['id']}"
    assert item["date_published"] == second["published_at"]
    assert item["date_modified"] == second["updated_at"]
    assert item["authors"] == [{"name": "Ed Itor"}]
    assert "<p>Gusts of 70 mph.</p>" in item["content_html"]
    assert f'id="entry-{first["id"]}"' in feed["items"][1]["content_html"]


def test_json_feed_date_modified_follows_edits_and_expires_when_ended(client, actions):
    actions.create_story()
    entry = actions.post_entry(body="<p>First words.</p>")
    edited = edit(actions, entry, body="<p>Better words.</p>")
    client.patch("/api/stories/storm", json={"status": "ended"}, headers=actions.headers())
    feed = client.get("/stories/storm/feed.json").get_json()

    assert feed["items"][0]["date_modified"] == edited["updated_at"] != entry["updated_at"]
    assert feed["expired"] is True


def test_feeds_answer_304_when_nothing_changed(client, actions):
    actions.create_story()
    actions.post_entry()
    first = client.get("/stories/storm/feed.atom")
    again = client.get("/stories/storm/feed.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


@pytest.mark.parametrize("path", ["feed.atom", "feed.json"])
def test_feeds_of_drafts_and_unknown_stories_are_not_found(client, actions, path):
    actions.create_story(slug="secret", status="draft")
    assert client.get(f"/stories/secret/{path}").status_code == 404
    assert client.get(f"/stories/nothing/{path}").status_code == 404


def test_sitemap_lists_the_index_and_public_stories(client, actions):
    live = actions.create_story(slug="storm")
    ended = actions.create_story(slug="election", title="Election", status="ended")
    actions.create_story(slug="secret", status="draft")
    response = client.get("/sitemap.xml")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    urls = {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in ET.fromstring(response.data).findall(f"{SITEMAP}url")
    }
    assert set(urls) == {f"{BASE}/", f"{BASE}/stories/storm", f"{BASE}/stories/election"}
    assert urls[f"{BASE}/stories/storm"] == live["updated_at"][:19] + "+00:00"
    assert urls[f"{BASE}/stories/election"] == ended["updated_at"][:19] + "+00:00"
    assert urls[f"{BASE}/"] == max(live["updated_at"], ended["updated_at"])[:19] + "+00:00"


def test_robots_points_at_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.get_data(as_text=True).splitlines()
    assert lines == [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /api/",
        f"Sitemap: {BASE}/sitemap.xml",
    ]


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        (
            '<a href="/stories/x/entries/1">a &amp; b</a>',
            '<a href="http://h/stories/x/entries/1">a &amp; b</a>',
        ),
        (
            '<img src="/media/1.jpg" srcset="/media/1-480.jpg 480w, /media/1-960.jpg 960w" alt="">',
            '<img src="http://h/media/1.jpg" srcset="http://h/media/1-480.jpg 480w,'
            ' http://h/media/1-960.jpg 960w" alt="">',
        ),
        ('<a href="https://example.org/x">out</a>', '<a href="https://example.org/x">out</a>'),
        ("<p>1 &lt; 2</p> tail", "<p>1 &lt; 2</p> tail"),
    ],
)
def test_absolute_urls(html, expected):
    assert absolute_urls(html, "http://h/") == expected


@pytest.mark.parametrize(("pasted", "watch", "thumbnail"), [
    ("https://www.youtube.com/watch?v=aqz-KE-bpKQ", "https://www.youtube.com/watch?v=aqz-KE-bpKQ",
     "https://i.ytimg.com/vi/aqz-KE-bpKQ/hqdefault.jpg"),
    ("https://vimeo.com/76979871", "https://vimeo.com/76979871", None),
])
def test_feeds_carry_videos_as_plain_links_not_the_pages_button(client, actions, pasted, watch,
                                                               thumbnail):
    actions.create_story()
    actions.post_entry(body=f"<p>Watch this:</p><p>{pasted}</p>")
    content = atom(client).find(f"{ATOM}entry").findtext(f"{ATOM}content")
    items = client.get("/stories/storm/feed.json").get_json()["items"]
    for html in (content, items[0]["content_html"]):
        assert "<button" not in html and "data-embed-src" not in html
        assert f'<a href="{watch}"' in html
        if thumbnail:
            assert f'<img src="{thumbnail}"' in html
