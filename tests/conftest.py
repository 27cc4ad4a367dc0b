"""Shared fixtures: an app on a fresh database, API actions, and a real server for WebSockets.

Every test that uses a database runs twice, once per engine, in the same session: on a SQLite
file under tmp_path ([sqlite] in its id) and on a new login, with a schema of its own, to a
PostgreSQL server that each xdist worker starts for itself when it first needs one
([postgresql], see pg_support.py). Tests
that touch no database run once. `--database sqlite` (or postgresql) narrows the run to one
engine; a test marked `databases(...)` runs only on the engines it names.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import jinja2
import jinja2.bccache
import pytest
from flask import Flask
from pg_support import PostgresServer, SchemaLogins, find_bindir
from servers import PASSWORD_HASH, SERVER_POLL_SECONDS
from sqlalchemy.pool import NullPool
from werkzeug.routing import Rule
from werkzeug.serving import make_server

from liveblog import create_app
from liveblog.api.auth import issue_token
from liveblog.config import engine_options
from liveblog.extensions import db
from liveblog.models import Role, User

# The browser fixture lives with the Chromium launch recipe, the receiver with the webhook helpers.
pytest_plugins = ["browser_support", "webhook_support"]

DATABASES = ("sqlite", "postgresql")

# Tests post and connect far faster than a newsroom; test_limits.py sets real figures. Limits
# stay on, so the login throttle is still tested.
GENEROUS_LIMITS = {"API_WRITE_LIMIT": "100000 per minute",
                   "LIVE_CONNECT_LIMIT": "100000 per minute"}


def _memoise_url_builders() -> None:
    # Werkzeug compiles two Python functions per URL rule in every create_app: 30 of its 40 ms
    # here, and the suite makes ~1,300 apps. A builder depends only on the rule's text, its
    # parts, its defaults and append_unknown (it reaches converters through the rule at call
    # time), so rules of the same shape share one.
    compile_builder = Rule._compile_builder
    builders = {}

    def memoised(rule: Rule, append_unknown: bool = True):
        key = (rule.rule, tuple(rule._trace), repr(sorted((rule.defaults or {}).items())),
               append_unknown)
        if key not in builders:
            builders[key] = compile_builder(rule, append_unknown)
        return builders[key]

    Rule._compile_builder = memoised


_memoise_url_builders()


class _CompiledTemplates(jinja2.BytecodeCache):
    """Templates compiled once per test process, not once per app: each test's app has its own
    Jinja environment, and compiling every template again in each took about half of a desk
    test's time. A bucket whose source changed is compiled again (Jinja compares checksums)."""

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Fill the bucket with code compiled by an earlier app, if any."""
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Keep what an app has just compiled."""
        self._code[bucket.key] = bucket.bytecode_to_string()


# Every app made in this process (the apps' own settings are untouched: this is Flask's default).
Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _CompiledTemplates()}


def pytest_addoption(parser):
    """--database: run the database tests on one engine only."""
    parser.addoption("--database", action="append", choices=DATABASES,
                     help="run the database tests on this engine only (default: both)")


def chosen_databases(config) -> tuple[str, ...]:
    """The engines this run covers: --database, else LIVEBLOG_TEST_DATABASE, else both."""
    named = config.getoption("database") or os.environ.get("LIVEBLOG_TEST_DATABASE", "").split()
    for name in named:
        if name not in DATABASES:
            raise pytest.UsageError(f"LIVEBLOG_TEST_DATABASE must be one of {', '.join(DATABASES)}")
    return tuple(name for name in DATABASES if name in named) or DATABASES


def pytest_configure(config):
    """Refuse PostgreSQL without its server binaries up front, not in every test."""
    config.addinivalue_line(
        "markers", "databases(*names): the only engines on which the test means something")
    if "postgresql" in chosen_databases(config):
        try:
            find_bindir()
        except RuntimeError as missing:
            raise pytest.UsageError(str(missing)) from None


def pytest_report_header(config):
    """Say which databases the suite runs on."""
    return f"liveblog test databases: {', '.join(chosen_databases(config))}"


def pytest_generate_tests(metafunc):
    """Run each test that uses a database once per engine it covers."""
    if "database" not in metafunc.fixturenames:
        return
    engines = chosen_databases(metafunc.config)
    only = metafunc.definition.get_closest_marker("databases")
    if only is not None:
        engines = tuple(name for name in engines if name in only.args)
    metafunc.parametrize("database", engines, indirect=True)


