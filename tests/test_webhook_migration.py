"""Migration 0007 turns each endpoint's event-id cursor into one cursor per story, and back."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from liveblog import create_app
from liveblog.extensions import db

NOW = "2026-01-01 10:00:00"


def test_endpoints_go_on_where_they_were_in_every_story(empty_database_url, tmp_path,
                                                        monkeypatch):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        try:
            upgrade(revision="0006")
            with db.engine.begin() as connection:
                for story_id, slug, last_seq in ((1, "storm", 3), (2, "flood", 2)):
                    connection.execute(text(
                        "INSERT INTO stories (id, slug, title, summary, status, timezone,"
                        " label_format, created_at, updated_at, last_seq, archived)"
                        " VALUES (:id, :slug, 'T', '', 'live', 'UTC', 'x', :now, :now, :seq, :no)"
                    ), {"id": story_id, "slug": slug, "now": NOW, "seq": last_seq, "no": False})
                # Ids interleave the stories: storm 1, 2, 4 and flood 1, 2 as ids 3 and 5.
                for event_id, story_id, seq in ((1, 1, 1), (2, 1, 2), (3, 2, 1), (4, 1, 3),
                                                (5, 2, 2)):
                    connection.execute(text(
                        "INSERT INTO events (id, story_id, seq, type, payload, created_at)"
                        " VALUES (:id, :story, :seq, 'entry.created', '{}', :now)"
                    ), {"id": event_id, "story": story_id, "seq": seq, "now": NOW})
                for endpoint_id, story_id, cursor in ((1, None, 3), (2, 1, 2)):
                    connection.execute(text(
                        "INSERT INTO webhook_endpoints (id, url, secret, story_id, event_types,"
                        " active, created_at, cursor_event_id, failures)"
                        " VALUES (:id, 'http://x/', 's', :story, '', :yes, :now, :cursor, 0)"
                    ), {"id": endpoint_id, "story": story_id, "cursor": cursor, "yes": True,
                        "now": NOW})
            upgrade(revision="0007")
            with db.engine.connect() as connection:
                cursors = connection.execute(text(
                    "SELECT endpoint_id, story_id, last_seq FROM webhook_cursors"
                    " ORDER BY endpoint_id, story_id")).fetchall()
            downgrade(revision="0006")
            with db.engine.connect() as connection:
                back = connection.execute(text(
                    "SELECT id, cursor_event_id FROM webhook_endpoints ORDER BY id")).fetchall()
        finally:
            db.engine.dispose()
    # Endpoint 1 had passed event 3: storm seq 2 and flood seq 1. Endpoint 2 watched the storm.
    assert [tuple(row) for row in cursors] == [(1, 1, 2), (1, 2, 1), (2, 1, 2)]
    # Back to ids: just before the oldest event not yet given (storm seq 3 is id 4).
    assert [tuple(row) for row in back] == [(1, 3), (2, 3)]
