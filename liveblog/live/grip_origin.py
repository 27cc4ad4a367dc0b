"""The live route for a GRIP edge: readers' sockets held by Pushpin (or a GRIP CDN), not by us.

The edge turns each reader's WebSocket into WebSocket-over-HTTP requests to the same address
the socket path serves (`POST /api/stories/<slug>/live?after=<seq>`). On `OPEN` we answer as the
socket path does: the events after `after` from the log, then the story's channel, which from
then on brings every new frame (live/grip_publisher.py puts them there, in seq order). A frame
committed between our read of the log and the edge's subscription reaches the reader as a hole
before the next frame, or a heartbeat ahead of it; on either, the page resumes with `after=`,
as it does on the socket path (static/js/live-socket.js). Nothing changes for the page.
"""

from __future__ import annotations

import json
import os

from flask import Blueprint, Flask, Response, abort, current_app, request
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from liveblog.extensions import csrf, db, limiter
from liveblog.live import grip
from liveblog.live.grip import Event
from liveblog.live.hub import Frame, changes_story, withdraws
from liveblog.models import Story, StoryStatus
from liveblog.queries import events_after
from liveblog.web.params import ascii_int

bp = Blueprint("grip", __name__)
REPLAY_BATCH = 500
# As on the socket path (docs/api.md): a reader's message over 4 KiB closes it with 1009.
MAX_MESSAGE = 4096
CLOSE_TOO_BIG = 1009
CLOSE_UNKNOWN_STORY = 4404
CLOSE_ARCHIVED = 4410


def _opening() -> bool:
    # Only a reader's arrival counts as a connect; its later messages and its close do not.
    return request.get_data(cache=True).startswith(b"OPEN\r\n")


# The socket path's limit (web/limits.py), in the same shared budget, on arrivals only. Behind
# an edge every request comes from it: the edge must pass the reader's address on
# (X-Forwarded-For, with TRUSTED_PROXIES), or the limit counts the whole audience as one.
limiter.shared_limit(
    lambda: current_app.config["LIVE_CONNECT_LIMIT"], scope="live-connects",
    key_func=get_remote_address, exempt_when=lambda: not _opening(),
    error_message="Too many live connections from this address; wait for Retry-After seconds.",
)(bp)


def init_app(app: Flask) -> None:
    """Serve the edge's requests when the key it signs them with is set (LIVE_GRIP_KEY)."""
    app.config.setdefault("LIVE_GRIP_KEY", os.environ.get("LIVE_GRIP_KEY") or None)
    app.register_blueprint(bp)
    csrf.exempt(bp)  # no cookie: the edge proves itself with Grip-Sig


@bp.post("/api/stories/<slug>/live")
def edge_events(slug: str):
    """Answer the edge's WebSocket-over-HTTP events for one reader of a story."""
    key = current_app.config.get("LIVE_GRIP_KEY")
    if not key:
        abort(404)  # not in GRIP mode: the address is a WebSocket, and nothing else
    if not grip.valid_signature(request.headers.get("Grip-Sig"), key):
        abort(403, "This address takes WebSocket-over-HTTP only from the GRIP edge.")
    if request.mimetype != grip.CONTENT_TYPE:
        abort(415, f"Send {grip.CONTENT_TYPE}.")
    if not request.headers.get("Sec-WebSocket-Extensions", "").startswith("grip"):
        # Without it the edge would pass our instructions (and `m:` prefixes) to the reader.
        abort(400, "WebSocket-over-HTTP here needs the grip extension.")
    try:
        events = grip.parse_events(request.get_data(cache=True))
    except grip.BadEvents as error:
        abort(400, f"Malformed WebSocket-over-HTTP events: {error}.")
    answer: list[Event] = []
    for event in events:
        if event.type == "OPEN":
            answer.extend(_open(slug))
        elif event.type in ("TEXT", "BINARY") and len(event.content) > MAX_MESSAGE:
            answer.append(grip.close(CLOSE_TOO_BIG, "Message too big"))
        elif event.type == "PING":
            answer.append(Event("PONG", event.content))
        elif event.type == "CLOSE":
            answer.append(Event("CLOSE", event.content[:2]))  # the close handshake's answer
        # Other messages from readers are ignored, as on the socket path.
    response = Response(b"".join(map(grip.encode_event, answer)), content_type=grip.CONTENT_TYPE)
    # Lets our `c:` messages instruct the edge instead of reaching the reader.
    response.headers["Sec-WebSocket-Extensions"] = "grip"
    response.headers["Cache-Control"] = "no-store"
    return response


def _open(slug: str) -> list[Event]:
    publisher = current_app.extensions.get("liveblog.grip_publisher")
    if publisher is not None:
        publisher.start()  # a process serving the edge's readers sends their heartbeats
    # Columns, not the ORM object: a reader's arrival is the hot path of a reconnect storm.
    story = db.session.execute(
        select(Story.id, Story.status, Story.archived, Story.last_seq).filter_by(slug=slug)).first()
    if story is None or story.status == StoryStatus.DRAFT:
        return [Event("OPEN"), grip.close(CLOSE_UNKNOWN_STORY, "No such story")]
    if story.archived:
        return [Event("OPEN"),
                grip.close(CLOSE_ARCHIVED, "The story is archived; it no longer updates")]
    story_id, last_seq = story.id, story.last_seq
    # Anything but ASCII digits reads as a new reader's connection, as on the socket path.
    after = ascii_int(request.args.get("after"))
    after = last_seq if after is None else after
    answer = [Event("OPEN")]
    if after > last_seq:
        # The reader knows a seq this story never reached (a restored database?).
        answer.append(grip.text(json.dumps({"type": "story.reset", "seq": last_seq})))
    frames, withdrawn = _replay(story_id, min(after, last_seq))
    answer.extend(grip.text(frame.text) for frame in frames)
    if withdrawn:
        # Set back to draft after the story was read above: gone, as for every reader.
        answer.append(grip.close(CLOSE_UNKNOWN_STORY, "No such story"))
    else:
        # After the replay, so the edge queues every replayed frame before any published one.
        answer.append(grip.subscribe(grip.channel_of(story_id)))
    return answer


def _replay(story_id: int, after: int) -> tuple[list[Frame], bool]:
    # The log after `after`, in batches, as the socket path replays it; and whether the last
    # story change in it set the story back to draft.
    frames: list[Frame] = []
    withdrawn = False
    while True:
        rows = events_after(story_id, after, REPLAY_BATCH)
        for row in rows:
            frame = Frame(story_id, row.seq, row.payload)
            if changes_story(frame):
                withdrawn = withdraws(frame)
            frames.append(frame)
            after = row.seq
        if len(rows) < REPLAY_BATCH:
            return frames, withdrawn
