"""The live WebSocket: replay a story's events after the reader's seq, then stream new ones."""

from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Flask, current_app, g, request
from simple_websocket import ConnectionClosed
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from liveblog.extensions import db, sock
from liveblog.live import audience, grip_origin, grip_publisher, relay, transport
from liveblog.live.hub import Frame, Hub, Subscription, changes_story, withdraws
from liveblog.live.transport import encode_text_frame, wire_of
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
    # simple-websocket's reading thread as a bare greenlet under gevent (transport.py).
    app.config["SOCK_SERVER_OPTIONS"] = {**app.config.get("SOCK_SERVER_OPTIONS", {}),
                                         "thread_class": transport.reader_thread}
    sock.init_app(app)
    app.register_blueprint(bp)
    grip_publisher.init_app(app)  # GRIP mode: an edge holds the sockets (LIVE_GRIP_*)
    grip_origin.init_app(app)
    app.before_request(_refuse_compression)


def _gap_loader(app: Flask):
    def load_gap(story_id: int, after: int, before: int) -> list[Frame]:
        with app.app_context():
            rows = events_after(story_id, after, before - after, before)
            return [Frame(story_id, row.seq, row.payload) for row in rows]

    return load_gap


def _refuse_compression() -> None:
    if request.endpoint == "live.stream":
        transport.refuse_compression(request.environ)


class Reader:
    """One WebSocket reader: sends frames in seq order, each exactly once.

    Two parties send: the reader's own loop (replay, heartbeats, frames it was woken for) and
    the hub's dispatcher (`write_now`, for a reader that is caught up). The connection's lock
    decides which one writes at a time, so frames never interleave on the wire.
    """

    __slots__ = ("connection", "last_seq", "last_sent_at")

    def __init__(self, connection: transport.Connection, last_seq: int):
        self.connection = connection
        self.last_seq = last_seq
        self.last_sent_at = time.monotonic()

    def send(self, frame: Frame) -> None:
        """Write a frame unless the reader already has it; hold the connection's lock."""
        self.connection.flush()
        if frame.seq <= self.last_seq:
            return
        self.connection.sendall(wire_of(frame))
        self.last_seq = frame.seq
        self.last_sent_at = time.monotonic()

    def send_json(self, message: dict) -> None:
        """Send a control message such as a heartbeat; hold the connection's lock."""
        self.connection.sendall(encode_text_frame(json.dumps(message)))
        self.last_sent_at = time.monotonic()

    def write_now(self, frame: Frame) -> bool:
        """From the hub: write the next frame if the socket takes it at once.

        True if the reader has the frame now: just written, or sent before (a replay).

        False leaves the frame to the reader's loop: the loop is busy writing, the reader is
        behind (a replay or gap fill comes first), or the socket is full. A partial write is
        kept in the connection's `unsent` and also answers False, so the loop is woken to
        finish it.
        """
        if frame.seq <= self.last_seq:
            return True  # it has this one (a replay, a check of the log): nobody to wake
        connection = self.connection
        if not connection.lock.acquire(blocking=False):
            return False
        try:
            if connection.unsent or frame.seq != self.last_seq + 1:
                return False
            # Encoded by the first reader it reaches; the rest skip the call.
            whole = connection.send_nowait(frame.wire or wire_of(frame))
            if whole is None:
                return False
            self.last_seq = frame.seq
            self.last_sent_at = time.monotonic()
            return whole
        finally:
            connection.lock.release()


