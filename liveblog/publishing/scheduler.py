"""Publishes scheduled entries, closes polls when they fall due and announces tallies a stopped
process left untold, from a background loop in each server process.

Every process may run one: publish_due_entries locks each story before it reads the due entries
again, so each entry is published exactly once however many processes are looking.
"""

from __future__ import annotations

import logging

from flask import Flask
from sqlalchemy import or_, select

from liveblog.background import Loop
from liveblog.extensions import db
from liveblog.models import utcnow
from liveblog.outages import Outage
from liveblog.publishing.polls import POLLS_TO_CLOSE, announce_untold_polls, close_due_polls
from liveblog.publishing.story_schedule import (
    STORIES_TO_END,
    STORIES_TO_OPEN,
    run_story_schedules,
)
from liveblog.publishing.workflow import STORIES_WITH_DUE_ENTRIES, publish_due_entries

log = logging.getLogger(__name__)

# Most seconds nothing is due. One question, made of the very queries the steps run, says
# whether anything timed to the second is: a pass that finds nothing then costs about a sixth of
# the full pass's six queries (bench/background.py), in every process, every second.
ANYTHING_DUE = select(or_(*(query.exists() for query in (
    STORIES_WITH_DUE_ENTRIES, POLLS_TO_CLOSE, STORIES_TO_OPEN, STORIES_TO_END))))
# The checks that need no such timing (tallies a stopped process left untold, stories quiet
# long enough to archive, counted in hours) run in full every this many passes.
FULL_PASS_EVERY = 10


class Scheduler:
    """A background loop that looks for due entries every `interval` seconds."""

    def __init__(self, app: Flask, interval: float = 1.0):
        self.app = app
        self._passes = 0
        # A database that is down fails every pass: one line when it goes, one when it is back.
        self._loop = Loop("liveblog-scheduler", self._pass, interval,
                          outage=Outage("scheduler", "database", log))

    def start(self) -> Scheduler:
        """Start looking for due entries."""
        self._loop.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current pass."""
        self._loop.stop(timeout)

    def run_once(self) -> int:
        """Publish what is due now, close polls whose time has come and tell readers tallies
        no process told them; return entries published."""
        with self.app.app_context():
            try:
                published = publish_due_entries()
                close_due_polls()
                announce_untold_polls()
                run_story_schedules()  # stories that open, end or archive at a set time
                return published
            finally:
                db.session.remove()

    def anything_due(self) -> bool:
        """Whether an entry, a poll or a story is due to the second now (one query)."""
        with self.app.app_context():
            try:
                return bool(db.session.scalar(ANYTHING_DUE, {"now": utcnow()}))
            finally:
                db.session.remove()

    def _pass(self) -> None:
        self._passes += 1
        if self._passes % FULL_PASS_EVERY != 1 and not self.anything_due():
            return
        published = self.run_once()
        if published:
            log.info("published %d scheduled entries", published)
