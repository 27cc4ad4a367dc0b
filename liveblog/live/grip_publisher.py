"""Publishes committed frames, and heartbeats, to a GRIP edge's channels (Pushpin, a GRIP CDN).

The process that commits a change publishes its frames (publishing/changes.py hands them over
after the commit), so each frame is published once, by one process, whatever the number of
workers. One sender loop per process posts them in commit order, batched, to the edge's publish
API (`LIVE_GRIP_PUBLISH_URL`, e.g. Pushpin's `http://127.0.0.1:5561/publish/`; several edges,
comma-separated, each get every frame), each as a `ws-message` with `id` = its seq and
`prev-id` = the seq before it: the edge holds a frame
that overtook its predecessor (another worker's commit, posted a moment later) until that one
comes, so readers get every story's frames in seq order. A story set back to draft closes its
readers with 4404 instead. Every `LIVE_HEARTBEAT_SECONDS`, each process that serves the edge
sends every readable story's channel a heartbeat with the story's seq: a reader short of it
resumes with `after=`, which is how a frame the edge could not take (it was down) still comes.
A heartbeat never tells a seq this process is still handing to the edge, nor one the story had
not reached at the process's previous beat: a loaded edge can take seconds to take a publish
(another process's, too), and a heartbeat past the frame would send every reader of the story
back to the edge at once, for a frame that was on its way. A lost frame is told a beat later.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
import urllib.error
import urllib.request
from collections import deque

from flask import Flask
from sqlalchemy import select

from liveblog.background import Loop
from liveblog.extensions import db
from liveblog.live import grip
from liveblog.live.hub import Frame, withdraws
from liveblog.models import Story, StoryStatus
from liveblog.outages import Outage

log = logging.getLogger(__name__)

BATCH = 200  # frames per publish request at most
TRIES = 3  # a publish that fails is tried again this many times in all, then left to heartbeats
RETRY_SECONDS = 0.5
# A loaded edge is slow, not gone: an edge fanning a frame out to tens of thousands of readers
# took over 5 s to answer a publish (bench/grip.py), and a frame given up makes its readers resume.
TIMEOUT_SECONDS = 20.0
# A heartbeat tells the seq as of this long before it is sent, so a frame still on its way to
# the edge from another worker is not taken for a lost one (its readers would resume for nothing).
HEARTBEAT_SETTLE_SECONDS = 1.0
CLOSE_UNKNOWN_STORY = 4404


def init_app(app: Flask) -> None:
    """Give the app a publisher; it sends only when LIVE_GRIP_PUBLISH_URL is set."""
    app.config.setdefault("LIVE_GRIP_PUBLISH_URL",
                          os.environ.get("LIVE_GRIP_PUBLISH_URL") or None)
    # A GRIP CDN's publish API asks for a token; a local Pushpin's does not.
    app.config.setdefault("LIVE_GRIP_PUBLISH_TOKEN",
                          os.environ.get("LIVE_GRIP_PUBLISH_TOKEN") or None)
    app.extensions["liveblog.grip_publisher"] = GripPublisher(app)


def frame_item(frame: Frame) -> dict:
    """A committed frame as an item of the edge's publish API, chained to the one before it."""
    if withdraws(frame):
        message = {"action": "close", "code": CLOSE_UNKNOWN_STORY}
    else:
        message = {"content": frame.text}
    return {"channel": grip.channel_of(frame.story_id), "id": str(frame.seq),
            "prev-id": str(frame.seq - 1), "formats": {"ws-message": message}}


def heartbeat_item(story_id: int, seq: int) -> dict:
    """A heartbeat for a story's channel; outside the chain of ids, so it never holds a frame."""
    return {"channel": grip.channel_of(story_id), "formats": {"ws-message": {
        "content": json.dumps({"type": "heartbeat", "seq": seq}, separators=(",", ":"))}}}


