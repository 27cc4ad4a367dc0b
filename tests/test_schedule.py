"""Scheduled entries: ended stories cost nothing, the due query has an index, DST-safe times."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from desk_support import log_in, post_form
from sqlalchemy import event, select

from liveblog import publishing
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Poll, Story, User, iso, utcnow
from liveblog.publishing.scheduler import Scheduler


@pytest.fixture
def story_id(app, actions):
    actions.create_story()
    with app.app_context():
        return db.session.scalar(select(Story.id).filter_by(slug="storm"))


def editor() -> User:
    return db.session.scalar(select(User).filter_by(email="editor@example.org"))


def overdue_entry(story_id: int, body: str = "<p>Too late</p>") -> int:
    """A scheduled entry whose time has passed without the scheduler publishing it."""
    entry, _ = publishing.create_entry(story_id, editor(), {"body": body},
                                       status=EntryStatus.SCHEDULED,
                                       scheduled_for=utcnow() + timedelta(hours=1))
    db.session.execute(Entry.__table__.update().where(Entry.id == entry.id)
                       .values(scheduled_for=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    return entry.id


class Writes:
    """Counts the INSERT, UPDATE and DELETE statements the engine runs while installed."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_a_pass_over_an_ended_story_with_overdue_entries_writes_nothing(app, client, actions,
                                                                       story_id):
    with app.app_context():
        entry_id = overdue_entry(story_id)
        publishing.update_story(story_id, {"status": "ended"})
        scheduler = Scheduler(app)
        with Writes(db.engine) as writes:
            published = [scheduler.run_once() for _ in range(3)]
        assert published == [0, 0, 0]
        assert writes.statements == []
        held = db.session.get(Entry, entry_id)
        assert held.status == EntryStatus.SCHEDULED  # kept for the desk to decide
    # The desk says why it did not go out, and what would publish it.
    log_in(client, "editor@example.org")
    page = client.get("/admin/stories/storm").get_data(as_text=True)
    assert f'id="held-{entry_id}"' in page
    assert "not published: the story has ended" in page.lower()
    # Reopening the story publishes the overdue entry on the next pass, as the note says.
    with app.app_context():
        publishing.update_story(story_id, {"status": "live"})
        assert Scheduler(app).run_once() == 1
        assert db.session.get(Entry, entry_id).status == EntryStatus.PUBLISHED


def test_live_stories_still_publish_when_an_ended_one_has_overdue_entries(app, actions,
                                                                         story_id):
    actions.create_story(slug="other")
    with app.app_context():
        other_id = db.session.scalar(select(Story.id).filter_by(slug="other"))
        overdue_entry(story_id)
        publishing.update_story(story_id, {"status": "ended"})
        live_id = overdue_entry(other_id, "<p>On time</p>")
        assert publishing.publish_due_entries() == 1
        assert db.session.get(Entry, live_id).status == EntryStatus.PUBLISHED


def _plan(connection, statement: str, parameters) -> str:
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        return "\n".join(str(row[-1]) for row in rows)
    # The table is tiny, so PostgreSQL would scan it whatever indexes exist: ask whether the
    # index can serve the query at all.
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
    return "\n".join(row[0] for row in rows)


def test_the_due_entries_query_uses_the_index(app, story_id):
    with app.app_context():
        for n in range(20):
            publishing.create_entry(story_id, editor(), {"body": f"<p>{n}</p>"})
        statements: list[tuple] = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            statements.append((statement, parameters))

        event.listen(db.engine, "before_cursor_execute", seen)
        try:
            publishing.publish_due_entries()
        finally:
            event.remove(db.engine, "before_cursor_execute", seen)
        # At most one query a pass when nothing is due, and it must not read the whole table.
        assert len(statements) <= 1, statements
        due = next(s for s in statements if "scheduled_for" in s[0])
        with db.engine.begin() as connection:
            plan = _plan(connection, *due)
    assert "ix_entries_status_scheduled" in plan, plan
    assert "SCAN entries" not in plan and "Seq Scan on entries" not in plan, plan


