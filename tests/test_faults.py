"""Faults survived: a worker killed, Redis and PostgreSQL restarted, a reader that stops reading.

Every wait is bounded, and every process a test starts is stopped even when it fails.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
from desk_support import csrf_token, log_in
from fault_support import WAIT, ResumingReader, post_entry
from servers import Gunicorn, seed, websocket_handshake
from sqlalchemy import func, select
from test_live import assert_silent, close_code, raw_websocket, receive_frames
from websockets.sync.client import connect

from liveblog.extensions import db
from liveblog.models import Entry, Event, Story
from liveblog.ops.demo import DEMO_SLUG

# The fixture redis_server.
pytest_plugins = ["redis_support"]


@pytest.fixture
def server_env(tmp_path, empty_database_url):
    """The environment of a production process: its own instance folder and database."""
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": empty_database_url}
    env.pop("REDIS_URL", None)
    return env


def last_seq(base: str) -> int:
    """The demo story's newest seq, read over HTTP."""
    with urllib.request.urlopen(f"{base}/api/stories/{DEMO_SLUG}", timeout=WAIT) as response:
        return json.load(response)["last_seq"]


def start_readers(stack: ExitStack, base: str, after: int, count: int) -> list[ResumingReader]:
    """Readers of the demo story from `after`, each connected, stopped when the stack closes."""
    readers = [ResumingReader(base, DEMO_SLUG, after) for _ in range(count)]
    for reader in readers:
        reader.start()
        stack.callback(reader.stop)
    for reader in readers:
        assert reader.connected.wait(WAIT), "a reader could not connect"
    return readers


def publish(base: str, token: str, label: str, count: int) -> None:
    """Publish `count` entries one after another."""
    for n in range(count):
        post_entry(base, token, DEMO_SLUG, f"<p>{label} {n}</p>")


# One engine: the subject is the server processes, not the database; PostgreSQL, as in
# production with several workers.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_readers_of_a_killed_worker_resume_and_miss_nothing(tmp_path, server_env):
    """kill -9 the only worker mid-stream: the master starts another, readers resume by seq."""
    token = seed(server_env)
    with Gunicorn(server_env, str(tmp_path / "gunicorn.log")) as server, ExitStack() as stack:
        start = last_seq(server.base)
        readers = start_readers(stack, server.base, start, count=5)
        publish(server.base, token, "Before", 5)
        for reader in readers:
            reader.wait_for_seq(start + 5)
        (worker,) = server.worker_pids()
        with ThreadPoolExecutor(1) as pool:
            during = pool.submit(publish, server.base, token, "During", 10)
            readers[0].wait_for_seq(start + 7)  # the writer is under way: kill mid-stream
            server.kill_worker(worker)
            during.result(timeout=60)
        publish(server.base, token, "After", 5)
        total = 20
        for reader in readers:
            reader.wait_for_seq(start + total)
        for reader in readers:
            reader.stop()
    for reader in readers:
        assert reader.seqs == list(range(start + 1, start + total + 1))  # none lost, none twice
        assert reader.connects >= 2  # it really was cut off and came back


# One engine: the subject is the server processes, not the database; PostgreSQL, as in
# production with several workers.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_restarting_redis_mid_stream_loses_nothing_on_either_server(
        tmp_path, server_env, redis_server):
    """Entries posted before, while Redis is down and after it returns reach readers on both."""
    env = {**server_env, "REDIS_URL": redis_server.url}
    token = seed(env)
    # Two servers of one worker each, not one server of two: the kernel may hand every
    # connection of a burst to one worker of a shared socket, and then only one is tested.
    with Gunicorn(env, str(tmp_path / "first.log")) as first, \
            Gunicorn(env, str(tmp_path / "second.log")) as second, ExitStack() as stack:
        start = last_seq(first.base)
        readers = [*start_readers(stack, first.base, start, count=3),
                   *start_readers(stack, second.base, start, count=3)]
        publish(first.base, token, "Before", 5)
        for reader in readers:
            reader.wait_for_seq(start + 5)
        redis_server.stop()
        publish(first.base, token, "During", 5)  # the limiter's store is down too: no 500
        for reader in readers:
            reader.wait_for_seq(start + 10)
        redis_server.start()
        publish(first.base, token, "After", 5)
        for reader in readers:
            reader.wait_for_seq(start + 15)
        for reader in readers:
            reader.stop()
    for reader in readers:
        assert reader.seqs == list(range(start + 1, start + 16))
        assert reader.connects == 1  # carried through the outage, never dropped


@pytest.fixture
def postgres_outage(app, postgres):
    """The suite's PostgreSQL server, to stop and start; always running again afterwards."""
    yield postgres
    if not postgres.running:
        postgres.resume()


