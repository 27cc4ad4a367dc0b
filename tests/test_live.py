"""The live WebSocket against a real server: replay, the seam, resume, edits, limits."""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import threading
import time
from contextlib import ExitStack, contextmanager

import pytest
from browser_support import CHROMIUM
from drill_support import masked_frame
from playwright.sync_api import expect
from servers import websocket_handshake
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from liveblog.live import hub as hub_module

WAIT = 5.0  # upper bound for anything that should arrive in well under a second
CLOSE_TRIES = 30


def ws_url(live_server: str, slug: str = "storm", after: int | None = None) -> str:
    url = live_server.replace("http://", "ws://") + f"/api/stories/{slug}/live"
    return url if after is None else f"{url}?after={after}"


def receive_frames(ws, count: int, timeout: float = WAIT, skip_heartbeats: bool = True):
    """Receive `count` frames (heartbeats skipped), failing if they don't come in time."""
    frames = []
    deadline = time.monotonic() + timeout
    while len(frames) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(frames)} of {count} frames arrived: {frames}"
        frame = json.loads(ws.recv(timeout=remaining))
        if skip_heartbeats and frame["type"] == "heartbeat":
            continue
        frames.append(frame)
    return frames


def assert_silent(ws, seconds: float = 0.3) -> None:
    """Nothing more arrives (no duplicate after the expected frames)."""
    with pytest.raises(TimeoutError):
        while True:
            frame = json.loads(ws.recv(timeout=seconds))
            assert frame["type"] == "heartbeat", f"unexpected frame {frame}"


def test_replays_events_after_the_given_seq_then_streams(live_server, actions):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>{n}</p>")["id"] for n in range(5)]
    with connect(ws_url(live_server, after=2)) as ws:
        frames = receive_frames(ws, 3)
        assert [f["seq"] for f in frames] == [3, 4, 5]
        assert [f["entry"]["id"] for f in frames] == ids[2:]
        assert all(f["type"] == "entry.created" and 'class="entry' in f["html"] for f in frames)
        assert_silent(ws)
        live = actions.post_entry(body="<p>live</p>")
        (frame,) = receive_frames(ws, 1)
        assert frame["seq"] == 6 and frame["entry"]["id"] == live["id"]
        assert f'id="entry-{live["id"]}"' in frame["html"]


def test_without_after_a_reader_gets_only_new_events(live_server, actions):
    actions.create_story()
    actions.post_entry()
    with connect(ws_url(live_server)) as ws:
        assert_silent(ws)
        actions.post_entry(body="<p>new</p>")
        assert [f["seq"] for f in receive_frames(ws, 1)] == [2]


def test_no_gap_or_duplicate_at_the_seam_between_replay_and_live(live_server, actions):
    actions.create_story()
    total = 40
    done = threading.Event()

    def writer():
        for n in range(total):
            actions.post_entry(body=f"<p>{n}</p>")
        done.set()

    thread = threading.Thread(target=writer)
    with ExitStack() as stack:
        thread.start()
        # Readers join at different moments while the writer is posting.
        readers = []
        for _ in range(6):
            readers.append(stack.enter_context(connect(ws_url(live_server, after=0))))
            time.sleep(0.02)  # spread the joins over the writes; not a synchronisation
        thread.join(timeout=60)
        assert done.is_set()
        for ws in readers:
            frames = receive_frames(ws, total)
            assert [f["seq"] for f in frames] == list(range(1, total + 1))
            assert_silent(ws, 0.2)


def test_resume_after_a_dropped_connection_misses_nothing(live_server, actions):
    actions.create_story()
    for n in range(3):
        actions.post_entry(body=f"<p>{n}</p>")
    with connect(ws_url(live_server, after=0)) as ws:
        last_seq = receive_frames(ws, 3)[-1]["seq"]
    for n in range(3, 6):
        actions.post_entry(body=f"<p>{n}</p>")  # posted while the reader is away
    with connect(ws_url(live_server, after=last_seq)) as ws:
        frames = receive_frames(ws, 3)
        assert [f["seq"] for f in frames] == [4, 5, 6]
        assert_silent(ws)


