"""The path `make run` takes: migrate, seed the demo, serve with gunicorn's gevent worker."""

from __future__ import annotations

import glob
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from servers import Gunicorn, seed
from test_live import close_code, raw_websocket, ws_url
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from liveblog.live import shutdown
from liveblog.ops.demo import DEMO_SLUG

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


@pytest.fixture
def demo_env(tmp_path, empty_database_url):
    """The environment of `make run`: a fresh instance folder and an empty database."""
    return {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
            "DATABASE_URL": empty_database_url}


@pytest.fixture
def gunicorn_demo(gunicorn_demo_server):
    """Run the `make run` steps against a fresh instance folder; yield (base URL, token)."""
    base, token, _ = gunicorn_demo_server
    return base, token


@pytest.fixture
def gunicorn_demo_server(demo_env, tmp_path):
    """The `make run` steps on a fresh instance; yield (base URL, token, the master process)."""
    token = seed(demo_env)
    with Gunicorn(demo_env, str(tmp_path / "gunicorn.log")) as server:
        yield server.base, token, server.process


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
@pytest.mark.slow
def test_demo_story_updates_live_under_gunicorn_gevent(gunicorn_demo):
    base, token = gunicorn_demo
    with urllib.request.urlopen(f"{base}/stories/{DEMO_SLUG}", timeout=5) as page:
        html = page.read().decode()
    assert "Storm Ada" in html and "ORIGINAL ENTRY" in html
    seq = int(html.split('data-seq="', 1)[1].split('"', 1)[0])
    live = base.replace("http://", "ws://") + f"/api/stories/{DEMO_SLUG}/live?after={seq}"
    with connect(live) as ws:
        request = urllib.request.Request(
            f"{base}/api/stories/{DEMO_SLUG}/entries",
            data=json.dumps({"body": "<p>Posted like curl would</p>"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        sent = time.monotonic()
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201
        frame = json.loads(ws.recv(timeout=1.0))
        assert time.monotonic() - sent < 1.0
    assert frame["type"] == "entry.created" and frame["seq"] == seq + 1
    assert "Posted like curl would" in frame["html"]


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
@pytest.mark.slow
def test_the_server_publishes_a_scheduled_entry_at_its_time(gunicorn_demo, demo_env):
    base, token = gunicorn_demo
    script = (
        "from datetime import timedelta\n"
        "from sqlalchemy import select\n"
        "from app import app\n"
        "from liveblog import publishing\n"
        "from liveblog.extensions import db\n"
        "from liveblog.models import EntryStatus, Story, User, utcnow\n"
        "with app.app_context():\n"
        "    story = db.session.scalar(select(Story))\n"
        "    user = db.session.scalar(select(User))\n"
        "    publishing.create_entry(story.id, user, {'body': '<p>On the hour</p>'},\n"
        "        status=EntryStatus.SCHEDULED, scheduled_for=utcnow() + timedelta(seconds=2))\n"
    )
    with urllib.request.urlopen(f"{base}/stories/{DEMO_SLUG}", timeout=5) as page:
        seq = int(page.read().decode().split('data-seq="', 1)[1].split('"', 1)[0])
    live = base.replace("http://", "ws://") + f"/api/stories/{DEMO_SLUG}/live?after={seq}"
    with connect(live) as ws:
        subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=demo_env, check=True,
                       timeout=60)
        frame = json.loads(ws.recv(timeout=10))
    assert frame["type"] == "entry.created" and "On the hour" in frame["html"]


# One engine: the subject is the server processes, not the database; PostgreSQL, as in
# production with several workers.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_stopping_the_server_closes_readers_with_1012_at_once(gunicorn_demo_server):
    """Graceful shutdown tells readers to reconnect elsewhere instead of holding them."""
    base, _, server = gunicorn_demo_server
    live = base.replace("http://", "ws://") + f"/api/stories/{DEMO_SLUG}/live?after=0"
    with connect(live) as ws:
        json.loads(ws.recv(timeout=5))  # a replayed frame: the reader is subscribed by now
        server.send_signal(signal.SIGTERM)
        started = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=8)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert time.monotonic() - started < 5  # not the whole graceful timeout
    assert server.wait(timeout=15) == 0


def _open_files_limits(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/limits") as handle:
        line = next(line for line in handle if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    return int(soft), int(hard)


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
def test_gunicorn_lifts_the_open_files_limit_for_its_workers(demo_env, tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 1024:
        pytest.skip(f"the hard limit ({hard}) leaves nothing to lift")
    subprocess.run([os.path.join(BIN, "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT,
                   env=demo_env, check=True, capture_output=True, timeout=60)
    # Started as a shell with the usual soft limit would start it.
    lowered = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # noqa: E731
    with Gunicorn(demo_env, str(tmp_path / "gunicorn.log"), preexec_fn=lowered) as server:
        (worker,) = server.worker_pids()
        assert _open_files_limits(worker) == (hard, hard)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, 1),  # alone: a second worker would not hear the first one's events
    ({"REDIS_URL": "redis://127.0.0.1:1/0"}, os.cpu_count()),  # linked: one per core
    ({"REDIS_URL": "redis://127.0.0.1:1/0", "WEB_CONCURRENCY": "3"}, 3),
])
def test_workers_default_to_one_per_core_only_when_redis_links_them(tmp_path, env, expected):
    clean = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "WEB_CONCURRENCY")}
    # A metrics directory of the test's own, so importing the settings creates none elsewhere.
    clean.update(env, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    answer = subprocess.run(
        [sys.executable, "-c", "import liveblog.ops.gunicorn_conf as c; print(c.workers)"],
        cwd=ROOT, env=clean, check=True, capture_output=True, text=True, timeout=60)
    assert int(answer.stdout) == expected


# One engine: the subject is the server processes, not the database; PostgreSQL, as in
# production with several workers.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_after_sigterm_a_worker_takes_no_new_reader_and_is_not_ready(gunicorn_demo_server,
                                                                     tmp_path):
    base, _, server = gunicorn_demo_server
    live = base.replace("http://", "ws://") + f"/api/stories/{DEMO_SLUG}/live?after=0"
    with connect(live) as ws:
        json.loads(ws.recv(timeout=5))  # a replayed frame: the reader is subscribed by now
        server.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=8)
    assert closed.value.rcvd.code == 1012
    # The worker sent 1012 from its SIGTERM handler, so it knows by now that it is stopping.
    try:
        with connect(live, open_timeout=5) as late:
            frames = []
            with pytest.raises(ConnectionClosed):
                while True:
                    frames.append(late.recv(timeout=5))
        pytest.fail(f"a reader was let in after SIGTERM and sent {len(frames)} frames")
    except InvalidStatus as refused:
        assert refused.response.status_code == 503
        assert int(refused.response.headers["Retry-After"]) > 0
    except ConnectionRefusedError:
        pass  # the worker has already closed its listening socket: refused as well
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as ready:
            pytest.fail(f"/readyz answered {ready.status} after SIGTERM")
    except urllib.error.HTTPError as unready:
        unready.close()
        assert unready.code == 503
    except urllib.error.URLError as gone:
        assert isinstance(gone.reason, ConnectionRefusedError)
    assert server.wait(timeout=15) == 0
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()  # it stopped cleanly


