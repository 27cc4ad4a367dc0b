"""The reader page's beacon of entries seen: counted once per batch, bounded, and anonymous."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from liveblog.analytics import audience
from liveblog.extensions import db
from liveblog.models import EntryReach, Story

ADDRESS = "203.0.113.7"  # the reader's address, which nothing may keep
AGENT = "SeenTest/1.0 (a reader's browser)"


def beacon(client, body, slug: str = "storm", **options):
    """POST a batch of seen entries as a reader's page does (sendBeacon with a JSON Blob)."""
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(f"/api/stories/{slug}/seen", data=data, content_type="application/json",
                       environ_base={"REMOTE_ADDR": ADDRESS}, headers={"User-Agent": AGENT},
                       **options)


def seen_counts(app) -> dict[int, int]:
    """Every entry_reach row: entry id -> seen."""
    with app.app_context():
        return dict(db.session.execute(select(EntryReach.entry_id, EntryReach.seen)).all())


@pytest.fixture
def story(app, actions):
    """A story of three published entries and a scheduled one; another story with one entry."""
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>Update {n}</p>")["id"] for n in range(3)]
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    draft = actions.post_entry(body="<p>Not yet</p>", scheduled_for=tomorrow)["id"]
    actions.create_story(slug="other")
    other = actions.post_entry(slug="other")["id"]
    return ids, draft, other


def test_a_batch_counts_each_published_entry_of_the_story_once(app, client, story):
    (first, second, third), draft, other = story
    answer = beacon(client, {"entries": [first, second, first, draft, other, 999_999]})
    assert answer.status_code == 204 and answer.get_data() == b""
    assert "Set-Cookie" not in answer.headers  # nothing to recognise the reader by next time
    assert answer.headers["Cache-Control"] == "no-store"
    assert seen_counts(app) == {first: 1, second: 1}
    assert beacon(client, {"entries": [first, third]}).status_code == 204
    assert seen_counts(app) == {first: 2, second: 1, third: 1}
    with app.app_context():
        story_id = db.session.scalar(select(Story.id).filter_by(slug="storm"))
        reach = audience.entry_reach(story_id)
    assert reach == {first: {"connected": 0, "seen": 2}, second: {"connected": 0, "seen": 1},
                     third: {"connected": 0, "seen": 1}}


def test_a_batch_is_one_database_write(app, client, story):
    ids, _, _ = story
    statements = []
    with app.app_context():
        engine = db.engine

    def note(_conn, _cursor, statement, *_args):
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", note)
    try:
        assert beacon(client, {"entries": ids}).status_code == 204
    finally:
        event.remove(engine, "before_cursor_execute", note)
    writes = [verb for verb in statements if verb in ("INSERT", "UPDATE", "DELETE")]
    assert writes == ["INSERT"]  # one upsert for the whole batch
    assert seen_counts(app) == dict.fromkeys(ids, 1)


@pytest.mark.parametrize(("body", "status"), [
    ("not json", 400),
    ("[1, 2]", 400),
    ({}, 422),
    ({"entries": []}, 422),
    ({"entries": list(range(1, 52))}, 422),
    ({"entries": ["1"]}, 422),
    ({"entries": [True]}, 422),
    ({"entries": [1.5]}, 422),
    ({"entries": [0]}, 422),
    ({"entries": [2**31]}, 422),
    ({"entries": 1}, 422),
    ({"entries": [1], "reader": "x"}, 422),
    ('{"entries": [1]}' + " " * 3000, 413),
])
def test_a_bad_batch_is_a_4xx_in_json_and_counts_nothing(app, client, story, body, status):
    answer = beacon(client, body)
    assert answer.status_code == status
    assert answer.is_json and answer.get_json()["error"]
    assert seen_counts(app) == {}


def test_a_batch_for_a_story_readers_cannot_see_is_not_found(app, client, actions, story):
    actions.create_story(slug="secret", status="draft")
    assert beacon(client, {"entries": [1]}, slug="secret").status_code == 404
    assert beacon(client, {"entries": [1]}, slug="nothing").status_code == 404
    assert seen_counts(app) == {}


def test_a_flood_of_beacons_adds_no_more_than_the_limit(app, client, story):
    (first, _, _), _, _ = story
    app.config["SEEN_LIMIT"] = "3 per minute"
    statuses = [beacon(client, {"entries": [first]}).status_code for _ in range(10)]
    assert statuses == [204] * 3 + [429] * 7
    refused = beacon(client, {"entries": [first]})
    assert refused.is_json and int(refused.headers["Retry-After"]) > 0
    assert seen_counts(app) == {first: 3}  # a flood from one address inflates by the limit only


def test_nothing_about_the_reader_is_stored(app, client, story):
    ids, _, _ = story
    assert beacon(client, {"entries": ids}).status_code == 204
    # Only ids and counts: the table has no other column.
    assert [column.name for column in EntryReach.__table__.columns] == ["entry_id", "seen"]
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()):
                text = " ".join(str(value) for value in row)
                assert ADDRESS not in text and "SeenTest" not in text, table.name
        assert db.session.scalar(select(func.sum(EntryReach.seen))) == len(ids)


def test_the_story_page_and_the_embed_load_the_beacon_deferred(client, story):
    for path in ("/stories/storm", "/stories/storm/embed"):
        page = client.get(path).get_data(as_text=True)
        tags = re.findall(r'<script [^>]*src="/static/js/seen\.js\?v=[0-9a-f]+"[^>]*>', page)
        assert len(tags) == 1, path
        assert " defer" in tags[0] and "module" not in tags[0] and "async" not in tags[0]
