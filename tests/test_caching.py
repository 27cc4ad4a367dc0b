"""HTTP caching: validators from last_seq, 304s, and the Cache-Control of each kind of answer."""

from __future__ import annotations

import pytest
from flask import session

from liveblog.web.caching import CLOSED_RANGE, OPEN_RANGE, PRIVATE, PUBLIC
from tests.desk_support import log_in

STORY_VIEWS = [
    "/stories/storm",
    "/api/stories/storm",
    "/api/stories/storm/entries",
    "/api/stories/storm/events?after=0",
    "/stories/storm/feed.atom",
    "/stories/storm/feed.json",
]


@pytest.fixture
def story(actions):
    """A live story with two entries; returns the second entry's JSON."""
    actions.create_story()
    actions.post_entry(body="<p>First</p>")
    return actions.post_entry(body="<p>Second</p>")


@pytest.mark.parametrize("path", [*STORY_VIEWS, "/api/stories/storm/entries/{id}"])
def test_a_current_copy_gets_304_by_etag_or_date(client, story, path):
    path = path.format(id=story["id"])
    first = client.get(path)
    assert first.status_code == 200 and first.headers["ETag"] and first.headers["Last-Modified"]

    for headers in ({"If-None-Match": first.headers["ETag"]},
                    {"If-Modified-Since": first.headers["Last-Modified"]}):
        again = client.get(path, headers=headers)
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == first.headers["ETag"]
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]


def test_story_validators_name_the_story_its_seq_and_the_view(client, story):
    etags = {path: client.get(path).headers["ETag"] for path in STORY_VIEWS}
    assert all(etag.startswith('W/"1-2-') for etag in etags.values())
    assert len(set(etags.values())) == len(STORY_VIEWS)  # one validator per kind of view
    assert client.get(f"/api/stories/storm/entries/{story['id']}").headers["ETag"] == '"1"'


@pytest.mark.parametrize("path", STORY_VIEWS)
def test_every_change_readers_see_changes_the_validator(client, actions, story, path):
    seen = [client.get(path).headers["ETag"]]
    added = actions.post_entry(body="<p>Third</p>")
    seen.append(client.get(path).headers["ETag"])
    client.patch(f"/api/stories/storm/entries/{added['id']}", json={"body": "<p>Better</p>"},
                 headers=actions.headers())
    seen.append(client.get(path).headers["ETag"])
    client.delete(f"/api/stories/storm/entries/{added['id']}", headers=actions.headers())
    current = client.get(path)
    seen.append(current.headers["ETag"])
    assert len(set(seen)) == 4
    # An old validator gets the whole new answer, even with a date that would still match.
    stale = client.get(path, headers={"If-None-Match": seen[0],
                                      "If-Modified-Since": current.headers["Last-Modified"]})
    assert stale.status_code == 200 and stale.data == current.data


def test_an_edit_changes_the_entry_validator_to_its_new_version(client, actions, story):
    path = f"/api/stories/storm/entries/{story['id']}"
    old = client.get(path).headers["ETag"]
    client.patch(path, json={"body": "<p>Better</p>"}, headers=actions.headers())
    response = client.get(path, headers={"If-None-Match": old})
    assert response.status_code == 200 and response.headers["ETag"] == '"2"'
    assert response.get_json()["body_html"] == "<p>Better</p>"


def test_if_match_accepts_the_etag_of_a_compressed_answer(client, actions, story):
    path = f"/api/stories/storm/entries/{story['id']}"
    response = client.patch(path, json={"body": "<p>Later</p>"},
                            headers=actions.headers(**{"If-Match": '"1:gzip"'}))
    assert response.status_code == 200 and response.get_json()["version"] == 2


def test_a_closed_range_of_events_is_kept_minutes_and_an_open_one_is_brief(client, actions):
    actions.create_story()
    for n in range(4):
        actions.post_entry(body=f"<p>{n}</p>")

    closed = client.get("/api/stories/storm/events?after=0&limit=2")
    assert [event["seq"] for event in closed.get_json()["events"]] == [1, 2]
    # Not immutable: the story may be taken back to draft (see test_unpublish.py).
    assert closed.headers["Cache-Control"] == CLOSED_RANGE
    assert CLOSED_RANGE == "public, max-age=240, stale-while-revalidate=60"

    for path in ("/api/stories/storm/events?after=0",  # everything, up to the newest
                 "/api/stories/storm/events?after=2&limit=2",  # full, but ends at the newest
                 "/api/stories/storm/events?after=4"):  # nothing yet
        assert client.get(path).headers["Cache-Control"] == OPEN_RANGE
    assert OPEN_RANGE.startswith("public, max-age=2,")


@pytest.mark.parametrize(
    "path", [view for view in STORY_VIEWS if "events" not in view]
    + ["/", "/sitemap.xml", "/stories/storm/embed", "/oembed?url=http://localhost/stories/storm"],
)
def test_public_reads_are_cached_briefly_by_anyone(client, story, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PUBLIC
    assert PUBLIC == "public, max-age=5, stale-while-revalidate=30"


def test_drafts_and_token_reads_are_private(client, actions):
    actions.create_story(slug="secret", status="draft")
    for path in ("/api/stories", "/api/stories/secret", "/api/stories/secret/entries",
                 "/api/stories/secret/events?after=0"):
        response = client.get(path, headers=actions.headers())
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == PRIVATE == "private, no-store"
        assert "Authorization" in response.headers["Vary"]


def test_a_304_never_leaks_a_draft(client, actions):
    actions.create_story(slug="secret", status="draft")
    own = client.get("/api/stories/secret", headers=actions.headers())
    anonymous = client.get("/api/stories/secret", headers={
        "If-None-Match": own.headers["ETag"], "If-Modified-Since": own.headers["Last-Modified"]})
    assert anonymous.status_code == 404 and anonymous.headers["Cache-Control"] == "no-store"
    assert "ETag" not in anonymous.headers and b"secret" in anonymous.data  # the message only


def test_the_desk_is_never_stored(client, actions, story):
    assert client.get("/admin/login").headers["Cache-Control"] == "no-store"
    actions.create_user("desk@example.org")
    log_in(client, "desk@example.org")
    for path in ("/admin/", "/admin/stories/storm"):
        response = client.get(path)
        assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"


def test_writes_and_errors_are_not_stored(client, actions, story):
    created = client.post("/api/stories/storm/entries", json={"body": "<p>x</p>"},
                          headers=actions.headers())
    assert created.status_code == 201 and created.headers["Cache-Control"] == PRIVATE
    assert client.get("/stories/nothing").headers["Cache-Control"] == "no-store"
    assert client.get("/api/stories/nothing").headers["Cache-Control"] == "no-store"


def test_an_answer_that_sets_a_cookie_is_never_shared(app):
    @app.get("/hello")
    def hello():
        session["seen"] = True
        return "Hello"

    response = app.test_client().get("/hello")
    assert "Set-Cookie" in response.headers and response.headers["Cache-Control"] == PRIVATE


def test_the_embed_page_answers_304_until_the_story_changes(client, actions):
    actions.create_story()
    actions.post_entry()
    first = client.get("/stories/storm/embed")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/stories/storm/embed", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    actions.post_entry(body="<p>News</p>")
    changed = client.get("/stories/storm/embed", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "News" in changed.get_data(as_text=True)
