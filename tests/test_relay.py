"""Redis fan-out between processes: once and in order, through an outage, under gunicorn.

The two processes of a test share this process's metrics, so each count below is both's.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from contextlib import ExitStack

import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import select
from test_live import assert_silent, close_code, raw_websocket
from websockets.sync.client import connect

from liveblog.extensions import db
from liveblog.live.hub import Frame
from liveblog.models import Story
from liveblog.ops.demo import DEMO_SLUG

# The fixtures: redis_server, two_processes, gunicorn_workers.
pytest_plugins = ["redis_support"]

WAIT = 5.0  # upper bound for anything that should arrive in well under a second
SLUG = "storm"
FALLBACKS = "liveblog_redis_fallbacks_total"
PUBLISH_FAILURES = "liveblog_redis_publish_failures_total"
RECEIVED = "liveblog_redis_frames_received_total"  # frames heard through Redis
POLLS = "liveblog_redis_polls_total"  # reads of the log while Redis was unreachable


def counted(name: str) -> float:
    """A relay counter of this process (0 before its first count)."""
    return REGISTRY.get_sample_value(name) or 0.0


def wait_for_count(name: str, at_least: float) -> float:
    """Wait (bounded) until a counter reaches `at_least`; return it."""
    deadline = time.monotonic() + WAIT
    while (count := counted(name)) < at_least:
        assert time.monotonic() < deadline, f"{name} stayed at {count}, short of {at_least}"
        time.sleep(0.02)  # a relay's loop counts in its own thread: there is no event to await
    return count


def ws_url(base: str, slug: str = SLUG, after: int = 0) -> str:
    return base.replace("http://", "ws://") + f"/api/stories/{slug}/live?after={after}"


def receive_seqs(ws, count: int, timeout: float = WAIT) -> list[int]:
    """The seqs of the next `count` frames (heartbeats skipped), failing if they don't come."""
    seqs = []
    deadline = time.monotonic() + timeout
    while len(seqs) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(seqs)} of {count} frames arrived: {seqs}"
        frame = json.loads(ws.recv(timeout=remaining))
        if frame["type"] != "heartbeat":
            seqs.append(frame["seq"])
    return seqs


def create_story(process, token: str) -> None:
    response = process.app.test_client().post(
        "/api/stories", json={"slug": SLUG, "title": "Storm watch"},
        headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()


def open_readers(stack: ExitStack, processes, per_process: int) -> list:
    """Readers from seq 0 on each process, returned once each process's relay is subscribed."""
    readers = [stack.enter_context(connect(ws_url(process.url)))
               for process in processes for _ in range(per_process)]
    for process in processes:
        assert process.relay.subscribed.wait(WAIT), "the relay did not subscribe to Redis"
    return readers


def test_an_entry_posted_through_one_process_reaches_a_reader_on_the_other_once(two_processes):
    (a, b), token = two_processes
    create_story(a, token)
    fallbacks = counted(FALLBACKS)
    with connect(ws_url(b.url)) as reader:
        assert b.relay.subscribed.wait(WAIT)
        received = counted(RECEIVED)
        a.post_entry(token, SLUG, "<p>From A</p>")
        assert receive_seqs(reader, 1) == [1]
        assert_silent(reader)
    assert counted(RECEIVED) == received + 1  # heard through Redis, not read from the log
    assert counted(FALLBACKS) == fallbacks and b.relay.subscribed.is_set()


def test_interleaved_entries_from_both_processes_reach_every_reader_in_order(two_processes):
    processes, token = two_processes
    create_story(processes[0], token)
    fallbacks = counted(FALLBACKS)
    per_writer = 15
    with ExitStack() as stack:
        readers = open_readers(stack, processes, per_process=3)

        def write(process) -> None:
            for n in range(per_writer):
                process.post_entry(token, SLUG, f"<p>{n}</p>")

        writers = [threading.Thread(target=write, args=(process,)) for process in processes]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=60)
        total = per_writer * len(writers)
        for reader in readers:
            assert receive_seqs(reader, total) == list(range(1, total + 1))
        for reader in readers:
            assert_silent(reader, 0.1)
    assert counted(FALLBACKS) == fallbacks