@pytest.mark.databases("postgresql")
def test_while_postgresql_is_down_writes_get_503_and_nothing_is_half_written(
        app, client, actions, live_server, postgres_outage):
    actions.create_story()
    actions.post_entry(body="<p>Before</p>")
    desk = app.test_client()
    assert log_in(desk, "editor@example.org").status_code == 302
    csrf = csrf_token(desk, "/admin/")
    live_url = live_server.replace("http://", "ws://") + "/api/stories/storm/live?after=0"
    with connect(live_url, open_timeout=WAIT) as reader:
        assert [f["seq"] for f in receive_frames(reader, 1)] == [1]

        postgres_outage.pause()
        refused = [
            client.post("/api/stories/storm/entries", json={"body": "<p>Lost?</p>"},
                        headers=actions.headers()),
            client.patch("/api/stories/storm", json={"title": "Renamed"},
                         headers=actions.headers()),
            client.delete("/api/stories/storm/entries/1", headers=actions.headers()),
        ]
        for response in refused:
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "5"
            assert "database is not answering" in response.get_json()["error"]["message"]
        form = {"body": "<p>From the desk</p>", "csrf_token": csrf}
        as_script = desk.post("/admin/stories/storm/entries", data=form,
                              headers={"Accept": "application/json"})
        assert as_script.status_code == 503
        assert "nothing was saved" in as_script.get_json()["error"]["message"]
        as_form = desk.post("/admin/stories/storm/entries", data=form)
        assert as_form.status_code == 503 and as_form.headers["Retry-After"] == "5"
        page = as_form.get_data(as_text=True)
        assert "<h1>503</h1>" in page and "nothing was saved" in page
        # A reader arriving now is told at once to come back later, not left hanging.
        with raw_websocket(live_server, "/api/stories/storm/live?after=0") as newcomer:
            assert close_code(newcomer.recv(4096)) == 1013  # within the socket's timeout
        assert_silent(reader, 0.2)  # the open reader is still there and got nothing

        postgres_outage.resume()
        actions.post_entry(body="<p>After</p>")
        assert [f["seq"] for f in receive_frames(reader, 1)] == [2]
        assert_silent(reader)
    with app.app_context():
        story = db.session.scalar(select(Story).filter_by(slug="storm"))
        entries = db.session.scalar(select(func.count()).select_from(Entry))
        seqs = db.session.scalars(select(Event.seq).filter_by(story_id=story.id)
                                  .order_by(Event.seq)).all()
    assert (story.title, entries, story.last_seq, seqs) == ("Storm watch", 2, 2, [1, 2])


SMALL_QUEUE_CONFIG = """\
from liveblog.ops.gunicorn_conf import *  # noqa: F403
import liveblog.live.hub

# Workers fork from this master, so they inherit the smaller queue: a stalled reader is cut
# off after a few frames instead of 256 large ones.
liveblog.live.hub.READER_QUEUE_SIZE = 4
"""


def stalled_reader(port: int, path: str) -> socket.socket:
    """A raw client that completes the WebSocket handshake and then never reads again."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a few frames
    raw.settimeout(WAIT)
    raw.connect(("127.0.0.1", port))
    websocket_handshake(raw, path)
    return raw


def read_until_closed(raw: socket.socket, timeout: float = WAIT) -> bytes:
    """Drain what the server sent, returning it once the server has closed the socket."""
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        assert time.monotonic() < deadline, "the server never closed the stalled reader"
        try:
            chunk = raw.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def text_frames(data: bytes) -> list[dict]:
    """The JSON text frames in a stream of unmasked server frames (a cut-off tail is dropped)."""
    frames, at = [], 0
    while at + 2 <= len(data):
        opcode, size, at = data[at] & 0x0F, data[at + 1] & 0x7F, at + 2
        if size >= 126:
            width = 2 if size == 126 else 8
            size, at = int.from_bytes(data[at:at + width], "big"), at + width
        if at + size > len(data):
            break
        if opcode == 0x1:
            frames.append(json.loads(data[at:at + size]))
        at += size
    return frames


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
@pytest.mark.slow
def test_a_reader_that_stops_reading_is_dropped_while_others_keep_up(tmp_path, server_env):
    config = tmp_path / "gunicorn_small_queue.py"
    config.write_text(SMALL_QUEUE_CONFIG)
    token = seed(server_env)
    big = "<p>" + "word " * 18_000 + "</p>"  # ~90 KB a frame: a few fill every socket buffer
    total = 30
    with Gunicorn(server_env, str(tmp_path / "gunicorn.log"), config=str(config)) as server, \
            ExitStack() as stack:
        start = last_seq(server.base)
        stalled = stalled_reader(server.port, f"/api/stories/{DEMO_SLUG}/live?after={start}")
        stack.callback(stalled.close)
        (healthy,) = start_readers(stack, server.base, start, count=1)
        for n in range(total):
            post_entry(server.base, token, DEMO_SLUG, big.replace("word", f"w{n}", 1))
            healthy.wait_for_seq(start + n + 1, timeout=WAIT)  # each entry promptly
        received = [frame["seq"] for frame in text_frames(read_until_closed(stalled))]
        healthy.stop()
    # It got what was in flight, in order, then the server closed it: cut off, not just slow.
    assert received == list(range(start + 1, start + len(received) + 1))
    assert len(received) < total, received
    assert healthy.seqs == list(range(start + 1, start + total + 1))
    assert healthy.connects == 1
