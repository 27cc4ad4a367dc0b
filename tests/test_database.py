"""Database set-up on both engines: URLs, engine options, UTC, and what no row can match."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pg_support import SERVER_TIMEZONE
from sqlalchemy import select, text

from liveblog import create_app
from liveblog.config import engine_options, normalise_database_url
from liveblog.database import MAX_INTEGER
from liveblog.extensions import db
from liveblog.models import Story

on_postgresql = pytest.mark.databases("postgresql")


@pytest.mark.parametrize(("given", "used"), [
    ("postgres://u:p@db/news", "postgresql+psycopg://u:p@db/news"),
    ("postgresql://u:p@db:5433/news", "postgresql+psycopg://u:p@db:5433/news"),
    ("postgresql+psycopg://u@db/news", "postgresql+psycopg://u@db/news"),
    ("sqlite:////srv/liveblog.sqlite3", "sqlite:////srv/liveblog.sqlite3"),
])
def test_a_bare_postgresql_url_uses_psycopg(given, used):
    assert normalise_database_url(given) == used


def test_each_engine_gets_its_own_options():
    assert engine_options("sqlite:///x.sqlite3")["connect_args"]["timeout"] == 30
    postgresql = engine_options("postgresql+psycopg://u@db/news")
    assert postgresql["pool_pre_ping"] is True
    assert postgresql["connect_args"]["options"] == "-c timezone=UTC"


def test_the_app_runs_on_the_database_under_test(app, database):
    with app.app_context():
        assert db.engine.dialect.name == database
        if database == "sqlite":  # the PRAGMA hook is for SQLite only
            assert db.session.scalar(text("PRAGMA journal_mode")) == "wal"


@on_postgresql
def test_postgresql_sessions_work_in_utc_whatever_the_servers_zone(app, actions, postgres):
    assert postgres.execute("SHOW timezone") == SERVER_TIMEZONE  # far from UTC on purpose
    story = actions.create_story()
    with app.app_context():
        assert db.session.scalar(text("SHOW timezone")) == "UTC"
        created = db.session.scalar(select(Story.created_at).filter_by(slug="storm"))
    assert created.utcoffset() == timedelta(0)
    assert story["created_at"] == created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("path", [
    f"/stories/storm/entries/{MAX_INTEGER + 1}",
    f"/api/stories/storm/entries/{MAX_INTEGER + 1}",
    f"/media/{MAX_INTEGER + 1}/480.jpg",
    "/stories/storm%00",
    "/stories/storm%00/feed.atom",
    "/api/stories/storm%00",
    "/api/stories/storm%00/entries",
    "/api/stories/storm%00/events?after=0",
])
def test_a_nul_or_a_number_past_any_id_in_the_path_names_nothing(client, actions, path):
    actions.create_story()
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", [
    "/oembed?url=http://localhost/stories/storm%00",
    "/api/stories/storm/entries?before=1%00",
    f"/api/stories/storm/entries?before={MAX_INTEGER + 1}",
    f"/api/stories/storm/events?after={MAX_INTEGER + 1}",
])
def test_a_nul_or_a_number_past_any_id_in_a_query_parameter_is_refused(client, actions, path):
    actions.create_story()
    assert client.get(path).status_code == 400


@pytest.mark.parametrize("query", [f"before={MAX_INTEGER + 1}", f"through={MAX_INTEGER + 1}"])
def test_the_story_page_ignores_an_entry_id_no_row_can_have(client, actions, query):
    actions.create_story()
    actions.post_entry(body="<p>Still here</p>")
    page = client.get(f"/stories/storm?{query}")
    assert page.status_code == 200 and "Still here" in page.get_data(as_text=True)


def test_a_request_that_waits_out_a_full_pool_gets_503_and_a_retry_time(
        database_url, tmp_path, monkeypatch):
    # Found by the 5,000-vote burst: every pooled connection busy, the next request waited
    # pool_timeout and got a 500 with a traceback; the database is only busy, as when it is down.
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "SQLALCHEMY_ENGINE_OPTIONS": {**engine_options(database_url),
                                                    "pool_size": 1, "max_overflow": 0,
                                                    "pool_timeout": 0.1}})
    client = app.test_client()
    with app.app_context():
        held = db.engine.connect()  # the pool's only connection
        try:
            api = client.get("/api/stories")
            page = client.get("/")
        finally:
            held.close()
            db.engine.dispose()
    assert api.status_code == 503 and api.get_json()["error"]["message"]
    assert api.headers["Retry-After"].isdigit()
    assert page.status_code == 503 and page.headers["Retry-After"].isdigit()
