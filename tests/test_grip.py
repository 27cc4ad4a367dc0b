"""GRIP mode: readers' sockets held by a real Pushpin in front of a real server; we only publish."""

from __future__ import annotations

import http.server
import json
import os
import re
import threading
import time

import pytest
from flask import Flask
from grip_support import Pushpin, available, free_ports
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect

from liveblog.extensions import db
from liveblog.live import grip
from liveblog.live.grip import Event
from liveblog.live.grip_publisher import GripPublisher, frame_item
from liveblog.live.hub import Frame
from liveblog.models import Story


def connect(url: str):
    """A WebSocket client through the edge; its handshake crosses Pushpin, zurl and the origin,
    which a loaded machine (a parallel suite) can keep past websockets' 10 s default."""
    return websocket_connect(url, open_timeout=30)

KEY = "a key shared by the edge and us"
WAIT = 5.0  # upper bound for anything that should arrive in well under a second


@pytest.fixture
def edge(app, live_server, tmp_path):
    """A private Pushpin in front of the test server, the app publishing to it."""
    if not available():
        pytest.skip("pushpin is missing (make test-deps installs it)")
    port = int(live_server.rsplit(":", 1)[1])
    pushpin = Pushpin(str(tmp_path / "pushpin"), port, KEY)
    app.config.update(LIVE_GRIP_KEY=KEY, LIVE_GRIP_PUBLISH_URL=pushpin.publish_url,
                      LIVE_HEARTBEAT_SECONDS=0.3)
    pushpin.start()
    yield pushpin
    app.extensions["liveblog.grip_publisher"].stop()
    print(f"The edge's log ends:\n{pushpin.tail()}")  # shown when the test failed
    pushpin.stop()


def receive(ws, count: int) -> list[dict]:
    """The next `count` frames with a seq (heartbeats skipped), within WAIT."""
    frames, deadline = [], time.monotonic() + WAIT
    while len(frames) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(frames)} of {count} frames came: {frames}"
        frame = json.loads(ws.recv(timeout=remaining))
        if frame["type"] != "heartbeat":
            frames.append(frame)
    return frames


def subscribed(ws) -> None:
    """Wait for a heartbeat: the edge has the reader on the story's channel by then."""
    deadline = time.monotonic() + WAIT
    while json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))["type"] \
            != "heartbeat":
        pass


def test_entries_edits_and_deletes_reach_readers_through_pushpin_once_in_order(
        edge, actions, client):
    story = actions.create_story()
    first = actions.post_entry(body="<p>Before anyone came</p>")
    url = edge.ws_url(f"/api/stories/storm/live?after={story['last_seq']}")
    with connect(url) as one, connect(url) as two:
        for ws in (one, two):
            assert [f["seq"] for f in receive(ws, 1)] == [first["seq"]]  # the replay
            subscribed(ws)
        entry = actions.post_entry(body="<p>Water over the wall</p>")
        edited = client.patch(f"/api/stories/storm/entries/{entry['id']}",
                              json={"body": "<p>Water over the wall at 6</p>"},
                              headers=actions.headers())
        assert edited.status_code == 200
        deleted = client.delete(f"/api/stories/storm/entries/{entry['id']}",
                                headers=actions.headers())
        assert deleted.status_code == 204
        for ws in (one, two):
            frames = receive(ws, 3)
            assert [f["type"] for f in frames] == ["entry.created", "entry.updated",
                                                   "entry.deleted"]
            assert [f["seq"] for f in frames] == [entry["seq"], entry["seq"] + 1,
                                                  entry["seq"] + 2]
            assert "at 6" in frames[1]["html"]
            with pytest.raises(TimeoutError):  # and nothing twice
                while True:
                    assert json.loads(ws.recv(timeout=0.5))["type"] == "heartbeat"


def test_a_reader_resuming_through_pushpin_gets_exactly_what_it_missed(edge, actions):
    actions.create_story()
    seqs = [actions.post_entry(body=f"<p>Update {n}</p>")["seq"] for n in range(5)]
    with connect(edge.ws_url(f"/api/stories/storm/live?after={seqs[1]}")) as ws:
        assert [f["seq"] for f in receive(ws, 3)] == seqs[2:]
        subscribed(ws)
        beat = actions.post_entry(body="<p>Then live</p>")
        assert [f["seq"] for f in receive(ws, 1)] == [beat["seq"]]


