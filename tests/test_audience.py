"""The desk's open-reader count: this process's hub, or every process's through Redis."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack

import pytest
from desk_support import CSRF, log_in
from fault_support import ResumingReader
from servers import Gunicorn, seed
from sqlalchemy import select
from test_live import ws_url
from websockets.sync.client import connect

from liveblog.extensions import db
from liveblog.live import audience
from liveblog.models import Story
from liveblog.ops.demo import DEMO_EMAIL, DEMO_SLUG

# The fixtures: redis_server, two_processes.
pytest_plugins = ["redis_support"]

WAIT = 5.0  # upper bound for anything that should happen in well under a second
COUNT = re.compile(
    r'<span id="reader-count"[^>]*>(\d+)</span> open <span id="reader-noun">readers?')


def desk_count(client, slug: str = "storm") -> int:
    """The open-reader count the story desk shows."""
    html = client.get(f"/admin/stories/{slug}").get_data(as_text=True)
    match = COUNT.search(html)
    assert match, "no reader count on the desk"
    return int(match.group(1))


@pytest.fixture
def processes(two_processes):
    """Two app processes on one Redis, with a story; their reporters stop at the end."""
    (a, b), token = two_processes
    response = a.app.test_client().post(
        "/api/stories", json={"slug": "storm", "title": "Storm"},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    with a.app.app_context():
        story_id = db.session.scalar(select(Story.id).filter_by(slug="storm"))
    yield a, b, story_id
    for process in (a, b):
        process.app.extensions["liveblog.audience"].stop()


def wait_for_readers(hub, story_id: int, count: int) -> None:
    """Wait (bounded) until the hub holds `count` readers of the story."""
    deadline = time.monotonic() + WAIT
    while hub.reader_count(story_id) != count:
        assert time.monotonic() < deadline, f"the hub never held {count} readers"
        time.sleep(0.02)  # the server thread subscribes after the handshake: nothing to await


def wait_for_report(reporter: audience.Reporter, story_id: int, count: int) -> None:
    """Wait (bounded) until the process's report in Redis says `count` readers of the story."""
    deadline = time.monotonic() + WAIT
    while reporter.client.hget(reporter.key, str(story_id)) != str(count).encode():
        assert time.monotonic() < deadline, f"the report never said {count} readers"
        time.sleep(0.02)  # the reporter writes from its own loop: there is no event to await


def test_the_desk_shows_the_readers_of_this_process(app, live_server, actions, client):
    actions.create_story()
    log_in(client, "editor@example.org")
    assert desk_count(client) == 0
    with connect(ws_url(live_server)), connect(ws_url(live_server)):
        with app.app_context():
            story_id = db.session.scalar(select(Story.id).filter_by(slug="storm"))
        wait_for_readers(app.extensions["liveblog.hub"], story_id, 2)
        assert desk_count(client) == 2
        # The desk's script refreshes the count from this answer.
        answer = client.get("/admin/stories/storm/readers")
        assert answer.get_json() == {"readers": 2}
        assert answer.headers["Cache-Control"] == "no-store"
    wait_for_readers(app.extensions["liveblog.hub"], story_id, 0)
    assert desk_count(client) == 0


def test_the_desk_adds_up_the_readers_of_every_process_through_redis(processes):
    a, b, story_id = processes
    reporter = b.app.extensions["liveblog.audience"]
    reporter.interval = 0.2  # before its thread starts with the first reader: a quick test
    desk = a.app.test_client()
    log_in(desk, "editor@example.org")
    with connect(ws_url(a.url)), connect(ws_url(b.url)) as on_b, connect(ws_url(b.url)):
        wait_for_readers(b.app.extensions["liveblog.hub"], story_id, 2)
        wait_for_readers(a.app.extensions["liveblog.hub"], story_id, 1)
        wait_for_report(reporter, story_id, 2)
        assert desk_count(desk) == 3  # A's own, live, plus B's two as B last reported
        on_b.close()
        wait_for_readers(b.app.extensions["liveblog.hub"], story_id, 1)
        reporter.report()
        assert desk_count(desk) == 2
        # A report lives three periods unless renewed, so a dead process drops out.
        assert 0 < reporter.client.pttl(reporter.key) <= 3000 * reporter.interval
        # As if B had died and its report's TTL had run out: B's loop stops without withdrawing
        # (Reporter.stop would), so it cannot renew the report between the delete and the count.
        reporter._loop.stop()
        reporter.client.delete(reporter.key)
        with a.app.app_context():
            assert audience.reader_count(story_id) == 1
        assert reporter.key.encode() not in reporter.client.smembers(audience.PROCESSES)


