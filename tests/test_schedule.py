"""Scheduled entries: ended stories cost nothing, the due query has an index, DST-safe times."""

from __future__ import annotations

from datetime import timedelta

import pytest
from desk_support import log_in
from sqlalchemy import event, select

from liveblog import publishing
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Story, User, utcnow
from liveblog.scheduler import Scheduler


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
        # One query a pass when nothing is due, and it must not read the whole table.
        assert len(statements) == 1 and "scheduled_for" in statements[0][0]
        with db.engine.begin() as connection:
            plan = _plan(connection, *statements[0])
    assert "ix_entries_status_scheduled" in plan, plan
    assert "SCAN entries" not in plan and "Seq Scan on entries" not in plan, plan