def test_edits_deletes_and_story_changes_reach_open_readers(live_server, actions, client):
    actions.create_story()
    entry = actions.post_entry(body="<p>first take</p>")
    url = f"/api/stories/storm/entries/{entry['id']}"
    with connect(ws_url(live_server, after=entry["seq"])) as ws:
        client.patch(url, json={"body": "<p>second take</p>"}, headers=actions.headers())
        client.delete(url, headers=actions.headers())
        client.patch("/api/stories/storm", json={"status": "ended"}, headers=actions.headers())
        edited, deleted, ended = receive_frames(ws, 3)
    assert edited["type"] == "entry.updated" and "second take" in edited["html"]
    assert edited["entry"]["version"] == 2
    assert deleted == {"type": "entry.deleted", "seq": 3, "entry": {"id": entry["id"]}}
    assert ended["type"] == "story.updated" and ended["story"]["status"] == "ended"


def test_unknown_story_is_closed_with_a_reason(live_server, actions):
    with raw_websocket(live_server, "/api/stories/nowhere/live") as raw:
        assert close_code(raw.recv(4096)) == 4404


# The server's socket handling is the subject, not the database.
@pytest.mark.databases("sqlite")
def test_a_reader_that_answers_a_close_sees_the_connection_end(live_server):
    # RFC 6455 7.1.1: once both closes are exchanged the server ends the TCP connection, and a
    # client waits for that (websockets for up to 10 s, then reports 1006). Werkzeug's request
    # thread used to read the reader's answer away from simple-websocket's own, then wait for
    # more of it, holding the connection open. A race: tried a number of times.
    for _ in range(CLOSE_TRIES):
        with raw_websocket(live_server, "/api/stories/nowhere/live") as raw:
            assert close_code(raw.recv(4096)) == 4404
            raw.sendall(masked_frame(0x8, struct.pack("!H", 4404)))
            while raw.recv(4096):  # to the end of the stream; a silence of WAIT fails
                pass


def test_messages_from_readers_are_ignored(live_server, actions):
    actions.create_story()
    # after=0: the entry may be committed before the server has read the story's seq.
    with connect(ws_url(live_server, after=0)) as ws:
        ws.send("hello")
        ws.send(json.dumps({"type": "entry.created", "seq": 99}))
        actions.post_entry()
        assert [f["seq"] for f in receive_frames(ws, 1)] == [1]
        assert_silent(ws)


def test_an_oversized_message_closes_the_connection_with_1009(live_server, actions):
    actions.create_story()
    with raw_websocket(live_server, "/api/stories/storm/live") as raw:
        payload, mask = b"x" * 5000, os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        raw.sendall(struct.pack("!BBH", 0x81, 0x80 | 126, len(payload)) + mask + masked)
        assert close_code(raw.recv(4096)) == 1009


