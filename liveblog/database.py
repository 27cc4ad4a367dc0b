"""Database set-up: SQLAlchemy and migrations, with SQLite tuned for many readers and one writer."""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import event

from .extensions import db, migrate

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


def init_app(app: Flask) -> None:
    """Bind SQLAlchemy and Flask-Migrate to the app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _tune_sqlite)


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets readers read while a writer writes; the busy timeout makes writers queue, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
