"""The machinery under every published change: a story lock, gapless seq, events, the hub.

Each change first takes the story's next sequence number with an UPDATE ... RETURNING on the story
row. That statement locks the row (PostgreSQL) or the database (SQLite) until the commit, so changes
to one story are serialised, their seq values are gapless, and commits happen in seq order. Frames
go to the hub only after the commit, so a reader never sees a change that was rolled back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import update

from .. import metrics
from ..errors import NotFound, VersionConflict
from ..extensions import db
from ..hub import Frame
from ..models import Entry, EntryRevision, Event, EventType, Story, User, utcnow
from ..rendering import entry_json, render_entry

log = logging.getLogger(__name__)


@dataclass
class Change:
    """The events one locked transaction appends to a story's log."""

    story_id: int
    frames: list[Frame] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)  # for the events-published counter

    def next_seq(self) -> int:
        """Take the story's next seq for an event of this change."""
        return allocate_seq(self.story_id)

    def emit(self, seq: int, event_type: EventType, payload: dict, entry_id: int | None = None):
        """Append an event and remember its frame for the hub."""
        text = json.dumps({"type": event_type.value, "seq": seq, **payload},
                          ensure_ascii=False, separators=(",", ":"))
        db.session.add(Event(story_id=self.story_id, seq=seq, type=event_type.value,
                             entry_id=entry_id, payload=text))
        self.frames.append(Frame(self.story_id, seq, text))
        self.event_types.append(event_type.value)

    def emit_entry(self, event_type: EventType, entry: Entry) -> None:
        """Give the entry a new seq and append the event that shows it to readers."""
        entry.seq = self.next_seq()
        db.session.flush()
        payload = {"entry": entry.to_dict(), "html": render_entry(entry)}
        self.emit(entry.seq, event_type, payload, entry.id)


def lock_story(story_id: int) -> None:
    """Lock the story row (PostgreSQL) or the database (SQLite) until the transaction ends.

    An UPDATE that changes nothing is the one statement that takes this lock on both databases,
    and it waits (busy timeout, row lock) instead of failing when another writer holds it.
    """
    statement = update(Story).where(Story.id == story_id).values(last_seq=Story.last_seq)
    if db.session.execute(statement).rowcount != 1:
        raise NotFound("No such story.")


def allocate_seq(story_id: int) -> int:
    """Take the story's next seq; call it only with the story locked."""
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
def story_change(story_id: int) -> Iterator[Change]:
    """Lock the story, yield a change to fill, commit, then hand its frames to the hub."""
    try:
        lock_story(story_id)
        # Anything read before the lock may be stale; read it again under the lock.
        db.session.expire_all()
        change = Change(story_id)
        yield change
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    metrics.events_published(change.event_types)
    publish_frames(change.frames)


def publish_frames(frames: Iterable[Frame]) -> None:
    """Hand committed frames to this process's hub."""
    hub = current_app.extensions["liveblog.hub"]
    committed_at = time.time()
    for frame in frames:
        frame.committed_at = committed_at
        try:
            hub.publish(frame)
        except Exception:  # the change is committed; readers catch up from the event log
            log.exception("hub publish failed for story %s seq %s", frame.story_id, frame.seq)


def load_entry(story_id: int, entry_id: int, statuses: Iterable[str]) -> Entry:
    """An entry of the story in one of the given statuses, or NotFound."""
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.story_id != story_id or entry.status not in set(statuses):
        raise NotFound("No such entry in this story.")
    return entry


def check_version(entry: Entry, expected_version: int | None) -> None:
    """Refuse a write based on a version other than the entry's current one."""
    if expected_version is not None and expected_version != entry.version:
        raise VersionConflict(
            f"The entry has changed since version {expected_version}; "
            f"it is now at version {entry.version}.",
            current=entry_json(entry),
        )


def record_revision(entry: Entry, editor: User | None) -> None:
    """Keep the entry's content at its current version: who, when and what."""
    db.session.add(EntryRevision(
        entry_id=entry.id, version=entry.version, editor_id=editor.id if editor else None,
        headline=entry.headline, label_override=entry.label_override,
        body_html=entry.body_html, correction_note=entry.correction_note,
    ))


def request_hash(*parts: object) -> str:
    """A stable hash of a request, to tell a true retry from a reused idempotency key."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