class GreenletReader(Reader):
    """A Reader whose writers are all greenlets of one thread: the hub writes without the lock.

    The hub's write is a send that never waits, so no other greenlet runs until it returns: a
    free lock cannot be taken meanwhile, and a held one means a writer parked mid-write. Taking
    and giving back the lock was a tenth of the fan-out's cost per reader (docs/benchmarks.md).
    """

    __slots__ = ()

    def write_now(self, frame: Frame) -> bool:
        """From the hub: write the next frame if no writer is busy and the socket takes it."""
        # Reader.write_now's steps without the lock, repeated rather than shared: a helper
        # would cost a call per reader per frame, the cost this class exists to cut.
        if frame.seq <= self.last_seq:
            return True
        connection = self.connection
        if connection.lock.locked() or connection.unsent or frame.seq != self.last_seq + 1:
            return False
        whole = connection.send_nowait(frame.wire or wire_of(frame))
        if whole is None:
            return False
        self.last_seq = frame.seq
        self.last_sent_at = time.monotonic()
        return whole


def reader_of(connection: transport.Connection) -> Reader:
    """The Reader of a new connection, with the hub's cheaper write where writers are greenlets."""
    if transport.writers_are_greenlets():
        return GreenletReader(connection, 0)
    return Reader(connection, 0)


def _replay(reader: Reader, story_id: int, before: int | None = None) -> Frame | None:
    # Returns the last story change replayed: if it set the story back to draft, readers go.
    # On connect (no `before`) that one is held back, as the hub holds it back from live
    # readers: only a later change (the story published again, the next event a draft story
    # can have) sends it. A gap filled before a frame sends everything, that frame follows.
    change = held = None
    while True:
        rows = events_after(story_id, held.seq if held else reader.last_seq, REPLAY_BATCH, before)
        for row in rows:
            frame = Frame(story_id, row.seq, row.payload)
            if held is not None:
                reader.send(held)
                held = None
            if changes_story(frame):
                change = frame
                if before is None and withdraws(frame):
                    held = frame
                    continue
            reader.send(frame)
        if len(rows) < REPLAY_BATCH:
            return change


@sock.route("/api/stories/<slug>/live", bp=bp, endpoint="stream")
def stream(ws, slug: str):
    """Replay events after ?after=<seq>, then stream live ones with no gap and no duplicate."""
    trace = g.live_trace = socket_trace.watch(ws)  # for the request's log line
    # Anything but ASCII digits (`²` passes isdigit()) reads as a new reader's connection.
    serve_reader(ws, slug, ascii_int(request.args.get("after")), trace)


def serve_reader(ws, slug: str, after: int | None, trace: socket_trace.Trace) -> None:
    """Serve one reader on an open socket until it goes; the live view's and lane.py's."""
    connection = transport.Connection(ws)
    try:
        _serve(connection, slug, after, trace)
    except (ConnectionClosed, OSError):
        pass
    except Exception as error:
        # The handshake is done, so an HTTP 503 can no longer be sent; a close the client
        # understands makes it back off and resume by seq, instead of a garbled stream. The
        # database being down or its pool exhausted (a reconnect storm) is no defect: the
        # request's log line and the close-code counter say 1013. Anything else is one.
        if not isinstance(error, SQLAlchemyError):
            log.exception("serving a reader of story %r failed", slug)
        connection.close(CLOSE_TRY_LATER,
                         "The server cannot serve this story now; reconnect shortly")
    finally:
        connection.release()
        db.session.remove()


def _serve(connection: transport.Connection, slug: str, after: int | None, trace) -> None:
    hub: Hub = current_app.extensions["liveblog.hub"]
    reader = trace.reader = reader_of(connection)
    # The common case (a story the hub follows, resumed inside its ring of recent frames) is
    # answered from memory; anything else, or any doubt, from the database, the authority.
    subscription = _resume_from_memory(hub, slug, after, reader)
    if subscription is None:
        subscription = _resume_from_log(hub, slug, after, reader)
        if subscription is None:
            trace.reader = None  # no such story: the request's log line has no seq
            return
    try:
        _stream(hub, reader, subscription)
    finally:
        hub.unsubscribe(subscription)


