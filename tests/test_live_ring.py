"""The cheap handshake on a real server: a resume inside the ring asks the database nothing."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event
from test_live import assert_silent, close_code, raw_websocket, receive_frames, ws_url
from websockets.sync.client import connect

from liveblog.extensions import db
from liveblog.live import recent


@contextmanager
def statements(app):
    """Every SQL statement any thread of the app runs meanwhile."""
    seen: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def seqs(frames) -> list[int]:
    return [frame["seq"] for frame in frames]


def test_a_resume_inside_the_ring_asks_the_database_nothing(app, live_server, actions):
    actions.create_story()
    for n in range(2):
        actions.post_entry(body=f"<p>{n}</p>")
    # The first reader reads the story and its log, as every connect did: the ring starts at 2.
    with connect(ws_url(live_server, after=0)) as first:
        assert seqs(receive_frames(first, 2)) == [1, 2]
        for n in range(2, 5):
            actions.post_entry(body=f"<p>{n}</p>")
        assert seqs(receive_frames(first, 3)) == [3, 4, 5]  # ringed before it was delivered
        with statements(app) as seen:
            with connect(ws_url(live_server, after=2)) as inside, \
                    connect(ws_url(live_server)) as new_reader:
                frames = receive_frames(inside, 3)
                assert seqs(frames) == [3, 4, 5] and frames[0]["type"] == "entry.created"
                assert_silent(inside, 0.2)
                assert_silent(new_reader, 0.1)
                assert seen == []
                # Older than the ring: the replay query alone, and the frames are exact.
                with connect(ws_url(live_server, after=0)) as older:
                    assert seqs(receive_frames(older, 5)) == [1, 2, 3, 4, 5]
                    assert_silent(older, 0.2)
                    assert len(seen) == 1 and "events" in seen[0].lower(), seen
                    replay_only = list(seen)
                    # And every reader then gets the next entry once, in order.
                    actions.post_entry(body="<p>after</p>")
                    for ws in (first, inside, new_reader, older):
                        assert seqs(receive_frames(ws, 1)) == [6]
                        assert_silent(ws, 0.1)
    assert replay_only == [seen[0]]


def test_a_ring_outlives_its_last_reader_and_follows_the_story_meanwhile(
        app, live_server, actions):
    actions.create_story()
    actions.post_entry()
    with connect(ws_url(live_server, after=0)) as reader:
        assert seqs(receive_frames(reader, 1)) == [1]
    actions.post_entry()  # nobody reads the story here now
    actions.post_entry()
    with statements(app) as seen, connect(ws_url(live_server, after=1)) as back:
        assert seqs(receive_frames(back, 2)) == [2, 3]
        assert_silent(back, 0.2)
        assert seen == []


def test_a_story_set_back_to_draft_is_never_served_from_memory(app, live_server, actions, client):
    actions.create_story()
    actions.post_entry()
    with connect(ws_url(live_server, after=0)) as reader:
        assert seqs(receive_frames(reader, 1)) == [1]
        with raw_websocket(live_server, "/api/stories/storm/live?after=1") as raw:
            client.patch("/api/stories/storm", json={"status": "draft"},
                         headers=actions.headers())
            assert close_code(raw.recv(4096)) == 4404
    with statements(app) as seen, \
            raw_websocket(live_server, "/api/stories/storm/live?after=1") as raw:
        assert close_code(raw.recv(4096)) == 4404
    assert any("stories" in statement.lower() for statement in seen)  # the database said so


@pytest.mark.databases("sqlite")
def test_an_archived_story_is_refused_after_its_ring_went(app, live_server, actions, client):
    actions.create_story()
    actions.post_entry()
    with connect(ws_url(live_server, after=0)) as reader:
        assert seqs(receive_frames(reader, 1)) == [1]
        client.patch("/api/stories/storm", json={"status": "ended", "archived": True},
                     headers=actions.headers())
        assert receive_frames(reader, 1)[0]["story"]["archived"] is True
    with raw_websocket(live_server, "/api/stories/storm/live?after=1") as raw:
        assert close_code(raw.recv(4096)) == 4410


@pytest.mark.databases("sqlite")
def test_a_ring_shorter_than_the_gap_sends_the_reader_to_the_log(
        app, live_server, actions, monkeypatch):
    monkeypatch.setattr(recent, "RING_FRAMES", 2)
    actions.create_story()
    with connect(ws_url(live_server, after=0)) as reader:
        receive_frames(reader, 0)
        for _ in range(5):
            actions.post_entry()
        assert seqs(receive_frames(reader, 5)) == [1, 2, 3, 4, 5]
        with statements(app) as seen:
            with connect(ws_url(live_server, after=3)) as inside:
                assert seqs(receive_frames(inside, 2)) == [4, 5]
            assert seen == []
            with connect(ws_url(live_server, after=2)) as older:
                assert seqs(receive_frames(older, 3)) == [3, 4, 5]
                assert_silent(older, 0.1)
            assert len(seen) == 1


@pytest.mark.databases("sqlite")
def test_a_replay_holds_back_a_withdrawal_until_the_story_is_published_again(
        live_server, actions, client):
    actions.create_story()
    actions.post_entry()
    for status in ("draft", "live"):
        client.patch("/api/stories/storm", json={"status": status}, headers=actions.headers())
    with connect(ws_url(live_server, after=1)) as ws:  # the withdrawal, then the return
        frames = receive_frames(ws, 2)
    assert [(f["seq"], f["story"]["status"]) for f in frames] == [(2, "draft"), (3, "live")]