def _master_pid(control_socket: str) -> int:
    answer = subprocess.run([os.path.join(BIN, "gunicornc"), "-s", control_socket, "-j",
                             "-c", "show stats"], capture_output=True, text=True, timeout=30,
                            check=True)
    return json.loads(answer.stdout)["pid"]


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
@pytest.mark.slow
def test_two_servers_on_one_host_keep_their_own_control_sockets(demo_env, tmp_path):
    subprocess.run([os.path.join(BIN, "flask"), "--app", "app", "db", "upgrade"], cwd=ROOT,
                   env=demo_env, check=True, capture_output=True, timeout=60)
    # A short directory: a Unix socket's path must fit in 108 bytes.
    with tempfile.TemporaryDirectory(prefix="ctl-") as runtime:
        env = {**demo_env, "XDG_RUNTIME_DIR": runtime}
        with (Gunicorn(env, str(tmp_path / "a.log")) as first,
              Gunicorn(env, str(tmp_path / "b.log")) as second):
            sockets = sorted(glob.glob(os.path.join(runtime, "*.ctl")))
            assert len(sockets) == 2, sockets  # neither replaced the other's
            masters = {_master_pid(path) for path in sockets}
            assert masters == {first.process.pid, second.process.pid}
        assert glob.glob(os.path.join(runtime, "*.ctl")) == []  # each removed its own


def test_a_stopping_process_refuses_readers_before_the_handshake(app, live_server, actions):
    actions.create_story()
    actions.post_entry()
    shutdown.begin(app)  # what a worker does on SIGTERM
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_server, after=0), open_timeout=5)
    assert refused.value.response.status_code == 503
    assert 1 <= int(refused.value.response.headers["Retry-After"]) <= 3


def test_a_reader_that_slipped_in_while_stopping_is_sent_away_unreplayed(
        app, live_server, actions):
    actions.create_story()
    actions.post_entry()
    # Its handshake passed before the process began to stop; it subscribes after.
    app.extensions["liveblog.hub"].close_all()
    with raw_websocket(live_server, "/api/stories/storm/live?after=0") as raw:
        assert close_code(raw.recv(4096)) == 1012  # the first frame: nothing replayed