def _subscribe(hub: Hub, story_id: int, reader: Reader) -> Subscription:
    # Subscribe before replaying: an event committed during the replay is then either in the
    # replay or in the queue (or both, and Reader.send drops the second copy). The socket's own
    # event doubles as the wake-up, so a new frame, a message or a close all end the wait.
    connection = reader.connection
    return hub.subscribe(story_id, on_overflow=connection.cut_off, wakeup=connection.wakeup,
                         write_now=reader.write_now)


def _resume_from_memory(hub: Hub, slug: str, after: int | None,
                        reader: Reader) -> Subscription | None:
    # No story lookup and, inside the ring, no replay query; None when the ring cannot say.
    story_id = hub.cached_story(slug)
    if story_id is None:
        return None
    subscription = _subscribe(hub, story_id, reader)
    resumed = hub.resume(story_id, after)
    if resumed is None:
        hub.unsubscribe(subscription)
        return None
    last, frames = resumed
    reader.last_seq = last if after is None else after
    try:
        with reader.connection.lock:
            if subscription.closing:
                pass
            elif frames is None:  # older than the ring: the log has them
                change = _replay(reader, story_id)
                if change is not None and withdraws(change):
                    subscription.close(unpublished=True)
            else:
                for frame in frames:
                    reader.send(frame)
    except BaseException:
        hub.unsubscribe(subscription)
        raise
    return subscription


def _resume_from_log(hub: Hub, slug: str, after: int | None,
                     reader: Reader) -> Subscription | None:
    # As every connect did before the ring: read the story, subscribe, replay from the log.
    connection = reader.connection
    story = db.session.scalar(select(Story).filter_by(slug=slug))
    # A draft scheduled to open has a "starts at" page (public/upcoming.py) whose readers wait
    # here for the opening frame; nothing it showed before (if taken back to draft) is replayed.
    upcoming = (story is not None and story.status == StoryStatus.DRAFT
                and story.opens_at is not None)
    if story is None or (story.status == StoryStatus.DRAFT and not upcoming):
        connection.close(CLOSE_UNKNOWN_STORY, "No such story")
        return None
    if story.archived:
        connection.close(CLOSE_ARCHIVED, "The story is archived; it no longer updates")
        return None
    story_id, last_seq, live = story.id, story.last_seq, story.status == StoryStatus.LIVE
    after = last_seq if after is None or upcoming else after
    reader.last_seq = min(after, last_seq)
    subscription = _subscribe(hub, story_id, reader)
    try:
        with connection.lock:
            if after > last_seq:
                # The reader knows a seq this story never reached (a restored database?).
                reader.send_json({"type": "story.reset", "seq": last_seq})
            if not subscription.closing:
                change = _replay(reader, story_id)
                if change is not None and withdraws(change):
                    # Set back to draft after the story was read above: gone, as for everyone.
                    subscription.close(unpublished=True)
                elif live:
                    # Every frame up to here is sent: the hub rings the story's next ones.
                    hub.warm(story_id, slug, reader.last_seq, change)
    except BaseException:
        hub.unsubscribe(subscription)
        raise
    return subscription


def _stream(hub: Hub, reader: Reader, subscription: Subscription) -> None:
    connection, story_id = reader.connection, subscription.story_id
    heartbeat = current_app.config["LIVE_HEARTBEAT_SECONDS"]
    db.session.remove()  # hold no database connection while idle
    while connection.connected and not subscription.overflowed and not subscription.closing:
        woken = connection.wait(heartbeat)
        messages = connection.discard_incoming()
        # Read before the drain: every frame up to it has been offered to this reader by
        # now, so a reader still short of it after the drain has lost one, and resumes.
        delivered = hub.last_seq(story_id) or 0
        with connection.lock:
            connection.flush()
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
            connection.settle()  # woken by a close, most likely: let it finish
    if subscription.closing:
        if subscription.unpublished:
            connection.close(CLOSE_UNKNOWN_STORY, "No such story")
        else:
            connection.close(CLOSE_RESTARTING, "Server restarting; reconnect with after=<seq>")