def test_without_redis_readers_are_fed_from_the_database_until_it_returns(
        two_processes, redis_server):
    (a, b), token = two_processes
    create_story(a, token)
    fallbacks, publish_failures = counted(FALLBACKS), counted(PUBLISH_FAILURES)
    with ExitStack() as stack:
        on_a, on_b = open_readers(stack, [a, b], per_process=1)
        a.post_entry(token, SLUG, "<p>Before</p>")
        assert receive_seqs(on_a, 1) == receive_seqs(on_b, 1) == [1]

        redis_server.stop()
        a.post_entry(token, SLUG, "<p>During 1</p>")  # publishing neither fails nor waits
        b.post_entry(token, SLUG, "<p>During 2</p>")
        assert receive_seqs(on_a, 2) == receive_seqs(on_b, 2) == [2, 3]
        assert wait_for_count(FALLBACKS, fallbacks + 2) == fallbacks + 2  # one outage each
        assert not a.relay.subscribed.is_set() and not b.relay.subscribed.is_set()

        redis_server.start()
        assert a.relay.subscribed.wait(WAIT) and b.relay.subscribed.wait(WAIT)
        polls, received = counted(POLLS), counted(RECEIVED)
        a.post_entry(token, SLUG, "<p>After 1</p>")
        b.post_entry(token, SLUG, "<p>After 2</p>")
        assert receive_seqs(on_a, 2) == receive_seqs(on_b, 2) == [4, 5]
        assert_silent(on_a, 0.1)
        assert_silent(on_b, 0.1)
    assert a.relay.subscribed.is_set() and b.relay.subscribed.is_set()
    assert counted(POLLS) == polls  # the database is no longer polled
    # Both entries heard by both processes through Redis (a check of the log may have
    # delivered one first, so the count may come a moment after the frame).
    wait_for_count(RECEIVED, received + 4)
    assert counted(FALLBACKS) == fallbacks + 2
    # Counted by now: each relay sends in order, and the later frames went through Redis.
    assert counted(PUBLISH_FAILURES) == publish_failures + 2


def test_after_reconnecting_a_process_catches_up_from_the_database(two_processes, redis_server):
    (a, b), token = two_processes
    create_story(a, token)
    with connect(ws_url(b.url)) as reader:
        assert b.relay.subscribed.wait(WAIT)
        # So only the catch-up on reconnection can deliver.
        b.relay.poll_interval = b.relay.check_interval = 3600
        polls = counted(POLLS)
        redis_server.stop()
        wait_for_count(POLLS, polls + 1)  # the one poll at the start of the outage is done
        a.post_entry(token, SLUG, "<p>Missed by Redis</p>")
        assert_silent(reader, 0.5)
        redis_server.start()
        assert b.relay.subscribed.wait(WAIT)
        assert receive_seqs(reader, 1) == [1]
    assert counted(POLLS) == polls + 1


def fail_next_publish(process, monkeypatch) -> None:
    """Make this process's next Redis PUBLISH fail, while its subscription stays up."""
    client = process.relay.client
    publish = client.publish
    failures = iter([redis.ConnectionError("Connection reset by peer")])

    def flaky(channel, message):
        for failure in failures:
            raise failure
        return publish(channel, message)

    monkeypatch.setattr(client, "publish", flaky)


def test_a_failed_publish_still_reaches_readers_on_the_other_process(two_processes, monkeypatch):
    (a, b), token = two_processes
    create_story(a, token)
    fallbacks, publish_failures = counted(FALLBACKS), counted(PUBLISH_FAILURES)
    with connect(ws_url(a.url)) as on_a, connect(ws_url(b.url)) as on_b:
        assert a.relay.subscribed.wait(WAIT) and b.relay.subscribed.wait(WAIT)
        fail_next_publish(a, monkeypatch)
        a.post_entry(token, SLUG, "<p>Lost by Redis</p>")
        assert receive_seqs(on_a, 1) == [1]  # A's own readers have it at once
        # B's subscription never dropped, so only a check of the log can show it the entry.
        assert receive_seqs(on_b, 1, timeout=5.0) == [1]
        a.post_entry(token, SLUG, "<p>Through Redis again</p>")
        assert receive_seqs(on_a, 1) == receive_seqs(on_b, 1) == [2]
        assert_silent(on_b, 0.1)
    assert counted(PUBLISH_FAILURES) == publish_failures + 1
    assert counted(FALLBACKS) == fallbacks and b.relay.subscribed.is_set()


