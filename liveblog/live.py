"""The live WebSocket: replay a story's events after the reader's seq, then stream new ones."""

from __future__ import annotations

import json
import socket
import struct
import time

from flask import Blueprint, Flask, current_app, request
from simple_websocket import ConnectionClosed
from sqlalchemy import select

from . import relay
from .extensions import db, sock
from .hub import Frame, Hub
from .models import Story, StoryStatus
from .queries import events_after

bp = Blueprint("live", __name__)

REPLAY_BATCH = 500
CLOSE_UNKNOWN_STORY = 4404
CLOSE_ARCHIVED = 4410
CLOSE_RESTARTING = 1012  # "service restart": clients reconnect at once, elsewhere


def init_app(app: Flask) -> None:
    """Create this process's hub, link it to other processes if asked, register the route."""
    hub = app.extensions["liveblog.hub"] = Hub(load_gap=_gap_loader(app))
    relay.init_app(app, hub)
    sock.init_app(app)
    app.register_blueprint(bp)
    app.before_request(_refuse_compression)


def _gap_loader(app: Flask):
    def load_gap(story_id: int, after: int, before: int) -> list[Frame]:
        with app.app_context():
            rows = events_after(story_id, after, before - after, before)
            return [Frame(story_id, row.seq, row.payload) for row in rows]

    return load_gap


def _refuse_compression() -> None:
    # permessage-deflate costs ~250 KB and one compression per reader per frame, and would make
    # each reader's bytes differ; without it one encoded frame is written to every socket.
    if request.endpoint == "live.stream":
        request.environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


def encode_text_frame(text: str) -> bytes:
    """Encode a final, unmasked WebSocket text frame (RFC 6455 section 5.2)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + data


class Reader:
    """One WebSocket reader: sends frames in seq order, each exactly once."""

    def __init__(self, ws, last_seq: int):
        self.ws = ws
        self.last_seq = last_seq
        self.last_sent_at = time.monotonic()

    def send(self, frame: Frame) -> None:
        """Write a frame unless the reader already has it."""
        if frame.seq <= self.last_seq:
            return
        if frame.wire is None:
            frame.wire = encode_text_frame(frame.text)
        self.ws.sock.sendall(frame.wire)
        self.last_seq = frame.seq
        self.last_sent_at = time.monotonic()

    def send_json(self, message: dict) -> None:
        """Send a control message such as a heartbeat."""
        self.ws.sock.sendall(encode_text_frame(json.dumps(message)))
        self.last_sent_at = time.monotonic()

    def cut_off(self) -> None:
        """Drop a reader that fell too far behind; it reconnects and resumes by seq."""
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _replay(reader: Reader, story_id: int, before: int | None = None) -> None:
    while True:
        rows = events_after(story_id, reader.last_seq, REPLAY_BATCH, before)
        for row in rows:
            reader.send(Frame(story_id, row.seq, row.payload))
        if len(rows) < REPLAY_BATCH:
            return


def _drain_incoming(ws) -> int:
    # Readers have nothing to say; whatever they send is thrown away. Reading simple-websocket's
    # buffer directly skips receive(timeout=0), whose zero-timeout wait costs a timer per frame
    # per reader under gevent.
    count = len(ws.input_buffer)
    ws.input_buffer.clear()
    return count


@sock.route("/api/stories/<slug>/live", bp=bp, endpoint="stream")
def stream(ws, slug: str):
    """Replay events after ?after=<seq>, then stream live ones with no gap and no duplicate."""
    story = db.session.scalar(select(Story).filter_by(slug=slug))
    if story is None or story.status == StoryStatus.DRAFT:
        ws.close(CLOSE_UNKNOWN_STORY, "No such story")
        return
    if story.archived:
        ws.close(CLOSE_ARCHIVED, "The story is archived; it no longer updates")
        return
    story_id, last_seq = story.id, story.last_seq
    after = request.args.get("after", "")
    after = int(after) if after.isdigit() and len(after) < 16 else last_seq
    reader = Reader(ws, min(after, last_seq))
    hub: Hub = current_app.extensions["liveblog.hub"]
    heartbeat = current_app.config["LIVE_HEARTBEAT_SECONDS"]
    # Subscribe before replaying: an event committed during the replay is then either in the
    # replay or in the queue (or both, and Reader.send drops the second copy). The socket's own
    # event doubles as the wake-up, so a new frame, a message or a close all end the wait.
    subscription = hub.subscribe(story_id, on_overflow=reader.cut_off, wakeup=ws.event)
    try:
        if after > last_seq:
            # The reader knows a seq this story never reached (a restored database?): resync.
            reader.send_json({"type": "story.reset", "seq": last_seq})
        _replay(reader, story_id)
        db.session.remove()  # hold no database connection while idle
        while ws.connected and not subscription.overflowed and not subscription.closing:
            woken = ws.event.wait(timeout=heartbeat)
            ws.event.clear()
            messages = _drain_incoming(ws)
            frames = subscription.drain()
            for frame in frames:
                if frame.seq > reader.last_seq + 1:
                    _replay(reader, story_id, before=frame.seq)
                    db.session.remove()
                reader.send(frame)
            if woken and not frames and not messages:
                # simple-websocket sets the event just before it marks a closing socket as
                # closed; let its thread finish so the loop sees `connected` turn false.
                ws.thread.join(timeout=0.05)
            if time.monotonic() - reader.last_sent_at >= heartbeat:
                reader.send_json({"type": "heartbeat", "seq": reader.last_seq})
        if subscription.closing and ws.connected:
            ws.close(CLOSE_RESTARTING, "Server restarting; reconnect with after=<seq>")
    except (ConnectionClosed, OSError):
        pass
    finally:
        hub.unsubscribe(subscription)
        db.session.remove()
