"""What one API post costs the database, and the guarantees the cheaper path must keep."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from liveblog import publishing
from liveblog.errors import Conflict, VersionConflict
from liveblog.extensions import db
from liveblog.models import Entry, Event, Story, User

# A budget, not a count to match: token and owner (one query), the story by slug, then under the
# lock: the lock itself (which reads the story back), the idempotency key, ORIGINAL ENTRY, the
# seq, and the four INSERTs. It was 18, with reloads under the lock and after the commit.
STATEMENTS_PER_POST = 10


@contextmanager
def recorded_statements(app):
    """Record every statement, commit and pool checkout of the app's engine meanwhile."""
    with app.app_context():
        engine = db.engine
    log: list[str] = []

    def statement(conn, cursor, text, params, context, executemany):
        log.append(" ".join(text.split()))

    def commit(conn):
        log.append("COMMIT")

    def checkout(*args):
        log.append("CHECKOUT")

    listeners = [(engine, "before_cursor_execute", statement), (engine, "commit", commit),
                 (engine.pool, "checkout", checkout)]
    for target, name, listener in listeners:
        event.listen(target, name, listener)
    try:
        yield log
    finally:
        for target, name, listener in listeners:
            event.remove(target, name, listener)


def _post(client, actions, key: str, body: str = "<p>Update</p>"):
    return client.post("/api/stories/storm/entries", json={"body": body},
                       headers=actions.headers(**{"Idempotency-Key": key}))


def test_one_api_post_runs_at_most_ten_statements_and_none_after_the_commit(app, client,
                                                                             actions):
    actions.create_story()
    _post(client, actions, "warm-up")  # the first entry also looks for an ORIGINAL ENTRY
    with recorded_statements(app) as log:
        response = _post(client, actions, "counted")
    assert response.status_code == 201
    statements = [line for line in log if line not in ("COMMIT", "CHECKOUT")]
    assert len(statements) <= STATEMENTS_PER_POST, "\n".join(statements)
    # One connection per post (one pool ping on PostgreSQL), and the answer is built from what
    # was committed, without reading it back.
    assert log.count("CHECKOUT") == 1
    assert log.count("COMMIT") == 1 and log[-1] == "COMMIT"
    # The lock comes before anything the change reads or writes.
    lock = next(i for i, line in enumerate(statements)
                if line.startswith("UPDATE stories SET last_seq=stories.last_seq "))
    assert lock <= 2  # the token and the story, no more, are read before it
    assert all(line.startswith("SELECT") for line in statements[:lock])


def test_the_answer_is_the_entry_exactly_as_its_event_shows_it(app, client, actions):
    actions.create_story()
    created = _post(client, actions, "one", "<p>Storm <b>lands</b> https://example.org</p>")
    assert created.status_code == 201
    answer = created.get_json()
    with app.app_context():
        payload = json.loads(db.session.scalar(select(Event.payload).filter_by(seq=1)))
    assert answer == {**payload["entry"], "html": payload["html"]}
    assert answer["original"] is True and answer["seq"] == 1
    # ... and as a later read shows it, from the database.
    assert client.get(f"/api/stories/storm/entries/{answer['id']}").get_json() == answer
    assert created.headers["ETag"] == '"1"'


def test_a_retried_key_answers_the_entry_as_it_is_now(app, client, actions):
    actions.create_story()
    first = _post(client, actions, "same").get_json()
    edited = client.patch(f"/api/stories/storm/entries/{first['id']}", json={"pinned": True},
                          headers=actions.headers()).get_json()
    retry = _post(client, actions, "same")
    assert retry.status_code == 200
    assert retry.get_json() == edited
    assert retry.get_json()["version"] == 2


@pytest.fixture
def story_id(app, actions):
    actions.create_story()
    actions.post_entry()
    with app.app_context():
        return db.session.scalar(select(Story.id).filter_by(slug="storm"))


def _elsewhere(app, change):
    # Another session commits a change meanwhile (a nested app context has its own session).
    with app.app_context():
        change()
        db.session.commit()


def test_an_entry_read_before_the_lock_is_read_again_under_it(app, story_id):
    with app.app_context():
        entry = db.session.scalar(select(Entry).filter_by(story_id=story_id))
        assert entry.version == 1

        def edit():
            db.session.get(Entry, entry.id).version = 2

        _elsewhere(app, edit)
        with pytest.raises(VersionConflict):
            publishing.update_entry(story_id, entry.id, {"pinned": True}, expected_version=1)
        updated = publishing.update_entry(story_id, entry.id, {"pinned": True},
                                          expected_version=2)
        assert updated.version == 3


def test_a_story_read_before_the_lock_is_read_again_under_it(app, story_id):
    with app.app_context():
        editor = db.session.scalar(select(User).filter_by(email="editor@example.org"))
        assert db.session.get(Story, story_id).status == "live"
        _elsewhere(app, lambda: publishing.update_story(story_id, {"status": "ended"}))
        with pytest.raises(Conflict):
            publishing.create_entry(story_id, editor, {"body": "<p>Too late</p>"})
        assert db.session.get(Story, story_id).last_seq == 2