def test_pushpin_holds_a_frame_that_overtook_its_predecessor(edge, app, actions):
    # Two workers commit seq n+1 and n+2 a moment apart; the second one's POST reaches the edge
    # first. Chained by id/prev-id, readers still get n+1 before n+2.
    actions.create_story()
    with connect(edge.ws_url("/api/stories/storm/live")) as ws:
        subscribed(ws)
        publisher = app.extensions["liveblog.grip_publisher"]
        publisher._heartbeat.stop()  # heartbeats carry no id: one in between resets the chain
        seq = actions.post_entry()["seq"]
        assert [f["seq"] for f in receive(ws, 1)] == [seq]
        with app.app_context():
            story_id = db.session.scalar(select(Story.id).filter_by(slug="storm"))
        later = [Frame(story_id, n, json.dumps({"type": "entry.created", "seq": n}))
                 for n in (seq + 2, seq + 1)]
        for frame in later:  # in the wrong order, one request each
            assert publisher._post([frame_item(frame)])
        assert [f["seq"] for f in receive(ws, 2)] == [seq + 1, seq + 2]


def test_heartbeats_through_pushpin_carry_the_story_seq(edge, actions):
    actions.create_story()
    last = actions.post_entry()["seq"]
    with connect(edge.ws_url("/api/stories/storm/live")) as ws:
        deadline = time.monotonic() + WAIT
        beats = []
        while not beats or beats[-1] != last:
            frame = json.loads(ws.recv(timeout=deadline - time.monotonic()))
            if frame["type"] == "heartbeat":
                assert set(frame) == {"type", "seq"} and frame["seq"] <= last, frame
                beats.append(frame["seq"])
    # A heartbeat tells the seq as of HEARTBEAT_SETTLE_SECONDS before it is sent, so one read
    # before the entry went out may come first; never one past the story's seq, nor going back.
    assert beats == sorted(beats), beats


def test_unknown_and_unpublished_stories_close_with_4404_through_pushpin(edge, actions, client):
    with connect(edge.ws_url("/api/stories/nowhere/live")) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=WAIT)
    assert closed.value.rcvd.code == 4404
    actions.create_story()
    with connect(edge.ws_url("/api/stories/storm/live")) as ws:
        subscribed(ws)
        response = client.patch("/api/stories/storm", json={"status": "draft"},
                                headers=actions.headers())
        assert response.status_code == 200
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=WAIT)
    assert closed.value.rcvd.code == 4404


def post_events(client, body: bytes, signature: str | None, after: str = "",
                extensions: str = "grip") -> object:
    """POST WebSocket-over-HTTP events to the origin as an edge would."""
    headers = {"Content-Type": grip.CONTENT_TYPE, "Sec-WebSocket-Extensions": extensions}
    if signature is not None:
        headers["Grip-Sig"] = signature
    return client.post(f"/api/stories/storm/live{after}", data=body, headers=headers)


# Made in the test, not at collection: a signature's expiry differs between pytest-xdist workers.
FORGERIES = {
    "none": lambda: None, "empty": lambda: "", "not a JWT": lambda: "not.a.jwt",
    "another key": lambda: grip.sign("another key"),
    "expired": lambda: grip.sign(KEY, lifetime=-10),
    "bad signature": lambda: grip.sign(KEY).rsplit(".", 1)[0] + ".AAAA",
}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_or_stale_grip_sig_is_refused(app, client, actions, forgery):
    app.config["LIVE_GRIP_KEY"] = KEY
    actions.create_story()
    response = post_events(client, b"OPEN\r\n", FORGERIES[forgery]())
    assert response.status_code == 403
    assert response.get_json()["error"]["status"] == 403


def test_without_a_grip_key_the_address_takes_no_post(client, actions):
    actions.create_story()
    assert post_events(client, b"OPEN\r\n", grip.sign(KEY)).status_code == 404


