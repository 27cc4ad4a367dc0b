"""The live route's fast lane (live/lane.py): same answers, same budget, same log line as Flask's.

The lane answers every well-formed handshake; Flask sees the unusual ones (here: any asking for
it with a test header, `to_flask`) and every refusal. Only the lane writes X-Request-ID into
the 101 (flask-sock's answer has no room for it), which is how these tests tell the two ways
apart on the wire.
"""

from __future__ import annotations

import gc
import json
import logging
import time

import pytest
from conftest import Actions, let_go, make_app, serve_in_thread
from simple_websocket import Server
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from liveblog.live import lane

WAIT = 5.0


def ws_url(live_server: str, slug: str = "storm", query: str = "after=0") -> str:
    return live_server.replace("http://", "ws://") + f"/api/stories/{slug}/live?{query}"


FLASK = {"X-Test-Way": "flask"}  # a handshake `to_flask` sends to Flask


@pytest.fixture
def to_flask(monkeypatch):
    """Let a handshake with the FLASK header go to Flask, as an unusual one does."""
    common_case = lane.LiveLane._common_case

    def unless_asked(self, environ):
        return None if environ.get("HTTP_X_TEST_WAY") == "flask" else common_case(self, environ)

    monkeypatch.setattr(lane.LiveLane, "_common_case", unless_asked)


def followed(app, live_server: str, actions) -> None:
    """A live story with one entry, whose first reader left the hub following it."""
    actions.create_story()
    actions.post_entry()
    with connect(ws_url(live_server), open_timeout=WAIT) as first:
        assert json.loads(first.recv(timeout=WAIT))["seq"] >= 1
    assert app.extensions["liveblog.hub"].cached_story("storm") is not None


def lane_answered(ws) -> bool:
    """Whether the lane (not flask-sock) wrote this socket's 101."""
    return ws.response.headers.get("X-Request-ID") is not None


def test_a_resuming_reader_of_a_followed_story_is_served_by_the_lane(
        app, live_server, actions, caplog):
    followed(app, live_server, actions)
    caplog.set_level(logging.INFO, logger="liveblog.requests")
    with connect(ws_url(live_server), open_timeout=WAIT,
                 additional_headers={"X-Request-ID": "lane-reader-1"}) as reader:
        assert reader.response.headers["X-Request-ID"] == "lane-reader-1"
        assert reader.response.headers.get("Sec-WebSocket-Extensions") is None
        seqs = [json.loads(reader.recv(timeout=WAIT))["seq"]]  # the replay from the ring
        actions.post_entry(body="<p>Live</p>")
        seqs.append(json.loads(reader.recv(timeout=WAIT))["seq"])
    assert seqs == [seqs[0], seqs[0] + 1]
    # The request's one line, as Flask's would be: 101, how it closed, the last seq sent.
    line = _wait_for_line(caplog, "lane-reader-1")
    assert (line.status, line.close_code, line.last_seq) == (101, 1000, seqs[-1])
    assert line.path == "/api/stories/storm/live" and line.method == "GET"
    assert line.remote_addr == "127.0.0.1"


def _wait_for_line(caplog, request_id: str) -> logging.LogRecord:
    # The server thread writes the line once the socket is closed, just after the client's
    # close returns: bounded wait, on the records the thread appends.
    deadline = time.monotonic() + WAIT
    while True:
        lines = [r for r in caplog.records if getattr(r, "request_id", None) == request_id]
        if lines:
            assert len(lines) == 1, lines
            return lines[0]
        assert time.monotonic() < deadline, "the lane wrote no log line for its reader"
        time.sleep(0.01)


@pytest.mark.parametrize("prefix", ["", "newsroom-a"])
def test_the_lane_and_flask_draw_on_one_connect_budget(
        tmp_path, monkeypatch, database_url, postgres, prefix, to_flask):
    # Flask-Limiter's keys are its own: if the lane's ever differ, one of the two orders fails.
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = make_app(database_url, postgres is not None, RATELIMIT_KEY_PREFIX=prefix)
    try:
        with serve_in_thread(app) as live_server:
            # Per day: a window that ends mid-test (a minute's might) would start a new budget.
            app.config["LIVE_CONNECT_LIMIT"] = "3 per day"
            followed(app, live_server, Actions(app, app.test_client()))  # one, through the lane
            with connect(ws_url(live_server), open_timeout=WAIT,
                         additional_headers=FLASK) as ws:
                assert not lane_answered(ws)
            with connect(ws_url(live_server), open_timeout=WAIT) as ws:
                assert lane_answered(ws)
            # Three in this window, two by the lane and one by Flask: both refuse the next.
            for headers in ({}, FLASK):
                with pytest.raises(InvalidStatus) as refused:
                    connect(ws_url(live_server), open_timeout=WAIT, additional_headers=headers)
                assert refused.value.response.status_code == 429
                assert b"Too many live connections" in refused.value.response.body
    finally:
        let_go(app)


def test_an_unusual_request_goes_to_flask_and_gets_its_answer(app, live_server, actions):
    followed(app, live_server, actions)
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(live_server, query="after=%00"), open_timeout=WAIT)
    assert refused.value.response.status_code == 400
    # `after` that is no number reads as a new reader's connect, as through Flask.
    with connect(ws_url(live_server, query="after=%C2%B2"), open_timeout=WAIT) as ws:
        assert lane_answered(ws)
        actions.post_entry()
        assert json.loads(ws.recv(timeout=WAIT))["seq"] == 2


def test_a_full_process_refuses_through_the_lane_too(app, live_server, actions):
    followed(app, live_server, actions)
    app.config["MAX_READERS_PER_PROCESS"] = 1
    with connect(ws_url(live_server), open_timeout=WAIT) as reader:
        assert lane_answered(reader)
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(live_server), open_timeout=WAIT)
        assert refused.value.response.status_code == 503
    assert app.extensions["liveblog.reader_slots"].taken <= 1


@pytest.mark.parametrize("slug", ["storm", "nope"])
def test_a_departed_reader_is_freed_without_waiting_for_the_collector(
        app, live_server, actions, slug):
    # Readers stay for hours and leave by the thousand: what a reader held must go when it
    # does, not at the next full collection, which a storm of arrivals makes rare and costly.
    # (flask-sock's view makes a class per socket, a cycle: one reason the lane takes them.)
    followed(app, live_server, actions)
    slots = app.extensions["liveblog.reader_slots"]
    gc.collect()
    gc.disable()
    try:
        before = _servers()
        for _ in range(3):  # a story read from the hub's ring, and one that does not exist
            with connect(ws_url(live_server, slug), open_timeout=WAIT) as reader:
                assert lane_answered(reader)
        deadline = time.monotonic() + WAIT
        while slots.taken or _servers() > before:  # the server thread lets go once it is done
            assert time.monotonic() < deadline, (
                f"{_servers() - before} of 3 closed readers' sockets are still held")
            time.sleep(0.01)
    finally:
        gc.enable()


def _servers() -> int:
    """simple-websocket Servers alive in this process (tracked by the collector, so listed)."""
    return sum(issubclass(type(thing), Server) for thing in gc.get_objects())
