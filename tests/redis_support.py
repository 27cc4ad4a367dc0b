"""Fixtures for relay tests: a real redis-server, and two app processes on the suite's database."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass

import pytest
from servers import PASSWORD_HASH, SERVER_POLL_SECONDS, Gunicorn, free_port, seed
from sqlalchemy.pool import NullPool
from werkzeug.serving import make_server

from liveblog import create_app
from liveblog.api.auth import issue_token
from liveblog.config import engine_options
from liveblog.extensions import db
from liveblog.models import Role, User

# Debian's package (make test-deps installs it), or one on PATH (Homebrew on macOS).
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
READY = "Ready to accept connections"


class RedisServer:
    """A throwaway redis-server on one port, with no persistence; can be stopped and restarted."""

    def __init__(self, directory: str, port: int | None = None):
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self._watcher: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The URL clients connect with."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait (bounded) for its "ready" log line."""
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", self.directory],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        ready, lines = threading.Event(), []

        def watch(stream) -> None:
            # Keep draining the log so the server never blocks on a full pipe.
            for line in stream:
                lines.append(line)
                if READY in line:
                    ready.set()
            ready.set()  # the server exited: stop waiting

        self._watcher = threading.Thread(target=watch, args=(self.process.stdout,), daemon=True)
        self._watcher.start()
        if not ready.wait(timeout) or self.process.poll() is not None:
            self.stop()
            raise RuntimeError(f"redis-server did not start on {self.port}:\n{''.join(lines)}")

    def stop(self) -> None:
        """Terminate the server and wait for it to exit."""
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=10)
        self._watcher.join(timeout=10)
        self.process.stdout.close()
        self.process = None


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on a free port, stopped at the end of the test."""
    if not os.access(REDIS_SERVER, os.X_OK):
        pytest.skip(f"{REDIS_SERVER} is missing (make test-deps installs it)")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(str(directory))
    server.start()
    yield server
    server.stop()


@dataclass
class Process:
    """One simulated server process: an app with its own hub and relay, on its own server."""

    app: object
    url: str

    @property
    def relay(self):
        """This process's Redis relay."""
        return self.app.extensions["liveblog.relay"]

    def post_entry(self, token: str, slug: str, body: str) -> dict:
        """Publish an entry through this process's API."""
        response = self.app.test_client().post(
            f"/api/stories/{slug}/entries", json={"body": body},
            headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def two_processes(tmp_path, monkeypatch, redis_server, database_url, postgres):
    """Apps A and B on the same database (the suite's kind) and Redis; ([A, B], editor token)."""
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    config = {"TESTING": True, "REDIS_URL": redis_server.url,
              "SQLALCHEMY_DATABASE_URI": database_url}
    if postgres is not None:
        # As in the app fixture: no pool, so no connection outlives the test half-open.
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_options(database_url),
                                               "poolclass": NullPool}
    apps = [create_app(dict(config)) for _ in range(2)]
    with apps[0].app_context():
        db.create_all()
        user = User(email="editor@example.org", display_name="Ed Itor", role=Role.EDITOR.value)
        user.password_hash = PASSWORD_HASH
        db.session.add(user)
        db.session.commit()
        token = issue_token(user)
    servers, threads, processes = [], [], []
    for app in apps:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threads.append(threading.Thread(target=server.serve_forever,
                                        args=(SERVER_POLL_SECONDS,), daemon=True))
        threads[-1].start()
        servers.append(server)
        processes.append(Process(app, f"http://127.0.0.1:{server.server_port}"))
    yield processes, token
    for server, thread, process in zip(servers, threads, processes, strict=True):
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        process.relay.stop()
        with process.app.app_context():
            db.engine.dispose()


@pytest.fixture
def gunicorn_workers(tmp_path, redis_server, empty_database_url, postgres):
    """Two gunicorn gevent workers on a migrated, seeded database and Redis; (URL, token)."""
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
           "REDIS_URL": redis_server.url}
    env.pop("DATABASE_URL", None)
    if postgres is not None:  # on SQLite the instance folder's file is the database
        env["DATABASE_URL"] = empty_database_url
    token = seed(env)
    with Gunicorn(env, str(tmp_path / "gunicorn.log"), workers=2) as server:
        yield server.base, token
