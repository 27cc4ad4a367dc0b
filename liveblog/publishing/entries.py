"""Writing entries: create (published or not), edit, pin, correct and delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, exists, insert, select
from sqlalchemy.orm.attributes import set_committed_value

from liveblog.errors import Conflict, Invalid
from liveblog.extensions import db
from liveblog.models import (
    Entry,
    EntryStatus,
    EventType,
    IdempotencyKey,
    StoryStatus,
    User,
    as_utc,
    utcnow,
)
from liveblog.publishing.authors import set_authors
from liveblog.publishing.changes import (
    Change,
    check_version,
    load_entry,
    record_revision,
    request_hash,
    story_change,
)
from liveblog.publishing.polls import attach_poll, change_poll
from liveblog.publishing.validation import entry_fields, split_poll

UNPUBLISHED = (EntryStatus.DRAFT, EntryStatus.PENDING, EntryStatus.SCHEDULED)
EDITABLE = (*UNPUBLISHED, EntryStatus.PUBLISHED)
# Asked by every new entry, so built once: building them cost more than SQLite's answers.
# Whether another published entry of the story already carries ORIGINAL ENTRY (id 0: none).
STORY_HAS_ORIGINAL = select(
    exists().where(Entry.story_id == bindparam("story_id"), Entry.is_original.is_(True),
                   Entry.status == EntryStatus.PUBLISHED, Entry.id != bindparam("other_than"))
)
EARLIER_KEY = select(IdempotencyKey).where(IdempotencyKey.user_id == bindparam("user_id"),
                                           IdempotencyKey.key == bindparam("key"))
# Written as it is made, not kept for the unit of work: see changes.INSERT_EVENT.
INSERT_KEY = insert(IdempotencyKey.__table__)
# A new entry is INSERTed with RETURNING into the session, which costs half what adding it
# and flushing does (the unit of work sorts, checks and syncs what one statement settles).
INSERT_ENTRY = insert(Entry).returning(Entry)


def create_entry(
    story_id: int,
    author: User,
    data: dict,
    idempotency_key: str | None = None,
    *,
    status: EntryStatus = EntryStatus.PUBLISHED,
    scheduled_for: datetime | None = None,
    published_at: datetime | None = None,
    on_created: Callable[[Entry], None] | None = None,
) -> tuple[Entry, bool]:
    """Write an entry, published or held back; a retried idempotency key returns the first.

    `published_at` backdates an entry for imports and the demo; the API never sets it.
    `on_created` runs in the same transaction once the entry has its id (a reader's question
    is marked as published with it, or neither happens).
    """
    entry_data, poll = split_poll(data)
    fields = entry_fields(entry_data)
    author_ids = fields.pop("author_ids", None)
    if status not in EDITABLE:
        raise Invalid(f"An entry cannot be created as {status}.")
    fingerprint = request_hash(story_id, str(status), scheduled_for, data)
    with story_change(story_id) as change:
        # A retry gets its first entry whatever has happened since (the story ended, the
        # scheduled time passed): refusing it would make the client post the entry again.
        earlier = _earlier_entry(author, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier, False
        if status == EntryStatus.PUBLISHED and change.story.status == StoryStatus.ENDED:
            raise Conflict("The story has ended; reopen it to post again.")
        if status == EntryStatus.SCHEDULED:
            _check_schedule(scheduled_for)
        now = utcnow()
        values = dict(story_id=story_id, author_id=author.id, status=status, created_at=now,
                      updated_at=now, published_at=published_at or scheduled_for or now,
                      scheduled_for=scheduled_for, **fields)
        if fields.get("correction_note"):
            values["corrected_at"] = now
        if status == EntryStatus.PUBLISHED:
            # Settled before the INSERT, so a new entry is written once instead of being
            # inserted and then updated with its publish time, ORIGINAL ENTRY flag and seq.
            values["published_at"] = published_at or now
            values["is_original"] = not _story_has_original(story_id)
            values["seq"] = change.next_seq()
        entry = db.session.scalars(INSERT_ENTRY, values).one()
        # A new entry has no co-authors: say so, so that nothing asks the database for them.
        # Its story and author are in the session already, so reading them asks nothing either.
        set_committed_value(entry, "coauthors", [])
        if author_ids:
            set_authors(entry, author_ids)
        if poll is not None:
            attach_poll(entry, poll)
        db.session.flush()  # the authors and the poll, if any, before the rows that follow
        if idempotency_key is not None:
            db.session.execute(INSERT_KEY, {"user_id": author.id, "key": idempotency_key,
                                            "request_hash": fingerprint, "entry_id": entry.id})
        record_revision(entry, author)
        if on_created is not None:
            on_created(entry)
        if status == EntryStatus.PUBLISHED:
            change.emit_entry_event(EventType.ENTRY_CREATED, entry)
    return entry, True


def announce_new_entry(entry: Entry, change: Change, published_at: datetime | None = None) -> None:
    """Make an entry public: its publish time, ORIGINAL ENTRY if first, the event for readers."""
    entry.status = EntryStatus.PUBLISHED
    entry.published_at = published_at or utcnow()
    entry.is_original = not _story_has_original(entry.story_id, other_than=entry.id)
    change.emit_entry(EventType.ENTRY_CREATED, entry)


def _story_has_original(story_id: int, other_than: int | None = None) -> bool:
    # Ids start at 1, so 0 is the id of no entry.
    return db.session.scalar(STORY_HAS_ORIGINAL,
                             {"story_id": story_id, "other_than": other_than or 0})


def _earlier_entry(author: User, key: str | None, fingerprint: str) -> Entry | None:
    if key is None:
        return None
    earlier = db.session.scalar(EARLIER_KEY, {"user_id": author.id, "key": key})
    if earlier is None:
        return None
    if earlier.request_hash != fingerprint:
        # 409, not 422: the body is valid; it is the key, already taken, that conflicts.
        raise Conflict("This Idempotency-Key was used for a different request.")
    return db.session.get(Entry, earlier.entry_id)


def _check_schedule(scheduled_for: datetime | None) -> None:
    if scheduled_for is None:
        raise Invalid("Say when to publish.", {"scheduled_for": "is required"})
    if as_utc(scheduled_for) <= utcnow():
        raise Invalid("The publishing time has passed.", {"scheduled_for": "must be in the future"})


def update_entry(
    story_id: int,
    entry_id: int,
    data: dict,
    expected_version: int | None = None,
    editor: User | None = None,
) -> Entry:
    """Edit, pin or correct an entry; a stale expected version is refused with the current one."""
    entry_data, poll = split_poll(data, partial=True)
    fields = entry_fields(entry_data, partial=True)
    if not fields and poll is None:
        raise Invalid("Nothing to change: send body, headline, label, pinned, correction or poll.")
    with story_change(story_id) as change:
        entry = load_entry(story_id, entry_id, EDITABLE)
        check_version(entry, expected_version)
        if fields.get("correction_note") and entry.correction_note != fields["correction_note"]:
            entry.corrected_at = utcnow()
        if fields.get("pinned") and not entry.pinned:
            entry.key_order = _next_key_order(story_id)
        author_ids = fields.pop("author_ids", None)
        for name, value in fields.items():
            setattr(entry, name, value)
        if author_ids:  # changing who it is by is an edit like any other: entry.updated
            set_authors(entry, author_ids)
        if poll is not None:
            change_poll(entry, poll)
        entry.version += 1
        entry.updated_at = utcnow()
        record_revision(entry, editor)
        if entry.status == EntryStatus.PUBLISHED:
            change.emit_entry(EventType.ENTRY_UPDATED, entry)
    return entry


def _next_key_order(story_id: int) -> int:
    # A newly pinned entry goes to the top of the LATEST box.
    highest = db.session.scalar(
        select(Entry.key_order).where(Entry.story_id == story_id, Entry.pinned.is_(True))
        .order_by(Entry.key_order.desc()).limit(1)
    )
    return (highest or 0) + 1


def delete_entry(
    story_id: int, entry_id: int, expected_version: int | None = None
) -> None:
    """Remove an entry from readers' view; the row stays for the event log and revisions."""
    with story_change(story_id) as change:
        entry = load_entry(story_id, entry_id, EDITABLE)
        check_version(entry, expected_version)
        was_public = entry.status == EntryStatus.PUBLISHED
        entry.status = EntryStatus.DELETED
        entry.version += 1
        entry.updated_at = utcnow()
        if not was_public:
            return
        entry.seq = change.next_seq()
        change.emit(entry.seq, EventType.ENTRY_DELETED, {"entry": {"id": entry.id}}, entry.id)
        if entry.is_original:
            entry.is_original = False
            _promote_next_original(story_id, change)


def _promote_next_original(story_id: int, change: Change) -> None:
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
    successor.version += 1
    successor.updated_at = utcnow()
    change.emit_entry(EventType.ENTRY_UPDATED, successor)