class GripPublisher:
    """This process's sender of frames and heartbeats to the edge."""

    def __init__(self, app: Flask):
        self.app = app
        self._outbox: queue.SimpleQueue[Frame | None] = queue.SimpleQueue()
        self._sender = Loop("liveblog-grip-send", self._send_next,
                            unblock=lambda: self._outbox.put(None))
        self._heartbeat = Loop("liveblog-grip-heartbeat", self._beat,
                               lambda: self.app.config["LIVE_HEARTBEAT_SECONDS"])
        self.edge = Outage("grip-publisher", "edge", log)
        self.published = 0  # frames the edge took, for tests and the benchmark
        # Each story's seq at the previous beat: the most the next beat tells.
        self._seq_at_last_beat: dict[int, int] = {}
        # Per story, the seqs queued here or on their way to the edge, oldest first.
        self._unsent: dict[int, deque[int]] = {}
        self._unsent_lock = threading.Lock()

    @property
    def url(self) -> str | None:
        """The edge's publish API, or None when not in GRIP mode."""
        return self.app.config.get("LIVE_GRIP_PUBLISH_URL")

    def start(self) -> None:
        """Start the heartbeats, once; called by the edge's first reader here."""
        if self.url:
            self._heartbeat.start()

    def publish(self, frame: Frame) -> None:
        """Queue a committed frame for the edge; never blocks the request that committed it."""
        if not self.url:
            return
        with self._unsent_lock:  # first: from here on no heartbeat tells this seq
            self._unsent.setdefault(frame.story_id, deque()).append(frame.seq)
        self._sender.start()
        self._heartbeat.start()
        self._outbox.put(frame)

    def heartbeat_seq(self, story_id: int, seq: int) -> int:
        """What a heartbeat may tell of a story at `seq`: not past a frame still on its way."""
        with self._unsent_lock:
            unsent = self._unsent.get(story_id)
            return min(seq, unsent[0] - 1) if unsent else seq

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both loops, each within `timeout`."""
        self._sender.stop(timeout)
        self._heartbeat.stop(timeout)

    def _send_next(self) -> None:
        frame = self._outbox.get()
        if frame is None:
            return  # put there by stop()
        frames = [frame]
        while len(frames) < BATCH:
            try:
                more = self._outbox.get_nowait()
            except queue.Empty:
                break
            if more is None:
                break
            frames.append(more)
        try:
            if self._post([frame_item(item) for item in frames]):
                self.published += len(frames)
        finally:  # taken or given up: either way, heartbeats may now tell these seqs
            self._handed_over(frames)

    def _handed_over(self, frames: list[Frame]) -> None:
        with self._unsent_lock:
            for frame in frames:
                unsent = self._unsent[frame.story_id]
                unsent.remove(frame.seq)
                if not unsent:
                    del self._unsent[frame.story_id]

    def _beat(self) -> None:
        if not self.url:
            return
        with self.app.app_context():
            try:
                rows = db.session.execute(
                    select(Story.id, Story.last_seq).where(
                        Story.status.in_([StoryStatus.LIVE, StoryStatus.ENDED]),
                        Story.archived.is_(False))).all()
            finally:
                db.session.remove()
        if not rows or self._heartbeat.stopping:
            return
        time.sleep(HEARTBEAT_SETTLE_SECONDS)  # see HEARTBEAT_SETTLE_SECONDS
        last_beat, self._seq_at_last_beat = self._seq_at_last_beat, dict(rows)
        # A story first seen now is told its seq as of HEARTBEAT_SETTLE_SECONDS ago.
        self._post([heartbeat_item(story_id, self.heartbeat_seq(
                        story_id, min(seq, last_beat.get(story_id, seq))))
                    for story_id, seq in rows])

    def _post(self, items: list[dict]) -> bool:
        body = json.dumps({"items": items}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        token = self.app.config.get("LIVE_GRIP_PUBLISH_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # Several edges (comma-separated), each holding part of the audience, all get every item.
        results = [self._post_to(url.strip(), body, headers)
                   for url in (self.url or "").split(",") if url.strip()]
        return bool(results) and all(results)

    def _post_to(self, url: str, body: bytes, headers: dict) -> bool:
        for attempt in range(TRIES):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                    answer.read()
                self.edge.worked()
                return True
            except (OSError, urllib.error.HTTPError) as error:
                if attempt + 1 == TRIES:
                    # Readers learn of the lost frames from the next heartbeat, and resume.
                    self.edge.failed(error)
                    return False
                time.sleep(RETRY_SECONDS * (attempt + 1))
        return False
