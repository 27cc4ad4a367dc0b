"""The committed migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect

from liveblog import create_app
from liveblog.extensions import db


def test_migrations_match_the_models(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/migrated.sqlite3"})
    with app.app_context():
        upgrade()
        assert {"users", "api_tokens", "stories", "entries", "events"} <= set(
            inspect(db.engine).get_table_names()
        )
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert differences == []


def test_upgrading_a_populated_database_keeps_its_entries(tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/old.sqlite3"})
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO stories (id, slug, title, summary, status, timezone, label_format,"
                " created_at, updated_at, last_seq) VALUES (1, 's', 'S', '', 'live', 'GMT',"
                " 'UPDATE %H%M %Z', '2026-01-01 10:00:00', '2026-01-01 10:00:00', 1)"
            )
            connection.exec_driver_sql(
                "INSERT INTO entries (id, story_id, body_html, status, pinned, is_original,"
                " published_at, updated_at, version, seq) VALUES (1, 1, '<p>x</p>', 'published',"
                " 0, 1, '2026-01-01 10:05:00', '2026-01-01 10:05:00', 1, 1)"
            )
            connection.exec_driver_sql(
                "INSERT INTO events (story_id, seq, type, entry_id, payload, created_at)"
                " VALUES (1, 1, 'entry.created', 1, '{}', '2026-01-01 10:05:00')"
            )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT id, created_at, key_order FROM entries").fetchall()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        db.engine.dispose()
    assert [(row[0], str(row[1])[:19], row[2]) for row in rows] == [(1, "2026-01-01 10:05:00", 0)]
    assert broken == []