def test_the_origin_replays_then_subscribes_and_answers_bad_events_with_400(app, client, actions):
    app.config["LIVE_GRIP_KEY"] = KEY
    actions.create_story()
    seqs = [actions.post_entry(body=f"<p>Update {n}</p>")["seq"] for n in range(3)]
    with app.app_context():
        story_id = db.session.scalar(select(Story.id).filter_by(slug="storm"))
    response = post_events(client, b"OPEN\r\n", grip.sign(KEY), after=f"?after={seqs[0]}")
    assert response.status_code == 200
    assert response.headers["Sec-WebSocket-Extensions"] == "grip"
    events = grip.parse_events(response.data)
    assert events[0] == Event("OPEN")
    assert [json.loads(e.content.removeprefix(b"m:"))["seq"] for e in events[1:3]] == seqs[1:]
    assert json.loads(events[3].content[2:]) == {
        "type": "subscribe", "channel": grip.channel_of(story_id)}
    message = b"x" * 5000
    too_big = post_events(client, b"TEXT %x\r\n%s\r\n" % (len(message), message), grip.sign(KEY))
    assert grip.parse_events(too_big.data) == [grip.close(1009, "Message too big")]
    for bad in (b"OPEN", b"TEXT zz\r\nhi\r\n", b"TEXT 5\r\nhi\r\n", b"NOPE\r\n"):
        answer = post_events(client, bad, grip.sign(KEY))
        assert answer.status_code == 400, bad
        assert answer.get_json()["error"]["status"] == 400
    # Without the grip extension our instructions would reach the reader as text.
    assert post_events(client, b"OPEN\r\n", grip.sign(KEY), extensions="").status_code == 400
    # ?after= in other digits reads as not given, as on the socket path: a new reader, no replay.
    arabic = post_events(client, b"OPEN\r\n", grip.sign(KEY), after="?after=\u0663")
    assert [event.content[:2] for event in grip.parse_events(arabic.data)[1:]] == [b"c:"]


def test_events_round_trip():
    events = [Event("OPEN"), Event("TEXT", "héllo".encode()), grip.close(1000), Event("PING", b"")]
    assert grip.parse_events(b"".join(map(grip.encode_event, events))) == events


class RecordingEdge:
    """A publish API that records what it is sent (or refuses it), on a free port."""

    def __init__(self, status: int = 200):
        bodies, received = [], threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                bodies.append({**body, "authorization": self.headers["Authorization"]})
                received.set()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.bodies, self.received = bodies, received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/publish/"


def test_every_edge_gets_each_frame_chained_by_seq_and_a_withdrawal_closes_readers():
    edges = [RecordingEdge(), RecordingEdge()]
    app = Flask(__name__)
    app.config.update(LIVE_GRIP_PUBLISH_URL=",".join(edge.url for edge in edges),
                      LIVE_GRIP_PUBLISH_TOKEN="secret", LIVE_HEARTBEAT_SECONDS=3600)
    publisher = GripPublisher(app)
    publisher._heartbeat.stop()  # heartbeats read the database; not this test's subject
    created = '{"type":"entry.created","seq":5,"entry":{"id":1}}'
    withdrawn = '{"type":"story.updated","seq":6,"story":{"status":"draft"}}'
    try:
        publisher.publish(Frame(7, 5, created))
        publisher.publish(Frame(7, 6, withdrawn))
        for edge in edges:
            deadline = time.monotonic() + WAIT
            while sum(len(body["items"]) for body in edge.bodies) < 2:
                assert edge.received.wait(max(0.0, deadline - time.monotonic()))
                edge.received.clear()
            items = [item for body in edge.bodies for item in body["items"]]
            assert {body["authorization"] for body in edge.bodies} == {"Bearer secret"}
            assert items == [
                {"channel": "liveblog-story-7", "id": "5", "prev-id": "4",
                 "formats": {"ws-message": {"content": created}}},
                {"channel": "liveblog-story-7", "id": "6", "prev-id": "5",
                 "formats": {"ws-message": {"action": "close", "code": 4404}}},
            ]
    finally:
        publisher.stop()
        for edge in edges:
            edge.server.shutdown()
            edge.server.server_close()


class SlowEdge(RecordingEdge):
    """A publish API that keeps its answer to frames until `answer_frames` is set: loaded."""

    def __init__(self):
        super().__init__()
        self.answer_frames = threading.Event()
        handler = self.server.RequestHandlerClass
        take = handler.do_POST
        answer_frames = self.answer_frames

        def do_post(request):
            if b'"prev-id"' in request.rfile.peek(1 << 16):  # frames, not heartbeats
                assert answer_frames.wait(WAIT)
            take(request)

        handler.do_POST = do_post


