"""The live WebSocket: replay a story's events after the reader's seq, then stream new ones."""

from __future__ import annotations

import _socket
import json
import logging
import socket
import ssl
import struct
import threading
import time

from flask import Blueprint, Flask, current_app, request
from simple_websocket import ConnectionClosed
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from liveblog.extensions import db, sock
from liveblog.live import audience, relay
from liveblog.live.hub import Frame, Hub, changes_story, withdraws
from liveblog.models import Story, StoryStatus
from liveblog.queries import events_after
from liveblog.web import socket_trace
from liveblog.web.limits import limit_live_connects
from liveblog.web.params import ascii_int

bp = Blueprint("live", __name__)
limit_live_connects(bp)
log = logging.getLogger(__name__)

REPLAY_BATCH = 500
CLOSE_UNKNOWN_STORY = 4404
CLOSE_ARCHIVED = 4410
CLOSE_RESTARTING = 1012  # "service restart": clients reconnect at once, elsewhere
CLOSE_TRY_LATER = 1013  # "try again later": the database is not answering, or anything else


def init_app(app: Flask) -> None:
    """Create this process's hub, link it to other processes if asked, register the route."""
    hub = app.extensions["liveblog.hub"] = Hub(load_gap=_gap_loader(app))
    relay.init_app(app, hub)
    audience.init_app(app, hub)
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
    """One WebSocket reader: sends frames in seq order, each exactly once.

    Two parties write to the socket: the reader's own loop (replay, heartbeats, frames it was
    woken for) and the hub's dispatcher (`write_now`, for a reader that is caught up). `lock`
    decides which one writes at a time, so frames never interleave on the wire.
    """

    def __init__(self, ws, last_seq: int):
        self.last_seq = last_seq
        self.last_sent_at = time.monotonic()
        self.lock = threading.Lock()
        self.unsent = b""  # the rest of a frame the hub could only partly write
        self.sock = ws.sock
        self._raw = _raw_socket(ws.sock)
        # simple-websocket's own thread writes too (pongs, closes): through the lock as well, so
        # a pong never lands inside a frame that went out in parts.
        ws.sock = LockedWrites(ws.sock, self.lock)

    def send(self, frame: Frame) -> None:
        """Write a frame unless the reader already has it."""
        self.flush()
        if frame.seq <= self.last_seq:
            return
        self.sock.sendall(wire_of(frame))
        self.last_seq = frame.seq
        self.last_sent_at = time.monotonic()

    def send_json(self, message: dict) -> None:
        """Send a control message such as a heartbeat."""
        self.flush()
        self.sock.sendall(encode_text_frame(json.dumps(message)))
        self.last_sent_at = time.monotonic()

    def flush(self) -> None:
        """Finish writing a frame the hub started, before anything else goes out."""
        if self.unsent:
            unsent, self.unsent = self.unsent, b""
            self.sock.sendall(unsent)

    def write_now(self, frame: Frame) -> bool:
        """From the hub: write the next frame if the socket takes it at once.

        True if the reader has the frame now: just written, or sent before (a replay).

        False leaves the frame to the reader's loop: the loop is busy writing, the reader is
        behind (a replay or gap fill comes first), or the socket is full. A partial write is
        kept in `unsent` and also answers False, so the loop is woken to finish it.
        """
        if frame.seq <= self.last_seq:
            return True  # it has this one (a replay, a check of the log): nobody to wake
        if self._raw is None or not self.lock.acquire(blocking=False):
            return False
        try:
            if self.unsent or frame.seq != self.last_seq + 1:
                return False
            data = wire_of(frame)
            try:
                sent = self._raw.send(data, socket.MSG_DONTWAIT)
            except OSError:  # full (EAGAIN) or gone: the loop will queue or notice the close
                return False
            self.last_seq = frame.seq
            self.last_sent_at = time.monotonic()
            if sent < len(data):
                self.unsent = data[sent:]
                return False
            return True
        finally:
            self.lock.release()

    def cut_off(self) -> None:
        """Drop a reader that fell too far behind; it reconnects and resumes by seq."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class LockedWrites:
    """A socket whose writes wait for a lock; everything else goes straight to the socket."""

    def __init__(self, sock, lock: threading.Lock):
        self._wrapped = sock
        self._lock = lock

    def send(self, data, *args) -> int:
        """Send once the lock is free."""
        with self._lock:
            return self._wrapped.send(data, *args)

    def sendall(self, data, *args) -> None:
        """Send everything once the lock is free."""
        with self._lock:
            self._wrapped.sendall(data, *args)

    def __getattr__(self, name: str):
        return getattr(self._wrapped, name)


def wire_of(frame: Frame) -> bytes:
    """The frame as bytes on the wire, encoded once and shared by every reader."""
    if frame.wire is None:
        frame.wire = encode_text_frame(frame.text)
    return frame.wire


def _raw_socket(sock) -> socket.socket | None:
    # Under gevent the cooperative socket wraps the OS socket in `_sock`; a plain socket is its
    # own. A TLS socket must never be written around, so it gets no fast path.
    if isinstance(sock, ssl.SSLSocket):
        return None
    raw = getattr(sock, "_sock", sock)
    return raw if isinstance(raw, _socket.socket) else None


def _replay(reader: Reader, story_id: int, before: int | None = None) -> bool:
    # True if the last story change replayed set the story back to draft: its readers go.
    withdrawn = False
    while True:
        rows = events_after(story_id, reader.last_seq, REPLAY_BATCH, before)
        for row in rows:
            frame = Frame(story_id, row.seq, row.payload)
            if changes_story(frame):
                withdrawn = withdraws(frame)
            reader.send(frame)
        if len(rows) < REPLAY_BATCH:
            return withdrawn


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
    trace = socket_trace.watch(ws)  # the close code and last seq, for the request's log line
    try:
        _serve(ws, slug, trace)
    except (ConnectionClosed, OSError):
        pass
    except Exception as error:
        # The handshake is done, so an HTTP 503 can no longer be sent; a close the client
        # understands makes it back off and resume by seq, instead of a garbled stream. The
        # database being down or its pool exhausted (a reconnect storm) is no defect: the
        # request's log line and the close-code counter say 1013. Anything else is one.
        if not isinstance(error, SQLAlchemyError):
            log.exception("serving a reader of story %r failed", slug)
        if ws.connected:
            ws.close(CLOSE_TRY_LATER, "The server cannot serve this story now; reconnect shortly")
    finally:
        db.session.remove()


def _serve(ws, slug: str, trace) -> None:
    story = db.session.scalar(select(Story).filter_by(slug=slug))
    if story is None or story.status == StoryStatus.DRAFT:
        ws.close(CLOSE_UNKNOWN_STORY, "No such story")
        return
    if story.archived:
        ws.close(CLOSE_ARCHIVED, "The story is archived; it no longer updates")
        return
    story_id, last_seq = story.id, story.last_seq
    # Anything but ASCII digits (`²` passes isdigit()) reads as a new reader's connection.
    after = ascii_int(request.args.get("after"))
    after = last_seq if after is None else after
    reader = trace.reader = Reader(ws, min(after, last_seq))
    hub: Hub = current_app.extensions["liveblog.hub"]
    heartbeat = current_app.config["LIVE_HEARTBEAT_SECONDS"]
    # Subscribe before replaying: an event committed during the replay is then either in the
    # replay or in the queue (or both, and Reader.send drops the second copy). The socket's own
    # event doubles as the wake-up, so a new frame, a message or a close all end the wait.
    subscription = hub.subscribe(
        story_id, on_overflow=reader.cut_off, wakeup=ws.event, write_now=reader.write_now)
    try:
        with reader.lock:
            if after > last_seq:
                # The reader knows a seq this story never reached (a restored database?).
                reader.send_json({"type": "story.reset", "seq": last_seq})
            if not subscription.closing and _replay(reader, story_id):
                # Set back to draft after the story was read above: gone, as for every reader.
                subscription.close(unpublished=True)
        db.session.remove()  # hold no database connection while idle
        while ws.connected and not subscription.overflowed and not subscription.closing:
            woken = ws.event.wait(timeout=heartbeat)
            ws.event.clear()
            messages = _drain_incoming(ws)
            # Read before the drain: every frame up to it has been offered to this reader by
            # now, so a reader still short of it after the drain has lost one, and resumes.
            delivered = hub.last_seq(story_id) or 0
            with reader.lock:
                reader.flush()
                frames = subscription.drain()
                for frame in frames:
                    if frame.seq > reader.last_seq + 1:
                        # The hub itself sends readers away when a story goes back to draft.
                        _replay(reader, story_id, before=frame.seq)
                        db.session.remove()
                    reader.send(frame)
                if time.monotonic() - reader.last_sent_at >= heartbeat:
                    # The story's seq as this process knows it, not the reader's own: a page
                    # that has less resumes with after=<its seq>.
                    reader.send_json({"type": "heartbeat",
                                      "seq": max(reader.last_seq, delivered)})
            if woken and not frames and not messages:
                # simple-websocket sets the event just before it marks a closing socket as
                # closed; let its thread finish so the loop sees `connected` turn false.
                ws.thread.join(timeout=0.05)
        if subscription.closing and ws.connected:
            if subscription.unpublished:
                ws.close(CLOSE_UNKNOWN_STORY, "No such story")
            else:
                ws.close(CLOSE_RESTARTING, "Server restarting; reconnect with after=<seq>")
    finally:
        hub.unsubscribe(subscription)
