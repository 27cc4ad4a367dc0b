"""Polls on entries: an editor adds or closes one, readers vote, and readers see the tallies.

A vote is one short transaction of its own, not a story change: it stores the vote (the unique
(poll, voter hash) pair refuses a second) and raises its answer's count with one atomic UPDATE,
so the counts always equal the stored votes, whatever runs at once on SQLite or PostgreSQL. The
tallies reach readers as `poll.updated` events through the story's seq log, written by
announce_poll at most once a second per poll (announcer.py coalesces a burst of votes into one).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from liveblog.errors import Conflict, Invalid, NotFound
from liveblog.extensions import db
from liveblog.models import (
    Entry,
    EntryStatus,
    EventType,
    Poll,
    PollOption,
    PollVote,
    Story,
    StoryStatus,
    as_utc,
    iso,
    utcnow,
)
from liveblog.publishing.changes import Change, story_change
from liveblog.publishing.validation import poll_fields

# However fast votes come, a poll's readers get at most one frame a second: written 1.5 s apart.
# The margin is for the way: with several workers a frame crosses Redis to the reader's process,
# whose listener may wait for a turn of a saturated gevent loop, so one frame can take a few
# hundred milliseconds longer than the next (measured: up to 0.19 s; docs/benchmarks.md).
ANNOUNCE_EVERY = timedelta(seconds=1.5)


def attach_poll(entry: Entry, fields: dict) -> None:
    """Give a new (or pollless) entry its poll, within the entry's change."""
    if entry.poll_id is not None:
        raise Conflict("This entry already has a poll; it can be changed or closed.")
    missing = [name for name in ("question", "options") if name not in fields]
    if missing:
        raise Invalid("A new poll needs a question and its answers.",
                      {f"poll.{name}": "is required" for name in missing})
    if fields.get("closed"):
        raise Invalid("A new poll cannot be closed.", {"poll.closed": "must be false"})
    poll = Poll(question=fields["question"], closes_at=fields.get("closes_at"),
                options=[PollOption(position=position, text=text, votes=0)
                         for position, text in enumerate(fields["options"])])
    db.session.add(poll)
    entry.poll = poll


def archived_poll(record: dict) -> Poll:
    """A poll as an archive recorded it: its counts as readers saw them, and closed.

    The copy holds no votes (an archive keeps none), so it could not tell a second vote from
    a first: it shows final results. Its state counts as told, since the entry's own event
    carries it.
    """
    fields = poll_fields({"question": record.get("question"), "options": record.get("options")})
    tallies = record.get("tallies")
    if (not isinstance(tallies, list) or len(tallies) != len(fields["options"])
            or not all(type(count) is int and 0 <= count < 2**31 for count in tallies)):
        raise Invalid("Some fields are not valid.",
                      {"poll.tallies": "must be one whole number per answer"})
    times = {name: _archived_time(record, name) for name in ("created_at", "closes_at",
                                                               "closed_at")}
    poll = Poll(question=fields["question"], closes_at=times["closes_at"],
                closed_at=times["closed_at"] or min(filter(None, (times["closes_at"],
                                                                  utcnow()))),
                created_at=times["created_at"] or utcnow(),
                options=[PollOption(position=position, text=text, votes=count)
                         for position, (text, count)
                         in enumerate(zip(fields["options"], tallies, strict=True))])
    poll.announced = _state(poll)
    return poll


def _archived_time(record: dict, name: str) -> datetime | None:
    value = record.get(name)
    try:
        return as_utc(datetime.fromisoformat(value)) if value else None
    except (TypeError, ValueError):
        raise Invalid("Some fields are not valid.",
                      {f"poll.{name}": "must be an ISO 8601 time"}) from None


