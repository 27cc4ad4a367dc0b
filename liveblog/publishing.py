"""The one write path: every change to a story or entry appends an event in the same transaction.

Each change first takes the story's next sequence number with an UPDATE ... RETURNING on the story
row. That statement locks the row (PostgreSQL) or the database (SQLite) until the commit, so changes
to one story are serialised, their seq values are gapless, and commits happen in seq order. Frames
go to the hub only after the commit, so a reader never sees a change that was rolled back.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError

from .errors import Conflict, Invalid, NotFound, VersionConflict
from .extensions import db
from .hub import Frame
from .models import (
    Entry,
    EntryStatus,
    Event,
    EventType,
    IdempotencyKey,
    Story,
    StoryStatus,
    User,
    utcnow,
)
from .rendering import entry_json, render_entry
from .validation import entry_fields, story_fields

log = logging.getLogger(__name__)


@dataclass
class _Change:
    """The events one transaction appends; the first seq is taken when the change opens."""

    story_id: int
    first_seq: int
    frames: list[Frame] = field(default_factory=list)
    _seqs_taken: int = 0

    def next_seq(self) -> int:
        """The seq for this change's next event: the one taken on opening, then fresh ones."""
        self._seqs_taken += 1
        return self.first_seq if self._seqs_taken == 1 else _allocate_seq(self.story_id)

    def emit(self, seq: int, event_type: EventType, payload: dict, entry_id: int | None = None):
        """Append an event and remember its frame for the hub."""
        text = json.dumps({"type": event_type.value, "seq": seq, **payload},
                          ensure_ascii=False, separators=(",", ":"))
        db.session.add(Event(story_id=self.story_id, seq=seq, type=event_type.value,
                             entry_id=entry_id, payload=text))
        self.frames.append(Frame(self.story_id, seq, text))


def _allocate_seq(story_id: int) -> int:
    statement = (
        update(Story)
        .where(Story.id == story_id)
        .values(last_seq=Story.last_seq + 1, updated_at=utcnow())
        .returning(Story.last_seq)
    )
    seq = db.session.execute(statement).scalar_one_or_none()
    if seq is None:
        raise NotFound("No such story.")
    return seq


@contextmanager
def _story_change(story_id: int) -> Iterator[_Change]:
    """Lock the story, yield a change to fill with events, commit, then hand frames to the hub."""
    try:
        change = _Change(story_id, _allocate_seq(story_id))
        # Anything read before the lock may be stale; read it again under the lock.
        db.session.expire_all()
        yield change
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    hub = current_app.extensions["liveblog.hub"]
    for frame in change.frames:
        try:
            hub.publish(frame)
        except Exception:  # the change is committed; readers catch up from the event log
            log.exception("hub publish failed for story %s seq %s", frame.story_id, frame.seq)


def _entry_frame(entry: Entry) -> dict:
    """What an entry event carries: the entry's JSON and its rendered HTML, once."""
    return {"entry": entry.to_dict(), "html": render_entry(entry)}


def _load_entry(story_id: int, entry_id: int) -> Entry:
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.story_id != story_id or not entry.is_published:
        raise NotFound("No such entry in this story.")
    return entry


