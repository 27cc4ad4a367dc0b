"""A story set back to draft vanishes from every public address, and no cache keeps it for long."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header

from liveblog.web.caching import TAKEDOWN_SECONDS

STORY_ADDRESSES = [
    "/stories/storm",
    "/stories/storm?before={first}",
    "/stories/storm?through={first}",
    "/stories/storm/entries/{first}",
    "/stories/storm/embed",
    "/stories/storm/feed.atom",
    "/stories/storm/feed.json",
    "/oembed?url=http://localhost/stories/storm",
    "/oembed?url=http://localhost/stories/storm/embed",
    "/api/stories/storm",
    "/api/stories/storm/entries",
    "/api/stories/storm/entries/{first}",
    "/api/stories/storm/events",
    "/api/stories/storm/events?after=0&limit=2",  # a closed range
    "/api/stories/storm/events?after=3",
]


@pytest.fixture
def story(client, actions):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>Update {n}</p>")["id"] for n in range(4)]
    return ids


def unpublish(client, actions):
    answer = client.patch("/api/stories/storm", json={"status": "draft"},
                          headers=actions.headers())
    assert answer.status_code == 200 and answer.get_json()["status"] == "draft"


@pytest.mark.parametrize("address", STORY_ADDRESSES)
def test_every_story_address_answers_404_once_the_story_is_a_draft(client, actions, story,
                                                                   address):
    path = address.format(first=story[0])
    before = client.get(path)
    assert before.status_code in (200, 302), path
    etag = before.headers.get("ETag")
    unpublish(client, actions)
    after = client.get(path)
    assert after.status_code == 404, path
    assert "no-store" in after.headers["Cache-Control"]
    assert "Update 0" not in after.get_data(as_text=True)
    if etag:
        # A client or CDN revalidating its copy must not be told to keep it.
        revalidated = client.get(path, headers={"If-None-Match": etag})
        assert revalidated.status_code == 404, path


def test_the_lists_and_the_sitemap_drop_the_story(client, actions, story):
    for path in ("/", "/sitemap.xml", "/api/stories"):
        assert "storm" in client.get(path).get_data(as_text=True), path
    unpublish(client, actions)
    for path in ("/", "/sitemap.xml", "/api/stories"):
        assert "/stories/storm" not in client.get(path).get_data(as_text=True), path
    assert client.get("/api/stories").get_json()["stories"] == []


def test_the_desk_and_token_holders_still_see_it(client, actions, story):
    unpublish(client, actions)
    answer = client.get("/api/stories/storm/entries", headers=actions.headers())
    assert answer.status_code == 200 and len(answer.get_json()["entries"]) == 4
    assert answer.headers["Cache-Control"] == "private, no-store"


def _lifetime(response) -> int:
    """How long a shared cache may hand this answer out without asking again."""
    cache = parse_cache_control_header(response.headers["Cache-Control"],
                                       cls=ResponseCacheControl)
    assert not cache.immutable, response.headers["Cache-Control"]
    return (cache.s_maxage or cache.max_age or 0) + int(cache.stale_while_revalidate or 0)


@pytest.mark.parametrize("archived", [False, True])
def test_no_public_answer_outlives_a_takedown_for_long(client, actions, story, archived):
    # A CDN serves what it holds until it expires, whatever the origin says meanwhile: a story
    # taken back to draft (a legal takedown) must be gone everywhere within TAKEDOWN_SECONDS.
    if archived:
        assert client.patch("/api/stories/storm", json={"status": "ended", "archived": True},
                            headers=actions.headers()).status_code == 200
    for address in STORY_ADDRESSES:
        response = client.get(address.format(first=story[0]))
        if response.status_code == 200:
            assert _lifetime(response) <= TAKEDOWN_SECONDS, (address, response.headers)
    assert TAKEDOWN_SECONDS <= 600


def test_a_closed_range_revalidates_with_a_304_while_public(client, actions, story):
    path = "/api/stories/storm/events?after=0&limit=2"
    first = client.get(path)
    actions.post_entry(body="<p>Later</p>")  # moves last_seq, not the closed range
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
