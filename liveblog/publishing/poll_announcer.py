"""Coalesces votes into `poll.updated` frames: at most one a second per poll, always the last.

A vote marks its poll dirty and returns; this process's loop announces each dirty poll at
once if its last frame is old enough (polls.ANNOUNCE_EVERY), else when it will be, so a burst
of votes costs its readers at most one frame a second and the final tallies always follow the
last vote. The rule itself is kept in the database (polls.announce_poll), so it holds across
processes, and the loop delivers each frame as it writes it (Hub.publish_here).
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from liveblog.background import Loop
from liveblog.extensions import db
from liveblog.outages import Outage
from liveblog.publishing.polls import announce_poll

log = logging.getLogger(__name__)

# How long to wait before trying again when an announcement fails (the database is down).
RETRY_SECONDS = 1.0


class PollAnnouncer:
    """This process's dirty polls and the loop that announces them."""

    def __init__(self, app: Flask):
        self.app = app
        self._due: dict[int, float] = {}  # poll id -> monotonic time it may be announced
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._loop = Loop("liveblog-polls", self._step, 0.0,
                          outage=Outage("poll announcer", "database", log),
                          unblock=self._wake.set)

    def mark(self, poll_id: int) -> None:
        """A vote was counted: announce the poll as soon as the one-a-second rule allows."""
        with self._lock:
            self._due.setdefault(poll_id, time.monotonic())
        self._wake.set()
        self._loop.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current step."""
        self._loop.stop(timeout)

    def pending(self) -> int:
        """How many polls wait for their announcement."""
        with self._lock:
            return len(self._due)

    def _step(self) -> None:
        with self._lock:
            now = time.monotonic()
            ready = [poll_id for poll_id, at in self._due.items() if at <= now]
            wait = min(self._due.values(), default=now + 1.0) - now
        if not ready:
            self._wake.wait(max(wait, 0.0))
            self._wake.clear()
            return
        for poll_id in ready:
            with self._lock:
                self._due.pop(poll_id, None)
            try:
                later = self._announce(poll_id)
            except Exception:
                self._again(poll_id, RETRY_SECONDS)
                raise
            if later > 0:
                self._again(poll_id, later)

    def _again(self, poll_id: int, seconds: float) -> None:
        with self._lock:
            at = time.monotonic() + seconds
            self._due[poll_id] = min(self._due.get(poll_id, at), at)

    def _announce(self, poll_id: int) -> float:
        with self.app.app_context():
            try:
                return announce_poll(poll_id)
            finally:
                db.session.remove()


def announcer(app: Flask) -> PollAnnouncer:
    """The app's announcer, made on first use (a process that takes no vote runs no loop)."""
    found = app.extensions.get("liveblog.polls")
    if found is None:
        found = app.extensions.setdefault("liveblog.polls", PollAnnouncer(app))
    return found