# America/New_York in 2027: clocks go forward at 02:00 on 14 March and back at 02:00 on
# 7 November, so 02:30 on 14 March never happens and 01:30 on 7 November happens twice.
ZONE = "America/New_York"
SPRING_GAP = "2027-03-14T02:30"
AUTUMN_TWICE = "2027-11-07T01:30"


@pytest.fixture
def desk(app, client, actions):
    actions.create_story(slug="vote", timezone=ZONE)
    log_in(client, "editor@example.org")
    return client


def schedule(desk, when: str, json: bool = False, **extra):
    """Post the desk's compose form with Schedule."""
    data = {"body": "Polls close.", "action": "schedule", "scheduled_for": when, **extra}
    return post_form(desk, "/admin/stories/vote/entries", data, json=json)


def scheduled_times(app) -> list[str]:
    with app.app_context():
        return [iso(t) for t in db.session.scalars(
            select(Entry.scheduled_for).where(Entry.status == EntryStatus.SCHEDULED))]


@pytest.mark.parametrize("json", [False, True])
def test_the_desk_refuses_a_time_the_clocks_skip(app, desk, json):
    answer = schedule(desk, SPRING_GAP, json=json)
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert "02:30 on 14 March 2027 does not exist in America/New_York" in text
    assert "clocks go forward" in text
    assert scheduled_times(app) == []


def test_the_desk_asks_which_of_two_times_and_keeps_the_choice(app, desk):
    page = schedule(desk, AUTUMN_TWICE)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "01:30 EDT (UTC\u22124)" in html and "01:30 EST (UTC\u22125)" in html
    assert 'name="scheduled_offset" value="-04:00"' in html
    assert 'name="scheduled_offset" value="-05:00"' in html
    assert scheduled_times(app) == []
    # The script gets the same two readings to offer.
    refused = schedule(desk, AUTUMN_TWICE, json=True)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["choices"] == [
        {"offset": "-04:00", "label": "01:30 EDT (UTC\u22124)"},
        {"offset": "-05:00", "label": "01:30 EST (UTC\u22125)"},
    ]
    # The second 01:30 (standard time) is 06:30 UTC; the first would have been 05:30.
    chosen = schedule(desk, AUTUMN_TWICE, json=True, scheduled_offset="-05:00")
    assert chosen.status_code == 201, chosen.get_json()
    assert scheduled_times(app) == ["2027-11-07T06:30:00.000000Z"]


def test_a_leftover_choice_does_not_shift_an_ordinary_time(app, desk):
    answer = schedule(desk, "2027-07-01T09:00", json=True, scheduled_offset="-05:00")
    assert answer.status_code == 201
    assert scheduled_times(app) == ["2027-07-01T13:00:00.000000Z"]  # EDT, not the -05:00


def test_the_desk_honours_an_explicit_offset(app, desk):
    answer = schedule(desk, SPRING_GAP + "+05:00", json=True)
    assert answer.status_code == 201, answer.get_json()
    assert scheduled_times(app) == ["2027-03-13T21:30:00.000000Z"]


def test_the_api_schedules_only_times_with_an_offset(app, client, actions):
    actions.create_story(slug="vote", timezone=ZONE)
    url = "/api/stories/vote/entries"
    bare = client.post(url, json={"body": "Polls close.", "scheduled_for": AUTUMN_TWICE + ":00"},
                       headers=actions.headers())
    assert bare.status_code == 422
    assert "UTC offset" in bare.get_json()["error"]["fields"]["scheduled_for"]
    garbled = client.post(url, json={"body": "x", "scheduled_for": "tomorrow"},
                          headers=actions.headers())
    assert garbled.status_code == 422
    assert scheduled_times(app) == []
    ok = client.post(url, json={"body": "Polls close.", "scheduled_for": AUTUMN_TWICE + "-05:00"},
                     headers=actions.headers())
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["status"] == "scheduled"
    assert scheduled_times(app) == ["2027-11-07T06:30:00.000000Z"]
    # Readers see nothing until it is due, and an edit cannot reschedule.
    assert client.get("/api/stories/vote/entries").get_json()["entries"] == []
    spec = client.get("/api/openapi.json").get_json()
    field = spec["components"]["schemas"]["EntryCreate"]["properties"]["scheduled_for"]
    assert field["format"] == "date-time" and "offset" in field["description"]
    assert "scheduled_for" not in spec["components"]["schemas"]["EntryUpdate"]["properties"]