def test_a_heartbeat_does_not_overtake_a_frame_the_edge_has_not_answered(app, actions,
                                                                         monkeypatch):
    monkeypatch.setattr("liveblog.live.grip_publisher.HEARTBEAT_SETTLE_SECONDS", 0)
    actions.create_story()
    seq = actions.post_entry()["seq"]
    with app.app_context():
        story_id = db.session.scalar(select(Story.id).filter_by(slug="storm"))
    edge = SlowEdge()
    app.config.update(LIVE_GRIP_PUBLISH_URL=edge.url, LIVE_HEARTBEAT_SECONDS=3600)
    publisher = GripPublisher(app)
    try:
        publisher.publish(Frame(story_id, seq, json.dumps({"type": "entry.created", "seq": seq})))
        deadline = time.monotonic() + WAIT
        while not edge.bodies:  # the frame reached the edge, which has not answered yet
            publisher._beat()
            assert time.monotonic() < deadline, "no heartbeat reached the edge"
        channel = grip.channel_of(story_id)
        heartbeats = [item for body in edge.bodies for item in body["items"]
                      if item["channel"] == channel]
        # Readers told `seq` before the frame would all resume for a frame on its way.
        assert [json.loads(item["formats"]["ws-message"]["content"])["seq"]
                for item in heartbeats] == [seq - 1] * len(heartbeats)
        edge.answer_frames.set()
        while publisher.published < 1:
            edge.received.wait(max(0.0, deadline - time.monotonic()))
            assert time.monotonic() < deadline, "the frame was not published"
        # Taken: the next heartbeat tells it.
        told = None
        while told != seq:
            publisher._beat()
            told = [json.loads(item["formats"]["ws-message"]["content"])["seq"]
                    for body in edge.bodies for item in body["items"]
                    if item["channel"] == channel and "id" not in item][-1]
            assert time.monotonic() < deadline, "no heartbeat told the published seq"
    finally:
        edge.answer_frames.set()
        publisher.stop()
        edge.server.shutdown()
        edge.server.server_close()


def test_a_heartbeat_tells_no_seq_the_story_had_not_reached_at_the_last_beat(app, actions,
                                                                             monkeypatch):
    monkeypatch.setattr("liveblog.live.grip_publisher.HEARTBEAT_SETTLE_SECONDS", 0)
    actions.create_story()
    first = actions.post_entry()["seq"]
    with app.app_context():
        channel = grip.channel_of(db.session.scalar(select(Story.id).filter_by(slug="storm")))
    edge = RecordingEdge()
    app.config.update(LIVE_GRIP_PUBLISH_URL=edge.url, LIVE_HEARTBEAT_SECONDS=3600)
    # The entries below stand for another process's: this app's own publisher would send their
    # frames, and beat, to the same edge on its own threads, whenever those got to it.
    monkeypatch.delitem(app.extensions, "liveblog.grip_publisher")
    publisher = GripPublisher(app)

    def told() -> int:
        publisher._beat()
        beats = [json.loads(item["formats"]["ws-message"]["content"])
                 for body in edge.bodies for item in body["items"] if item["channel"] == channel]
        assert all(beat["type"] == "heartbeat" for beat in beats)
        return beats[-1]["seq"]

    try:
        assert told() == first
        # Another process commits the next entry: its frame may still be on its way to the edge,
        # so the beat after it tells the seq of the beat before.
        second = actions.post_entry()["seq"]
        assert told() == first
        assert told() == second
    finally:
        publisher.stop()
        edge.server.shutdown()
        edge.server.server_close()


def test_each_part_of_a_pushpin_gets_a_port_of_its_own(tmp_path):
    # Drawn one after another, two of its five ports once came back the same, and Pushpin could
    # not start. Drawn together, they differ every time.
    for attempt in range(100):
        ports = free_ports(5)
        assert len(set(ports)) == 5, (attempt, ports)
    pushpin = Pushpin(str(tmp_path / "pushpin"), 5000, "key")
    pushpin.stop()  # never started: this removes the run directory its configuration made
    assert not os.path.exists(pushpin.run_directory)
    with open(pushpin.config) as config:
        text = config.read()
    spec_ports = [int(port) for port in re.findall(r"tcp://127\.0\.0\.1:(\d+)", text)]
    assert len(set([pushpin.port, pushpin.publish_port, *spec_ports])) == 5
