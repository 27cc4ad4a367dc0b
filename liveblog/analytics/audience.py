"""Readers over time and each entry's reach, for the desk's analytics page and the stats API.

Times come back as naive UTC, as SQLite hands them back, whichever the database.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from liveblog.extensions import db
from liveblog.models import (
    AudienceSample,
    Entry,
    EntryReach,
    EntryStatus,
    Event,
    EventType,
    as_utc,
)

# A sample older than this many periods when an entry went out says nothing of that moment:
# no process was sampling (every one stopped, or the database was away).
STALE_PERIODS = 3


def readers_over_time(story_id: int) -> list[tuple[datetime, int]]:
    """A story's samples of open readers in all processes, oldest first: (UTC naive, readers).

    Each value holds until the next sample (draw steps): a run of readers is sampled every
    AUDIENCE_SAMPLE_SECONDS, and a 0 is stored once when the last one leaves.
    """
    rows = db.session.execute(
        select(AudienceSample.taken_at, AudienceSample.readers)
        .where(AudienceSample.story_id == story_id)
        .order_by(AudienceSample.taken_at)
    ).all()
    return [(_naive(taken_at), readers) for taken_at, readers in rows]


def peak(story_id: int) -> tuple[int, datetime | None]:
    """The highest sample of a story's open readers and when first reached; (0, None) if none."""
    row = db.session.execute(
        select(AudienceSample.readers, AudienceSample.taken_at)
        .where(AudienceSample.story_id == story_id, AudienceSample.readers > 0)
        .order_by(AudienceSample.readers.desc(), AudienceSample.taken_at)
        .limit(1)
    ).one_or_none()
    return (row.readers, _naive(row.taken_at)) if row else (0, None)


def entry_reach(story_id: int) -> dict[int, dict]:
    """Entry id -> {"connected": readers open when it went out, "seen": readers who saw it}.

    Every published entry of the story is there. "connected" is the sample in force when the
    entry's first entry.created event was written (within one sample period of that moment);
    "seen" counts the readers' pages that showed it on screen for a second (analytics/reach.py).
    """
    entries = db.session.execute(
        select(Entry.id, Entry.published_at)
        .where(Entry.story_id == story_id, Entry.status == EntryStatus.PUBLISHED.value)
    ).all()
    went_out = dict(db.session.execute(
        select(Event.entry_id, func.min(Event.created_at))
        .where(Event.story_id == story_id, Event.type == EventType.ENTRY_CREATED.value,
               Event.entry_id.is_not(None))
        .group_by(Event.entry_id)
    ).all())
    seen = dict(db.session.execute(
        select(EntryReach.entry_id, EntryReach.seen)
        .join(Entry, Entry.id == EntryReach.entry_id)
        .where(Entry.story_id == story_id)
    ).all())
    samples = readers_over_time(story_id)
    times = [taken_at for taken_at, _ in samples]
    stale = timedelta(seconds=STALE_PERIODS * current_app.config["AUDIENCE_SAMPLE_SECONDS"])

    def connected(moment: datetime) -> int:
        at = bisect.bisect_right(times, moment) - 1
        if at < 0 or moment - times[at] > stale:
            return 0
        return samples[at][1]

    return {
        entry_id: {"connected": connected(_naive(went_out.get(entry_id) or published_at)),
                   "seen": seen.get(entry_id, 0)}
        for entry_id, published_at in entries
    }


def _naive(value: datetime) -> datetime:
    return as_utc(value).replace(tzinfo=None)
