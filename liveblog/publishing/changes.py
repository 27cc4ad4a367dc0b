"""The machinery under every published change: a story lock, gapless seq, events, the hub.

Each change first locks the story row with an UPDATE (PostgreSQL: the row; SQLite: the database)
until the commit, so changes to one story are serialised; the events it appends take the story's
next sequence numbers with an UPDATE ... RETURNING under that lock, so seq values are gapless and
commits happen in seq order. Frames go to the hub only after the commit, so a reader never sees a
change that was rolled back.
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
from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value

from liveblog import metrics
from liveblog.content.rendering import entry_json
from liveblog.errors import NotFound, VersionConflict
from liveblog.extensions import db
from liveblog.live.hub import Frame
from liveblog.models import Entry, EntryRevision, Event, EventType, Story, User, utcnow

log = logging.getLogger(__name__)

# The two statements of every change, built once: building them cost more than running them.
# The lock changes nothing, so the session has nothing to bring in step with it (which cost
# as much as the statement); the story it returns replaces the one loaded, if any.
LOCK_STORY = (
    update(Story)
    .where(Story.id == bindparam("story_id"))
    .values(last_seq=Story.last_seq)
    .returning(Story)
    .execution_options(populate_existing=True, synchronize_session=False)
)
# On the table, not the mapped class: allocate_seq sets the two values on the locked story
# itself, which costs less than the session's search of every object it holds.
STORIES = Story.__table__
NEXT_SEQ = (
    update(STORIES)
    .where(STORIES.c.id == bindparam("story_id"))
    .values(last_seq=STORIES.c.last_seq + 1, updated_at=bindparam("now"))
    .returning(STORIES.c.last_seq)
)
# The rows every change appends and nothing reads back in it, written as they are made, not
# kept for the unit of work: that bookkeeping cost more than the INSERTs (the entry itself is
# written before them, INSERTed new or flushed when edited, so the rows that refer to it follow).
INSERT_EVENT = insert(Event.__table__)
INSERT_REVISION = insert(EntryRevision.__table__)


@dataclass
class Change:
    """The events one locked transaction appends to a story's log."""

    story_id: int
    story: Story  # as read under the lock
    frames: list[Frame] = field(default_factory=list)
    event_types: list[str] = field(default_factory=list)  # for the events-published counter

    def next_seq(self) -> int:
        """Take the story's next seq for an event of this change."""
        return allocate_seq(self.story)

    def emit(self, seq: int, event_type: EventType, payload: dict, entry_id: int | None = None):
        """Append an event and remember its frame for the hub."""
        text = json.dumps({"type": event_type.value, "seq": seq, **payload},
                          ensure_ascii=False, separators=(",", ":"))
        db.session.execute(INSERT_EVENT, {"story_id": self.story_id, "seq": seq,
                                          "type": event_type.value, "entry_id": entry_id,
                                          "payload": text})
        self.frames.append(Frame(self.story_id, seq, text))
        self.event_types.append(event_type.value)

    def emit_entry(self, event_type: EventType, entry: Entry) -> None:
        """Give the entry a new seq and append the event that shows it to readers."""
        entry.seq = self.next_seq()
        db.session.flush()
        self.emit_entry_event(event_type, entry)

    def emit_entry_event(self, event_type: EventType, entry: Entry) -> None:
        """Append the event that shows a flushed entry, which already holds its new seq."""
        data = entry_json(entry)  # the API's answer reuses this rendering
        payload = {"entry": data, "html": data.pop("html")}
        self.emit(entry.seq, event_type, payload, entry.id)


def lock_story(story_id: int) -> Story:
    """Lock the story row (PostgreSQL) or the database (SQLite) until the transaction ends.

    An UPDATE that changes nothing is the one statement that takes this lock on both databases,
    and it waits (busy timeout, row lock) instead of failing when another writer holds it. Its
    RETURNING hands back the row as it is under the lock, which saves reading it again.
    """
    story = db.session.scalars(LOCK_STORY, {"story_id": story_id}).one_or_none()
    if story is None:
        raise NotFound("No such story.")
    return story


def allocate_seq(story: Story) -> int:
    """Take the story's next seq; call it only with the story locked."""
    now = utcnow()
    seq = db.session.execute(NEXT_SEQ, {"story_id": story.id, "now": now}).scalar_one_or_none()
    if seq is None:
        raise NotFound("No such story.")
    # What the statement wrote, so the story's answer (to_dict) shows it, as the row does.
    set_committed_value(story, "last_seq", seq)
    set_committed_value(story, "updated_at", now)
    return seq


@contextmanager
def story_change(story_id: int, *, deliver_here: bool = False) -> Iterator[Change]:
    """Lock the story, yield a change to fill, commit, then hand its frames to the hub.

    `deliver_here`: deliver them in this thread, for a background loop (see Hub.publish_here);
    a request leaves delivery to the hub's thread and answers at once.
    """
    session = db.session()
    try:
        story = lock_story(story_id)
        _expire_unlocked(story)
        change = Change(story_id, story)
        yield change
        # Everything left in the session (users aside) was read under the lock or written by
        # this change, so it is what the commit stores: expiring it would only make the caller
        # (the API's answer) read the same rows back, on PostgreSQL with a second checkout and
        # pool ping. The next change in this session reads them again under its own lock.
        expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire_on_commit
    except BaseException:
        db.session.rollback()
        raise
    metrics.events_published(change.event_types)
    publish_frames(change.frames, deliver_here=deliver_here)


def _expire_unlocked(story: Story) -> None:
    # Anything read before the lock may be stale, so it is read again under the lock; the story
    # was just read by lock_story, and users are not covered by a story lock at all, so reading
    # the author again would cost a statement under the lock and guarantee nothing.
    session = db.session()
    for instance in list(session.identity_map.values()):
        if instance is not story and not isinstance(instance, User):
            session.expire(instance)


def publish_frames(frames: Iterable[Frame], *, deliver_here: bool = False) -> None:
    """Hand committed frames to this process's hub (to deliver in this thread, if asked)."""
    hub = current_app.extensions["liveblog.hub"]
    # With a GRIP edge (live/grip_publisher.py), the committing process publishes there too.
    edge = current_app.extensions.get("liveblog.grip_publisher")
    committed_at = time.time()
    for frame in frames:
        frame.committed_at = committed_at
        try:
            if deliver_here:
                hub.publish_here(frame)
            else:
                hub.publish(frame)
            if edge is not None:
                edge.publish(frame)
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
    db.session.execute(INSERT_REVISION, {
        "entry_id": entry.id, "version": entry.version,
        "editor_id": editor.id if editor else None, "headline": entry.headline,
        "label_override": entry.label_override, "body_html": entry.body_html,
        "correction_note": entry.correction_note,
    })


def request_hash(*parts: object) -> str:
    """A stable hash of a request, to tell a true retry from a reused idempotency key."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