@contextmanager
def raw_websocket(live_server: str, path: str):
    """A hand-made client for server-side closes.

    Werkzeug's test server appends an HTTP response after a server-side close, which the
    websockets client then waits out; gunicorn in production does not.
    """
    port = int(live_server.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as raw:
        websocket_handshake(raw, path)
        yield raw


def close_code(frame: bytes) -> int:
    """The status code of a server's close frame."""
    assert frame[0] == 0x88 and frame[1] >= 2, frame[:20]
    return struct.unpack("!H", frame[2:4])[0]


def test_heartbeats_keep_an_idle_connection_talking(app, live_server, actions):
    app.config["LIVE_HEARTBEAT_SECONDS"] = 0.2
    actions.create_story()
    actions.post_entry()
    with connect(ws_url(live_server)) as ws:
        frame = json.loads(ws.recv(timeout=WAIT))
    assert frame == {"type": "heartbeat", "seq": 1}


def test_compression_is_refused_on_the_live_endpoint(live_server, actions):
    actions.create_story()
    with connect(ws_url(live_server)) as ws:  # the client offers permessage-deflate by default
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None


def test_a_stalled_reader_is_cut_off_without_delaying_others(live_server, actions, monkeypatch):
    monkeypatch.setattr(hub_module, "READER_QUEUE_SIZE", 4)
    actions.create_story()
    stalled_socket = socket.socket()
    stalled_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled_socket.connect(("127.0.0.1", int(live_server.rsplit(":", 1)[1])))
    big = "<p>" + "word " * 18_000 + "</p>"
    total = 40
    with connect(ws_url(live_server), sock=stalled_socket, max_size=None) as stalled, \
            connect(ws_url(live_server)) as healthy:
        started = time.monotonic()
        for _ in range(total):
            actions.post_entry(body=big)
        frames = receive_frames(healthy, total, timeout=30)
        assert [f["seq"] for f in frames] == list(range(1, total + 1))
        assert time.monotonic() - started < 30
        # The stalled reader gets what was in flight, then the server has dropped it.
        received = []
        with pytest.raises(ConnectionClosed):
            while True:
                received.append(json.loads(stalled.recv(timeout=WAIT))["seq"])
    assert received == list(range(1, len(received) + 1)) and len(received) < total
    # It resumes from the last seq it saw and misses nothing.
    with connect(ws_url(live_server, after=received[-1] if received else 0)) as ws:
        rest = receive_frames(ws, total - len(received), timeout=30)
    assert [f["seq"] for f in rest] == list(range(len(received) + 1, total + 1))


def test_a_database_failure_during_replay_closes_with_try_again_later(
    live_server, actions, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from liveblog.live import stream as live

    actions.create_story()
    actions.post_entry()

    def database_down(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(live, "events_after", database_down)
    with raw_websocket(live_server, "/api/stories/storm/live?after=0") as raw:
        assert close_code(raw.recv(4096)) == 1013  # back off, then resume by seq


@pytest.mark.parametrize("after", ["%C2%B2", "%D9%A3", "1%C2%B2", "-1", "0x1", "9" * 16])
def test_an_after_that_is_not_ascii_digits_is_read_as_a_new_reader(
        app, live_server, actions, caplog, after):
    app.config["LIVE_HEARTBEAT_SECONDS"] = 0.2
    actions.create_story()
    actions.post_entry()
    with raw_websocket(live_server, f"/api/stories/storm/live?after={after}") as raw:
        frame = raw.recv(4096)
    assert frame[0] == 0x81, frame[:20]  # a text frame, not a close: the reader is served
    # Served from the story's newest seq, as a reader without `after` is.
    assert json.loads(frame[2:]) == {"type": "heartbeat", "seq": 1}
    assert not [record for record in caplog.records if record.exc_info]


def test_a_story_set_back_to_draft_closes_its_readers_as_an_unknown_story(
        live_server, actions, client):
    actions.create_story()
    actions.post_entry()
    with raw_websocket(live_server, "/api/stories/storm/live?after=1") as raw:
        response = client.patch("/api/stories/storm", json={"status": "draft"},
                                headers=actions.headers())
        assert response.status_code == 200
        assert close_code(raw.recv(4096)) == 4404  # not the change itself: the story is gone
    with raw_websocket(live_server, "/api/stories/storm/live?after=1") as raw:
        assert close_code(raw.recv(4096)) == 4404


def test_a_heartbeat_carries_the_storys_seq_past_a_frame_the_reader_lost(
        app, live_server, actions, monkeypatch):
    app.config["LIVE_HEARTBEAT_SECONDS"] = 0.2
    actions.create_story()
    with connect(ws_url(live_server)) as ws:
        assert json.loads(ws.recv(timeout=WAIT)) == {"type": "heartbeat", "seq": 0}
        # The hub delivers seq 1, but it never reaches this reader (a fault on the way).
        monkeypatch.setattr(hub_module.Subscription, "offer", lambda self, frame: None)
        actions.post_entry()
        deadline = time.monotonic() + WAIT
        while (frame := json.loads(ws.recv(timeout=WAIT)))["seq"] == 0:
            assert time.monotonic() < deadline, "no heartbeat told the reader of seq 1"
    assert frame == {"type": "heartbeat", "seq": 1}  # the page resumes with after=0


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian's Chromium not at {CHROMIUM}")
def test_a_page_that_lost_a_frame_resumes_when_a_heartbeat_says_so(
        app, browser, live_server, actions):
    app.config["LIVE_HEARTBEAT_SECONDS"] = 0.3
    actions.create_story()
    context = browser.new_context(base_url=live_server)
    lost, sockets = [], []

    def lose_the_first_entry(page_side) -> None:
        sockets.append(page_side.url)
        server_side = page_side.connect_to_server()

        def to_page(message) -> None:
            if '"entry.created"' in message and not lost:
                lost.append(message)  # a frame that never reaches the page
            else:
                page_side.send(message)

        server_side.on_message(to_page)

    try:
        page = context.new_page()
        page.route_web_socket(re.compile(r"/api/stories/storm/live"), lose_the_first_entry)
        page.goto("/stories/storm")
        entry = actions.post_entry(body="<p>Lost once, then resumed.</p>")
        expect(page.locator(f"#entry-{entry['id']}")).to_have_count(1, timeout=5000)
        assert lost and len(sockets) >= 2 and sockets[-1].endswith("after=0")
    finally:
        context.close()