def _check_version(entry: Entry, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != entry.version:
        raise VersionConflict(
            f"The entry has changed since version {expected_version}; "
            f"it is now at version {entry.version}.",
            current=entry_json(entry),
        )


def request_hash(*parts: object) -> str:
    """A stable hash of a request, to tell a true retry from a reused idempotency key."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def create_story(data: dict) -> Story:
    """Create a story from validated fields; a taken slug is a conflict."""
    fields = story_fields(data)
    story = Story(**fields)
    if story.status == StoryStatus.ENDED:
        story.ended_at = utcnow()
    db.session.add(story)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"The slug {fields['slug']!r} is taken.", {"slug": "is taken"}) from None
    return story


def update_story(story_id: int, data: dict) -> Story:
    """Change a story's fields and tell its readers."""
    fields = story_fields(data, partial=True)
    with _story_change(story_id) as change:
        story = db.session.get(Story, story_id)
        if "status" in fields and fields["status"] != story.status:
            story.ended_at = utcnow() if fields["status"] == StoryStatus.ENDED else None
        for name, value in fields.items():
            setattr(story, name, value)
        change.emit(change.next_seq(), EventType.STORY_UPDATED, {"story": story.to_dict()})
    return story


def create_entry(
    story_id: int,
    author: User,
    data: dict,
    idempotency_key: str | None = None,
    published_at: datetime | None = None,
) -> tuple[Entry, bool]:
    """Publish an entry; with an idempotency key a retry returns the first entry, not a copy.

    `published_at` backdates an entry for imports and the demo; the API never sets it.
    """
    fields = entry_fields(data)
    fingerprint = request_hash(story_id, data)
    with _story_change(story_id) as change:
        story = db.session.get(Story, story_id)
        if story.status == StoryStatus.ENDED:
            raise Conflict("The story has ended; reopen it to post again.")
        if idempotency_key is not None:
            earlier = db.session.scalar(
                select(IdempotencyKey).filter_by(user_id=author.id, key=idempotency_key)
            )
            if earlier is not None:
                if earlier.request_hash != fingerprint:
                    raise Invalid("This Idempotency-Key was used for a different request.")
                db.session.rollback()  # nothing to write: give back the seq we took
                return db.session.get(Entry, earlier.entry_id), False
        has_original = db.session.scalar(
            select(exists().where(Entry.story_id == story_id, Entry.is_original.is_(True),
                                  Entry.status == EntryStatus.PUBLISHED))
        )
        now = published_at or utcnow()
        entry = Entry(story=story, author=author, published_at=now, updated_at=now,
                      is_original=not has_original, seq=change.next_seq(), **fields)
        db.session.add(entry)
        db.session.flush()
        if idempotency_key is not None:
            db.session.add(IdempotencyKey(user_id=author.id, key=idempotency_key,
                                          request_hash=fingerprint, entry_id=entry.id))
        change.emit(entry.seq, EventType.ENTRY_CREATED, _entry_frame(entry), entry.id)
    return entry, True


def update_entry(
    story_id: int, entry_id: int, data: dict, expected_version: int | None = None
) -> Entry:
    """Edit or pin an entry; a stale expected version is refused with the current entry."""
    fields = entry_fields(data, partial=True)
    if not fields:
        raise Invalid("Nothing to change: send body, headline, label or pinned.")
    with _story_change(story_id) as change:
        entry = _load_entry(story_id, entry_id)
        _check_version(entry, expected_version)
        for name, value in fields.items():
            setattr(entry, name, value)
        _bump(entry, change)
        change.emit(entry.seq, EventType.ENTRY_UPDATED, _entry_frame(entry), entry.id)
    return entry


def delete_entry(story_id: int, entry_id: int, expected_version: int | None = None) -> None:
    """Remove an entry from readers' view; the row stays for the event log."""
    with _story_change(story_id) as change:
        entry = _load_entry(story_id, entry_id)
        _check_version(entry, expected_version)
        entry.status = EntryStatus.DELETED
        _bump(entry, change)
        change.emit(entry.seq, EventType.ENTRY_DELETED, {"entry": {"id": entry.id}}, entry.id)
        if entry.is_original:
            entry.is_original = False
            _promote_next_original(story_id, change)


def _promote_next_original(story_id: int, change: _Change) -> None:
    # The story's oldest remaining entry becomes its ORIGINAL ENTRY, and readers are told.
    successor = db.session.scalar(
        select(Entry)
        .where(Entry.story_id == story_id, Entry.status == EntryStatus.PUBLISHED)
        .order_by(Entry.published_at, Entry.id)
        .limit(1)
    )
    if successor is None:
        return
    successor.is_original = True
    _bump(successor, change)
    change.emit(successor.seq, EventType.ENTRY_UPDATED, _entry_frame(successor), successor.id)


def _bump(entry: Entry, change: _Change) -> None:
    # Every change to an entry gives it a new version and the seq of the event that tells readers.
    entry.version += 1
    entry.updated_at = utcnow()
    entry.seq = change.next_seq()
