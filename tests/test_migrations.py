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