def test_a_poll_announcement_reaches_the_other_process_without_its_hubs_thread(two_processes):
    # Poll frames are written a second apart; each hand-over to another thread can wait a turn
    # of a saturated gevent loop, and bunch them. So the announcer PUBLISHes from its own
    # thread, and the listener delivers what it hears itself: here B's hub thread is held.
    (a, b), token = two_processes
    create_story(a, token)
    hub = b.app.extensions["liveblog.hub"]
    with b.app.app_context():
        story_id = db.session.scalar(select(Story.id).filter_by(slug=SLUG))
    received = threading.Event()
    reader = hub.subscribe(story_id, wakeup=received)
    assert b.relay.subscribed.wait(WAIT)
    held, release = threading.Event(), threading.Event()
    hub.subscribe(story_id + 1000, write_now=lambda frame: held.set() or release.wait(10))
    hub.accept(Frame(story_id + 1000, 1, "{}"))
    assert held.wait(WAIT)
    client, frames = a.app.test_client(), []
    try:
        entry = client.post(f"/api/stories/{SLUG}/entries", headers={
            "Authorization": f"Bearer {token}"}, json={"body": "<p>Who?</p>", "poll": {
                "question": "Who wins?", "options": ["Reds", "Blues"]}}).get_json()
        assert client.post(f"/api/polls/{entry['poll']['id']}/votes",
                           json={"option": 1, "voter": "a-reader-token-0123456789"}
                           ).status_code == 201
        deadline = time.monotonic() + 2.0  # A's announcer runs at once: nothing was told yet
        while "poll.updated" not in [frame["type"] for frame in frames]:
            assert received.wait(max(0.0, deadline - time.monotonic())), \
                f"only {frames} reached B's reader while B's hub thread was busy"
            received.clear()
            frames += [json.loads(frame.text) for frame in reader.drain()]
    finally:
        release.set()
    assert [(f["type"], f["seq"]) for f in frames] == [("entry.created", entry["seq"]),
                                                       ("poll.updated", entry["seq"] + 1)]


@pytest.mark.parametrize("path", ["redis", "log"])
def test_a_story_set_back_to_draft_closes_its_readers_in_every_process(
        two_processes, monkeypatch, path):
    (a, b), token = two_processes
    create_story(a, token)
    with raw_websocket(b.url, f"/api/stories/{SLUG}/live?after=0") as on_b:
        assert b.relay.subscribed.wait(WAIT)
        if path == "log":  # the change reaches B only through its checks of the event log
            fail_next_publish(a, monkeypatch)
        response = a.app.test_client().patch(
            f"/api/stories/{SLUG}", json={"status": "draft"},
            headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        on_b.settimeout(WAIT)
        assert close_code(on_b.recv(4096)) == 4404


# One engine: the subject is the server processes, not the database; PostgreSQL, as in
# production with several workers.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_gunicorn_workers_deliver_every_entry_to_every_reader(gunicorn_workers):
    base, token = gunicorn_workers
    with urllib.request.urlopen(f"{base}/stories/{DEMO_SLUG}", timeout=5) as page:
        start = int(page.read().decode().split('data-seq="', 1)[1].split('"', 1)[0])
    posts = 20

    def post(n: int) -> None:
        request = urllib.request.Request(  # a new connection each time: any worker may take it
            f"{base}/api/stories/{DEMO_SLUG}/entries",
            data=json.dumps({"body": f"<p>Post {n}</p>"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201

    with ExitStack() as stack:
        readers = [stack.enter_context(connect(ws_url(base, DEMO_SLUG, after=start)))
                   for _ in range(10)]
        writers = [threading.Thread(target=lambda k=k: [post(k * 100 + n) for n in range(10)])
                   for k in range(posts // 10)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(timeout=60)
        for reader in readers:
            assert receive_seqs(reader, posts, timeout=15) == list(
                range(start + 1, start + posts + 1))
        for reader in readers:
            assert_silent(reader, 0.1)
