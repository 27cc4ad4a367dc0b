"""The JSON API: stories, entries, paging, versions, idempotency, events and bad input."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from liveblog.extensions import db
from liveblog.models import Entry, Event, Role


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(model.id)))


def test_create_and_read_a_story(client, actions):
    story = actions.create_story(slug="budget-day", title="Budget day", timezone="Europe/London")
    assert story["slug"] == "budget-day" and story["status"] == "live"
    assert client.get("/api/stories/budget-day").get_json()["title"] == "Budget day"
    assert [s["slug"] for s in client.get("/api/stories").get_json()["stories"]] == ["budget-day"]


def test_drafts_are_hidden_from_the_public(client, actions):
    actions.create_story(slug="secret", status="draft")
    assert client.get("/api/stories/secret").status_code == 404
    assert client.get("/api/stories").get_json()["stories"] == []
    assert client.get("/api/stories/secret", headers=actions.headers()).status_code == 200


def test_entry_shape_and_rendered_html(client, actions):
    actions.create_story()
    entry = actions.post_entry(body="<p>Water is <strong>rising</strong></p>",
                               headline="Flood <b>warning</b>", pinned=True)
    assert set(entry) >= {"id", "seq", "published_at", "label", "headline", "body_html", "pinned",
                          "version", "author", "html"}
    assert entry["label"] == "ORIGINAL ENTRY"
    assert entry["headline"] == "Flood warning"  # headlines are plain text
    assert entry["author"] == {"id": 1, "name": "Ed Itor"}
    assert f'id="entry-{entry["id"]}"' in entry["html"]
    assert "<strong>rising</strong>" in entry["html"]
    second = actions.post_entry(body="<p>Later</p>", label="BREAKING")
    assert second["label"] == "BREAKING" and second["seq"] == 2


def test_entries_are_paged_newest_first(client, actions):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>{n}</p>")["id"] for n in range(7)]
    page = client.get("/api/stories/storm/entries?limit=3").get_json()
    assert [e["id"] for e in page["entries"]] == ids[::-1][:3]
    page2 = client.get(page["next"]).get_json()
    assert [e["id"] for e in page2["entries"]] == ids[::-1][3:6]
    page3 = client.get(page2["next"]).get_json()
    assert [e["id"] for e in page3["entries"]] == ids[:1] and page3["next"] is None


def test_edit_with_if_match_and_stale_version(client, actions):
    actions.create_story()
    entry = actions.post_entry(body="<p>Draft one</p>")
    url = f"/api/stories/storm/entries/{entry['id']}"
    ok = client.patch(url, json={"body": "<p>Draft two</p>"},
                      headers=actions.headers(**{"If-Match": '"1"'}))
    assert ok.status_code == 200 and ok.get_json()["version"] == 2 and ok.headers["ETag"] == '"2"'
    stale = client.patch(url, json={"body": "<p>Mine</p>"},
                         headers=actions.headers(**{"If-Match": "1"}))
    assert stale.status_code == 412
    error = stale.get_json()["error"]
    assert error["current"]["body_html"] == "<p>Draft two</p>" and error["current"]["version"] == 2
    assert client.get(url).get_json()["body_html"] == "<p>Draft two</p>"


def test_delete_hides_the_entry(client, actions):
    actions.create_story()
    entry = actions.post_entry()
    url = f"/api/stories/storm/entries/{entry['id']}"
    assert client.delete(url, headers=actions.headers()).status_code == 204
    assert client.get(url).status_code == 404
    assert client.get("/api/stories/storm/entries").get_json()["entries"] == []
    assert client.delete(url, headers=actions.headers()).status_code == 404


def test_idempotency_key_over_http(app, client, actions):
    actions.create_story()
    headers = actions.headers(**{"Idempotency-Key": "retry-123"})
    first = client.post("/api/stories/storm/entries", json={"body": "<p>Once</p>"}, headers=headers)
    second = client.post("/api/stories/storm/entries", json={"body": "<p>Once</p>"},
                         headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]
    assert _count(app, Entry) == 1 and _count(app, Event) == 1


def test_a_retry_after_the_story_ended_returns_the_first_entry(app, client, actions):
    # The post committed, its answer was lost, then an editor ended the story: the retry must
    # get the entry it created, not a 409 that makes the client post it again later.
    actions.create_story()
    headers = actions.headers(**{"Idempotency-Key": "lost-answer"})
    first = client.post("/api/stories/storm/entries", json={"body": "<p>Once</p>"}, headers=headers)
    ended = client.patch("/api/stories/storm", json={"status": "ended"}, headers=actions.headers())
    assert first.status_code == 201 and ended.status_code == 200
    retry = client.post("/api/stories/storm/entries", json={"body": "<p>Once</p>"},
                        headers=headers)
    assert retry.status_code == 200, retry.get_json()
    assert retry.get_json()["id"] == first.get_json()["id"]
    assert _count(app, Entry) == 1
    # A new post, with another key or none, is still refused.
    fresh = client.post("/api/stories/storm/entries", json={"body": "<p>Twice</p>"},
                        headers=actions.headers(**{"Idempotency-Key": "another"}))
    assert fresh.status_code == 409


def test_events_after_seq(client, actions):
    actions.create_story()
    for n in range(4):
        actions.post_entry(body=f"<p>{n}</p>")
    events = client.get("/api/stories/storm/events?after=2").get_json()
    assert [e["seq"] for e in events["events"]] == [3, 4]
    assert events["last_seq"] == 4 and events["events"][0]["type"] == "entry.created"


def test_writes_need_a_token_with_a_publishing_role(app, client, actions):
    actions.create_story()
    _, contributor = actions.create_user("c@example.org", Role.CONTRIBUTOR)
    body = {"body": "<p>x</p>"}
    url = "/api/stories/storm/entries"
    assert client.post(url, json=body).status_code == 401
    bad = client.post(url, json=body, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "message" in bad.get_json()["error"]
    assert client.post(url, json=body, headers=actions.headers(contributor)).status_code == 403
    assert _count(app, Entry) == 0


def test_revoked_token_is_refused(app, runner, client, actions):
    actions.create_story()
    result = runner.invoke(args=["tokens", "revoke", "editor@example.org"])
    assert "Revoked 1" in result.output
    response = client.post("/api/stories/storm/entries", json={"body": "<p>x</p>"},
                           headers=actions.headers())
    assert response.status_code == 401


BAD_ENTRY_REQUESTS = [
    ("missing body", {"json": {"headline": "No body"}}, 422, "body"),
    ("empty body", {"json": {"body": "<p> </p>"}}, 422, "body"),
    ("script-only body", {"json": {"body": "<script>x()</script>"}}, 422, "body"),
    # Blank once cleaned, whatever the markup around nothing: spaces that are entities, and a
    # link whose attributes hold ">" (a naive tag pattern would leave text behind).
    ("non-breaking spaces only", {"json": {"body": "<p>&nbsp; &#160;</p>"}}, 422, "body"),
    ("an empty link", {"json": {"body": '<a href="https://example.org/?a>b" title="x>y"></a>'}},
     422, "body"),
    ("body not a string", {"json": {"body": 42}}, 422, "body"),
    ("pinned not a bool", {"json": {"body": "<p>x</p>", "pinned": "yes"}}, 422, "pinned"),
    ("headline a list", {"json": {"body": "<p>x</p>", "headline": ["a"]}}, 422, "headline"),
    ("unknown field", {"json": {"body": "<p>x</p>", "sticky": True}}, 422, "sticky"),
    ("lone surrogate", {"data": '{"body": "<p>\\ud800</p>"}'}, 422, "body"),
    ("body too long", {"json": {"body": "x" * 100_001}}, 422, "body"),
    ("invalid JSON", {"data": "{not json"}, 400, None),
    ("JSON array", {"json": ["body"]}, 400, None),
    ("invalid UTF-8", {"data": b'{"body": "\xff\xfe"}'}, 400, None),
    ("deeply nested", {"data": "[" * 100_000 + "]" * 100_000}, 400, None),
    ("2 MB body", {"json": {"body": "x" * 2_000_000}}, 413, None),
]


@pytest.mark.parametrize(("case", "request_kwargs", "status", "field"), BAD_ENTRY_REQUESTS,
                         ids=[case[0] for case in BAD_ENTRY_REQUESTS])
def test_bad_entry_input_is_refused_with_json_and_nothing_stored(
    app, client, actions, case, request_kwargs, status, field
):
    actions.create_story()
    headers = actions.headers(**{"Content-Type": "application/json"})
    response = client.post("/api/stories/storm/entries", headers=headers, **request_kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert error["status"] == status and error["message"]
    if field:
        assert field in error["fields"]
    assert _count(app, Entry) == 0 and _count(app, Event) == 0



@pytest.mark.parametrize("body", ["<p>&lt;</p>", "<p><b>.</b></p>", "<p>\u200b</p>"])
def test_a_body_of_one_character_is_an_entry(client, actions, body):
    # Not blank: what survives the clean is a character a reader sees (or a zero-width one,
    # which the body keeps as written).
    actions.create_story()
    response = client.post("/api/stories/storm/entries", json={"body": body},
                           headers=actions.headers())
    assert response.status_code == 201, response.get_json()

@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("post", "/api/stories/nowhere/entries", {"json": {"body": "<p>x</p>"}}, 404),
        ("get", "/api/stories/nowhere", {}, 404),
        ("get", "/api/stories/nowhere/events", {}, 404),
        ("get", "/api/stories/storm/entries/99999999999999999999999", {}, 404),
        ("get", "/api/stories/storm/entries?limit=0", {}, 400),
        ("get", "/api/stories/storm/entries?limit=abc", {}, 400),
        ("get", "/api/stories/storm/entries?before=99999999999999999999999", {}, 400),
        ("get", "/api/stories/storm/events?after=-1", {}, 400),
        ("patch", "/api/stories/storm", {"json": {"timezone": "Mars/Olympus"}}, 422),
        ("patch", "/api/stories/storm", {"json": {"status": "paused"}}, 422),
        ("patch", "/api/stories/storm", {"json": {"label_format": "%c"}}, 422),
        ("post", "/api/stories", {"json": {"slug": "Bad Slug!", "title": "x"}}, 422),
        ("post", "/api/stories", {"json": {"slug": "storm", "title": "Again"}}, 409),
        ("patch", "/api/stories/storm/entries/1", {"json": {"body": "<p>x</p>"},
                                                   "headers": {"If-Match": "abc"}}, 400),
        ("put", "/api/stories/storm", {"json": {}}, 405),
        ("get", "/api/nothing-here", {}, 404),
    ],
)
def test_bad_requests_get_json_errors(client, actions, method, url, kwargs, status):
    actions.create_story()
    # Read, not popped: the same dict serves the test's run on the other engine.
    kwargs = dict(kwargs)
    headers = {**actions.headers(), **kwargs.pop("headers", {})}
    response = getattr(client, method)(url, headers=headers, **kwargs)
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_a_story_change_answers_with_the_seq_and_time_it_took(client, actions):
    # The seq is taken by a statement on the table, not through the loaded story: the answer
    # must still show what the row now holds, as a fresh read does.
    actions.create_story()
    actions.post_entry()
    actions.post_entry()
    answer = client.patch("/api/stories/storm", json={"title": "Storm watch, day two"},
                          headers=actions.headers())
    assert answer.status_code == 200, answer.get_json()
    fresh = client.get("/api/stories/storm").get_json()
    assert answer.get_json()["last_seq"] == fresh["last_seq"] == 3
    assert answer.get_json()["updated_at"] == fresh["updated_at"]
