"""The committed migrations build exactly the schema the models describe."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from liveblog import create_app
from liveblog.extensions import db

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLASK = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "flask")


def test_migrations_match_the_models(empty_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        upgrade()
        assert {"users", "api_tokens", "stories", "entries", "events"} <= set(
            inspect(db.engine).get_table_names()
        )
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
        db.engine.dispose()
    assert differences == []


def test_upgrading_a_populated_database_keeps_its_entries(
    empty_database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        try:
            upgrade(revision="0001")
            with db.engine.begin() as connection:
                # Bound values, so the same SQL runs on SQLite and PostgreSQL ("%" included).
                connection.execute(text(
                    "INSERT INTO stories (id, slug, title, summary, status, timezone, label_format,"
                    " created_at, updated_at, last_seq) VALUES (1, 's', 'S', '', 'live', 'GMT',"
                    " :label_format, :created, :created, 1)"
                ), {"label_format": "UPDATE %H%M %Z", "created": "2026-01-01 10:00:00"})
                connection.execute(text(
                    "INSERT INTO entries (id, story_id, body_html, status, pinned, is_original,"
                    " published_at, updated_at, version, seq) VALUES (1, 1, '<p>x</p>',"
                    " 'published', :no, :yes, :published, :published, 1, 1)"
                ), {"no": False, "yes": True, "published": "2026-01-01 10:05:00"})
                connection.execute(text(
                    "INSERT INTO events (story_id, seq, type, entry_id, payload, created_at)"
                    " VALUES (1, 1, 'entry.created', 1, '{}', :published)"
                ), {"published": "2026-01-01 10:05:00"})
            upgrade()
            with db.engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT id, created_at, key_order FROM entries")).fetchall()
                # SQLite alters a table by copying it with foreign keys off; check nothing broke.
                # PostgreSQL checks every write itself.
                if connection.dialect.name == "sqlite":
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    assert broken == []
        finally:
            db.engine.dispose()
    assert [(row[0], str(row[1])[:19], row[2]) for row in rows] == [(1, "2026-01-01 10:05:00", 0)]


def test_make_migrate_prints_each_upgrade_and_no_plugin_noise(empty_database_url, tmp_path):
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": empty_database_url}
    env.pop("LOG_FORMAT", None)  # as `make migrate` runs it
    done = subprocess.run([FLASK, "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    lines = done.stderr.splitlines()
    assert any("Running upgrade  -> 0001" in line for line in lines), done.stderr
    assert any("Running upgrade 0006 -> 0007" in line for line in lines), done.stderr
    assert not [line for line in lines if "plugin" in line], done.stderr


def test_upgrading_in_a_running_process_leaves_its_logging_alone(
    empty_database_url, tmp_path, monkeypatch
):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    app = create_app({"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        try:
            upgrade()
        finally:
            db.engine.dispose()
    # alembic.ini's logging config would switch the app's request log off for good.
    assert logging.getLogger("liveblog.requests").disabled is False
    assert (root.handlers, root.level) == (handlers, level)