def change_poll(entry: Entry, fields: dict) -> None:
    """Change or close an entry's poll within the entry's change; a new one if it has none."""
    poll = entry.poll
    if poll is None:
        # The entry's state, not the request, is at fault: the same body adds to a poll.
        if "question" not in fields or "options" not in fields or fields.get("closed"):
            raise Conflict("This entry has no poll: send a question and its answers to add one.")
        attach_poll(entry, fields)
        return
    if "options" in fields and fields["options"] != [option.text for option in poll.options]:
        # Read under a row lock (PostgreSQL; SQLite's story lock covers it): a vote counted
        # meanwhile is seen here, and one that waits finds its answer gone and is refused.
        counts = db.session.scalars(select(PollOption.votes)
                                    .where(PollOption.poll_id == poll.id).with_for_update())
        if sum(counts):
            raise Conflict("Readers have voted; the answers can no longer change.")
        poll.options = [PollOption(position=position, text=text, votes=0)
                        for position, text in enumerate(fields["options"])]
    if "question" in fields:
        poll.question = fields["question"]
    if "closes_at" in fields and poll.closed_at is None:
        poll.closes_at = fields["closes_at"]
    if fields.get("closed") and poll.closed_at is None:
        poll.closed_at = utcnow()


def cast_vote(poll_id: int, option: int, voter: str) -> dict:
    """Store one reader's vote and count it; the poll's JSON with its tallies, this vote in.

    A second vote with the same token, or a vote on a closed poll, is a 409. Core statements
    only, four in all: a vote is the one write readers make by the thousand.
    """
    poll = _open_to_readers(poll_id)
    if not 0 <= option < len(poll["options"]):
        raise Invalid("No such answer.",
                      {"option": f"must be from 0 to {len(poll['options']) - 1}"})
    if poll["closed"]:
        raise Conflict("This poll has closed.")
    try:
        db.session.execute(insert(PollVote).values(
            poll_id=poll_id, voter_hash=PollVote.hash(poll_id, voter), option=option,
            created_at=utcnow()))
    except IntegrityError:
        db.session.rollback()
        raise Conflict("This browser has already voted in this poll.") from None
    # One statement raises the count, and only while the poll is open: a close committed
    # meanwhile makes it change nothing, and the vote goes with it.
    counted = db.session.execute(
        update(PollOption)
        .where(PollOption.poll_id == poll_id, PollOption.position == option, _still_open(poll_id))
        .values(votes=PollOption.votes + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if counted != 1:
        db.session.rollback()
        raise Conflict("This poll has closed.")
    poll["tallies"] = list(db.session.scalars(
        select(PollOption.votes).where(PollOption.poll_id == poll_id)
        .order_by(PollOption.position)))
    db.session.commit()
    return poll


def _open_to_readers(poll_id: int) -> dict:
    """A poll on a published entry of a story readers can see, as JSON; else NotFound."""
    rows = db.session.execute(
        select(Poll.question, Poll.closes_at, Poll.closed_at, Story.archived, PollOption.text)
        .join(PollOption, PollOption.poll_id == Poll.id)
        .join(Entry, Entry.poll_id == Poll.id)
        .join(Story, Story.id == Entry.story_id)
        .where(Poll.id == poll_id, Entry.status == EntryStatus.PUBLISHED,
               Story.status != StoryStatus.DRAFT)
        .order_by(PollOption.position)
    ).all()
    if not rows:
        raise NotFound("No such poll.")
    question, closes_at, closed_at, archived, _ = rows[0]
    # The shape of Poll.to_dict(), read without loading the poll as an object.
    shown = Poll(question=question, closes_at=closes_at, closed_at=closed_at)
    # An archived story is a finished record: its polls take no more votes.
    return {"id": poll_id, "question": question, "options": [row.text for row in rows],
            "tallies": [], "closed": shown.closed or archived, "closes_at": iso(closes_at)}


def _still_open(poll_id: int):
    return (
        select(Poll.id)
        .where(Poll.id == poll_id, Poll.closed_at.is_(None),
               or_(Poll.closes_at.is_(None), Poll.closes_at > utcnow()))
        .exists()
    )


def announce_poll(poll_id: int) -> float:
    """Tell readers a poll's tallies unless they know them; seconds to wait if told too lately.

    Under the story's lock, so the one-a-second rule holds across every process: the poll's
    last announcement is read, and written, by one of them at a time.
    """
    story_id = db.session.scalar(select(Entry.story_id).where(Entry.poll_id == poll_id))
    if story_id is None:
        return 0.0
    # Delivered by this (background) thread as soon as written, so frames written a second
    # apart reach readers a second apart (Hub.publish_here).
    with story_change(story_id, deliver_here=True) as change:
        poll = db.session.get(Poll, poll_id)
        entry = db.session.scalar(select(Entry).where(Entry.poll_id == poll_id))
        if entry.status != EntryStatus.PUBLISHED:
            return 0.0  # nobody sees it; the entry's own event will carry the poll
        if poll.announced_at is not None:
            wait = (as_utc(poll.announced_at) + ANNOUNCE_EVERY - utcnow()).total_seconds()
            if wait > 0:
                return wait
        emit_poll(change, entry, poll)
    return 0.0


def emit_poll(change: Change, entry: Entry, poll: Poll) -> bool:
    """Append a poll.updated event if its tallies or state differ from the last one's."""
    state = _state(poll)
    if state == poll.announced:
        return False
    seq = change.next_seq()
    change.emit(seq, EventType.POLL_UPDATED, {"poll": {**poll.to_dict(), "entry": entry.id}},
                entry.id)
    db.session.flush()
    # Stamped after the event row is written, so the next one is written a second after it.
    poll.announced, poll.announced_at = state, utcnow()
    return True


# How long after closing a poll is still looked at for tallies its readers were not told.
UNTOLD_WINDOW = timedelta(hours=1)


def announce_untold_polls() -> int:
    """Announce the polls whose tallies readers were never told; return how many there were.

    A vote marks its poll in its own process's announcer, which is memory: a process stopped
    in the second before it announced leaves tallies readers do not know. The database knows
    (poll.announced is the last state told), so any process's scheduler finds and tells them.
    """
    now = utcnow()
    candidates = db.session.scalars(
        select(Poll).join(Entry, Entry.poll_id == Poll.id)
        .where(Entry.status == EntryStatus.PUBLISHED,
               or_(Poll.closed_at.is_(None), Poll.closed_at > now - UNTOLD_WINDOW))
    ).all()
    untold = [poll.id for poll in candidates if _state(poll) != poll.announced]
    db.session.rollback()  # read only: the announcements take their own story locks
    for poll_id in untold:
        announce_poll(poll_id)  # one told less than a second ago waits for the next pass
    return len(untold)


def _state(poll: Poll) -> str:
    """What a poll.updated frame tells, compared with poll.announced to see what is new."""
    return json.dumps([poll.tallies, poll.closed], separators=(",", ":"))


# Built once: the scheduler asks it every second (publishing/scheduler.py).
POLLS_TO_CLOSE = (
    select(Poll.id, Entry.story_id).join(Entry, Entry.poll_id == Poll.id)
    .where(Poll.closed_at.is_(None),
           and_(Poll.closes_at.is_not(None), Poll.closes_at <= bindparam("now")))
)


def close_due_polls() -> int:
    """Close every poll whose time has come and tell its readers; return how many."""
    due = db.session.execute(POLLS_TO_CLOSE, {"now": utcnow()}).all()
    closed = 0
    for poll_id, story_id in due:
        with story_change(story_id) as change:
            poll = db.session.get(Poll, poll_id)
            if poll.closed_at is not None:
                continue  # another process closed it first
            poll.closed_at = poll.closes_at
            entry = db.session.scalar(select(Entry).where(Entry.poll_id == poll_id))
            if entry.status == EntryStatus.PUBLISHED:
                emit_poll(change, entry, poll)
            closed += 1
    return closed