def test_with_redis_down_the_desk_counts_this_process_only(processes, redis_server):
    a, _, story_id = processes
    desk = a.app.test_client()
    log_in(desk, "editor@example.org")
    with connect(ws_url(a.url)):
        wait_for_readers(a.app.extensions["liveblog.hub"], story_id, 1)
        redis_server.stop()
        assert desk_count(desk) == 1


class Desk:
    """A desk session over HTTP with a real server: logs in through the form, reads the count."""

    def __init__(self, base: str, email: str, password: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with self.opener.open(f"{base}/admin/login", timeout=WAIT) as page:
            token = CSRF.search(page.read().decode())
        form = urllib.parse.urlencode({"email": email, "password": password,
                                       "csrf_token": token.group(1) or token.group(2)})
        with self.opener.open(f"{base}/admin/login", data=form.encode(), timeout=WAIT):
            pass

    def readers(self, slug: str) -> int:
        """The story's open readers as the desk's counter shows them."""
        with self.opener.open(f"{self.base}/admin/stories/{slug}/readers",
                              timeout=WAIT) as answer:
            return json.load(answer)["readers"]


def desk_shows(desk: Desk, count: int, deadline: float) -> list[int]:
    """Read the desk's count until it shows `count` or the deadline passes; every reading."""
    readings = [desk.readers(DEMO_SLUG)]
    while readings[-1] != count and time.monotonic() < deadline:
        time.sleep(0.1)  # the count is read over HTTP from another process: nothing to await
        readings.append(desk.readers(DEMO_SLUG))
    return readings


def new_readers_held(server: Gunicorn, old_workers: set[int]) -> int | None:
    """Readers held by the new workers once the old ones are gone; None while they are not."""
    held = server.readers_per_worker()
    return None if old_workers & held.keys() else sum(held.values())


# One engine: the subject is the server processes, not the database; PostgreSQL, as in
# production with several workers.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_after_a_graceful_restart_the_desk_counts_each_reader_once(
        tmp_path, redis_server, empty_database_url):
    # A report outlives its process by three periods; a long period makes a report left behind
    # by a stopped worker show for the whole test, however slowly this machine restarts.
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": empty_database_url, "REDIS_URL": redis_server.url,
           "AUDIENCE_REPORT_SECONDS": "20"}
    seed(env)
    count = 6
    with (Gunicorn(env, str(tmp_path / "gunicorn.log"), workers=2) as server,
          ExitStack() as stack):
        readers = [ResumingReader(server.base, DEMO_SLUG, 0) for _ in range(count)]
        for reader in readers:
            reader.start()
            stack.callback(reader.stop)
        desk = Desk(server.base, DEMO_EMAIL, "demo-password")
        assert desk_shows(desk, count, time.monotonic() + 30)[-1] == count
        old_workers = server.worker_pids()
        server.process.send_signal(signal.SIGHUP)  # new workers first, then the old ones go
        deadline = time.monotonic() + 60  # booting two workers on a busy machine takes a while
        while new_readers_held(server, old_workers) != count:
            assert time.monotonic() < deadline, "the readers did not move to the new workers"
            time.sleep(0.05)  # polling another process's sockets; nothing to wait on
        readings = desk_shows(desk, count, time.monotonic() + 5)
        assert readings[-1] == count, f"the desk showed {readings} after the restart"
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()  # nothing crashed