def _long_ones_early(items: list) -> list:
    # xdist hands tests out in this order. Tests that start processes, spread through the first
    # half: the run then ends on short tests rather than one worker finishing a long one while
    # the other idles, and long tests still seldom run beside each other.
    long = [item for item in items if item.get_closest_marker("slow")]
    short = [item for item in items if not item.get_closest_marker("slow")]
    step = max(1, len(short) // (2 * len(long) + 1)) if long else 1
    ordered = []
    for index, item in enumerate(short):
        if long and index % step == 0:
            ordered.append(long.pop(0))
        ordered.append(item)
    return ordered + long  # any left over


def pytest_collection_modifyitems(config, items):
    """Leave out, and say so, a test for an engine this run does not cover; long tests early."""
    items[:] = _long_ones_early(items)
    engines = chosen_databases(config)
    left_out = []
    for item in list(items):
        only = item.get_closest_marker("databases")
        if only is not None and not set(only.args) & set(engines):
            left_out.append(item)
            items.remove(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"{len(left_out)} tests need an engine this run does not "
                                f"cover ({', '.join(engines)} only); left out")


@pytest.fixture
def database(request) -> str:
    """The engine this test runs on: sqlite or postgresql."""
    return request.param


@pytest.fixture(scope="session")
def postgres_server():
    """This worker's PostgreSQL server, started at first use."""
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_logins(postgres_server, tmp_path_factory) -> SchemaLogins:
    """Fresh logins, each with its own schema, in one database of this worker's server."""
    instance = str(tmp_path_factory.mktemp("schema-instance"))

    def create_tables(url: str) -> None:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("LIVEBLOG_INSTANCE", instance)
            with create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}).app_context():
                db.create_all()
                db.engine.dispose()

    return SchemaLogins(postgres_server, create_tables)


@pytest.fixture
def postgres(database, request) -> PostgresServer | None:
    """The PostgreSQL server when the test runs on PostgreSQL, else None."""
    if database != "postgresql":
        return None
    return request.getfixturevalue("postgres_server")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A SQLite file with the models' schema, copied for each test: cheaper than creating it."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIVEBLOG_INSTANCE", str(path.parent / "instance"))
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        with app.app_context():
            db.create_all()
            db.engine.dispose()
    return str(path)


@pytest.fixture
def database_url(database, request, tmp_path):
    """A new database with the models' schema, empty: a SQLite file, or a PostgreSQL login."""
    if database == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    logins = request.getfixturevalue("postgres_logins")
    url = logins.with_tables()
    yield url
    logins.end(url, reusable=True)


@pytest.fixture
def empty_database_url(database, request, tmp_path):
    """A new database without any table, for tests that run the migrations themselves."""
    if database == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    logins = request.getfixturevalue("postgres_logins")
    url = logins.empty()
    yield url
    logins.end(url, reusable=False)


@pytest.fixture
def app(database_url, postgres, tmp_path, monkeypatch):
    """An application on its own database (SQLite: a file, never in-memory with threads)."""
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = make_app(database_url, postgres is not None)
    yield app
    let_go(app)


def make_app(database_url: str, on_postgres: bool, **settings) -> Flask:
    """An app as the `app` fixture makes it, with these settings over the test ones."""
    settings = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, **GENEROUS_LIMITS,
                **settings}
    if on_postgres:
        # No pool: a connection a server thread still holds when the test ends is closed when
        # that thread lets go of it, instead of being garbage-collected open later (psycopg
        # warns then, and the warning lands in whichever test runs next).
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_options(database_url),
                                                 "poolclass": NullPool}
    return create_app(settings)


def let_go(app: Flask) -> None:
    """Stop what an app of `make_app` started and close its database connections."""
    # A vote starts the app's poll announcer; left running, it would try this test's dropped
    # database every second for the rest of the session, and log each failure.
    announcer = app.extensions.get("liveblog.polls")
    if announcer is not None:
        announcer.stop()
    # Every app that received a frame has a delivery thread, idle for good once its test ends.
    app.extensions["liveblog.hub"].stop()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):
    """A Flask test client for plain HTTP."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A runner for the Flask CLI."""
    return app.test_cli_runner()


class Actions:
    """Small helpers that set up users, tokens and stories and call the API."""

    def __init__(self, app, client):
        self.app = app
        self.client = client
        self.token = self.create_user("editor@example.org", Role.EDITOR)[1]

    def create_user(self, email: str, role: Role = Role.EDITOR, name: str = "Ed Itor"):
        """Create a user and return (user id, API token)."""
        with self.app.app_context():
            user = User(email=email, display_name=name, role=role.value)
            user.password_hash = PASSWORD_HASH
            db.session.add(user)
            db.session.commit()
            return user.id, issue_token(user)

    def headers(self, token: str | None = None, **extra) -> dict:
        """Authorization headers for the default editor or the given token."""
        return {"Authorization": f"Bearer {token or self.token}", **extra}

    def create_story(self, slug: str = "storm", **fields) -> dict:
        """Create a story through the API and return its JSON."""
        body = {"slug": slug, "title": fields.pop("title", "Storm watch"), **fields}
        response = self.client.post("/api/stories", json=body, headers=self.headers())
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def post_entry(self, slug: str = "storm", body: str = "<p>Update</p>", **fields) -> dict:
        """Publish an entry through the API and return its JSON."""
        response = self.client.post(
            f"/api/stories/{slug}/entries", json={"body": body, **fields}, headers=self.headers()
        )
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def actions(app, client):
    """API actions as the default editor."""
    return Actions(app, client)


@pytest.fixture
def live_server(app):
    """The app on a real threaded Werkzeug server on 127.0.0.1, for WebSocket and browser tests."""
    with serve_in_thread(app) as url:
        yield url


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    """Serve the app on a real threaded Werkzeug server on 127.0.0.1; its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(SERVER_POLL_SECONDS,),
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