class Statements:
    """Counts every statement the engine runs while installed."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0

    def _seen(self, *args):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def backdate(model, row_id: int, **values) -> None:
    """Move a row's times into the past, as if the scheduler had been away."""
    db.session.execute(model.__table__.update().where(model.id == row_id).values(**values))
    db.session.commit()


def test_one_query_tells_a_pass_whether_anything_timed_is_due(app, actions, story_id):
    scheduler = Scheduler(app)
    past = utcnow() - timedelta(minutes=5)
    with app.app_context():
        with Statements(db.engine) as seen:
            assert scheduler.anything_due() is False
        assert seen.count == 1
        overdue_entry(story_id)
    assert scheduler.anything_due() is True
    assert scheduler.run_once() == 1
    assert scheduler.anything_due() is False

    poll_entry = actions.post_entry(poll={"question": "Open the flood gates?",
                                          "options": ["Yes", "No"]})
    with app.app_context():
        poll_id = db.session.get(Entry, poll_entry["id"]).poll_id
        backdate(Poll, poll_id, closes_at=past)
    assert scheduler.anything_due() is True
    scheduler.run_once()
    assert scheduler.anything_due() is False
    with app.app_context():
        assert db.session.get(Poll, poll_id).closed_at is not None

    actions.create_story(slug="later", status="draft")
    with app.app_context():
        later = db.session.scalar(select(Story.id).filter_by(slug="later"))
        backdate(Story, later, opens_at=past)
    assert scheduler.anything_due() is True
    scheduler.run_once()
    assert scheduler.anything_due() is False
    with app.app_context():
        assert db.session.get(Story, later).status == "live"
        backdate(Story, story_id, closes_at=past)
    assert scheduler.anything_due() is True
    scheduler.run_once()
    assert scheduler.anything_due() is False
    with app.app_context():
        assert db.session.get(Story, story_id).status == "ended"
        overdue_entry(later)
        publishing.update_story(later, {"status": "ended"})
    # Held entries of an ended story are no work: the loop does not wake for them.
    assert scheduler.anything_due() is False


def test_the_loop_publishes_on_time_and_runs_the_untimed_checks_too(app, actions, story_id,
                                                                    monkeypatch):
    full_passes, questions = [], []
    run_once, anything_due = Scheduler.run_once, Scheduler.anything_due
    monkeypatch.setattr(Scheduler, "run_once",
                        lambda self: full_passes.append(1) or run_once(self))
    monkeypatch.setattr(Scheduler, "anything_due",
                        lambda self: questions.append(1) or anything_due(self))
    running = Scheduler(app, interval=0.01).start()
    try:
        # Idle, it asks its one question, and makes the full pass (untold tallies, archiving)
        # only every tenth time.
        deadline = time.monotonic() + 10
        while len(full_passes) < 2:
            assert time.monotonic() < deadline, "no full pass"
            time.sleep(0.01)  # polling the loop's own counter: there is no event to wait on
        assert len(questions) >= 9 * (len(full_passes) - 1)
        assert len(full_passes) <= len(questions) // 9 + 1
        with app.app_context():
            entry_id = overdue_entry(story_id)
        while True:
            with app.app_context():
                if db.session.get(Entry, entry_id).status == EntryStatus.PUBLISHED:
                    break
            assert time.monotonic() < deadline, "the overdue entry was not published"
            time.sleep(0.01)
    finally:
        running.stop()
