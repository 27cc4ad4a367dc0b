"""Database set-up: SQLAlchemy and migrations, with SQLite tuned for many readers and one writer."""

from __future__ import annotations

import os

from flask import Flask, request
from sqlalchemy import event
from werkzeug.exceptions import BadRequest, NotFound

from liveblog.extensions import db, migrate

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
# PostgreSQL's INTEGER, which ids and seqs are; SQLite's is wider. No row has a larger number,
# and asking PostgreSQL for one is an error, not an empty answer.
MAX_INTEGER = 2**31 - 1


def init_app(app: Flask) -> None:
    """Bind SQLAlchemy and Flask-Migrate to the app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _tune_sqlite)
    app.before_request(_refuse_impossible_names)


def _refuse_impossible_names() -> None:
    # PostgreSQL refuses any text holding a NUL, even in a WHERE clause, and any number past its
    # INTEGER: a 500 without this. Nothing we store has either, so such a URL names nothing.
    if "\x00" in request.path:
        raise NotFound()
    numbers = [value for value in (request.view_args or {}).values() if isinstance(value, int)]
    if any(number > MAX_INTEGER for number in numbers):
        raise NotFound()
    if any("\x00" in value for _, value in request.args.items(multi=True)):
        raise BadRequest("A query parameter holds a NUL character.")


def _tune_sqlite(dbapi_connection, _record) -> None:
    # WAL lets readers read while a writer writes; the busy timeout makes writers queue, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
