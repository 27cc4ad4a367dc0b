"""Readers over time: each period, every process samples the open readers of every story.

Every process counts the same readers (live/audience.py adds up all processes' hubs through
Redis) and names the sample by the start of the same period, so the first process's insert of
(story, period) is the sample and the others' are no-ops: one row, however many processes, and
no lease to hand over when one dies. A row is written while a story has readers, and one at 0
when the last leaves; a story nobody reads costs nothing. Values hold until the next row.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from flask import Flask
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from liveblog.background import Loop
from liveblog.extensions import db
from liveblog.live import audience
from liveblog.models import AudienceSample, Story
from liveblog.outages import Outage

log = logging.getLogger(__name__)

# A process samples this long after a period starts: its readers' reports (written within half
# a second of a change, live/audience.py) have reached Redis, and the sample is still early in
# the period it is named by.
LAG_SECONDS = 0.05


def period_start(now: float, period: float) -> datetime:
    """The start of the sample period holding `now` (epoch seconds), as a UTC time."""
    milliseconds = round(period * 1000)
    start = int(now * 1000) // milliseconds * milliseconds
    return datetime.fromtimestamp(start / 1000, UTC)


def record(counts: dict[int, int], previous: dict[int, int], taken_at: datetime) -> int:
    """Insert one period's samples: stories with readers, and 0 for those that had some; commit.

    Returns the rows this call inserted (another process may have inserted the period first).
    """
    samples = dict(counts)
    samples.update({story: 0 for story, readers in previous.items()
                    if readers and story not in counts})
    if not samples:
        return 0
    known = set(db.session.scalars(select(Story.id).where(Story.id.in_(samples))))
    rows = [{"story_id": story, "taken_at": taken_at, "readers": readers}
            for story, readers in sorted(samples.items()) if story in known]
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(AudienceSample).values(rows)
                 .on_conflict_do_nothing(index_elements=["story_id", "taken_at"])
                 .returning(AudienceSample.story_id))  # rowcount is not told for this on psycopg
    inserted = len(db.session.execute(statement).all())
    db.session.commit()
    return inserted


class Sampler:
    """This process's sampling loop, one pass just after each period starts."""

    def __init__(self, app: Flask):
        self.app = app
        self._seen: dict[int, int] = {}  # the counts of this process's last sample
        # Each dependency down costs two log lines; Redis down skips the sample (one process's
        # readers alone would be stored as the story's), the database down fails the pass.
        self._redis = Outage("audience samples", "redis", log)
        self._loop = Loop("liveblog-audience-samples", self.sample, self._until_next,
                          outage=Outage("audience samples", "database", log))

    @property
    def period(self) -> float:
        """Seconds between samples (AUDIENCE_SAMPLE_SECONDS, read at each pass)."""
        return float(self.app.config["AUDIENCE_SAMPLE_SECONDS"])

    def start(self) -> Sampler:
        """Start sampling."""
        self._loop.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current pass."""
        self._loop.stop(timeout)

    def sample(self, now: float | None = None) -> int:
        """Sample every story's open readers now; return the rows this process inserted."""
        with self.app.app_context():
            try:
                try:
                    counts = audience.reader_counts()
                except RedisError as error:
                    self._redis.failed(error)
                    return 0
                self._redis.worked()
                # Named by when the counts were read: a pass that ran late is not put in the
                # period before.
                now = time.time() if now is None else now
                inserted = record(counts, self._seen, period_start(now, self.period))
            finally:
                db.session.remove()
        # Only once stored (or stored by another process): a failed pass writes its zeros later.
        self._seen = counts
        return inserted

    def _until_next(self) -> float:
        period = self.period
        return period - (time.time() % period) + LAG_SECONDS
