"""Read queries shared by the API, the reader pages and the live stream."""

from __future__ import annotations

from sqlalchemy import select, true

from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Event


def published_entries(story_id: int, limit: int, before: int | None = None) -> list[Entry]:
    """A story's published entries newest first, optionally only those older than entry `before`."""
    query = (
        select(Entry)
        .where(Entry.story_id == story_id, Entry.status == EntryStatus.PUBLISHED)
        .order_by(Entry.published_at.desc(), Entry.id.desc())
        .limit(limit)
    )
    if before is not None:
        cursor = db.session.get(Entry, before)
        if cursor is not None:
            # The plain bound lets an index range start at the cursor; with the OR alone the
            # database walks down from the newest entry, thousands deep in a long story.
            query = query.where(
                Entry.published_at <= cursor.published_at,
                (Entry.published_at < cursor.published_at)
                | ((Entry.published_at == cursor.published_at) & (Entry.id < cursor.id)),
            )
    return list(db.session.scalars(query))


def published_entries_through(story_id: int, entry_id: int, limit: int) -> list[Entry]:
    """Published entries newest first down to and including entry_id (at most limit)."""
    cursor = db.session.get(Entry, entry_id)
    if cursor is None or cursor.story_id != story_id:
        return published_entries(story_id, limit)
    query = (
        select(Entry)
        .where(Entry.story_id == story_id, Entry.status == EntryStatus.PUBLISHED,
               Entry.published_at >= cursor.published_at,  # an index bound, as above
               (Entry.published_at > cursor.published_at)
               | ((Entry.published_at == cursor.published_at) & (Entry.id >= cursor.id)))
        .order_by(Entry.published_at.desc(), Entry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def pinned_entries(story_id: int) -> list[Entry]:
    """A story's key entries, newest first, for its LATEST box."""
    # Answered from ix_entries_story_key; without it every page view read all of a long story's
    # entries to find its few key ones.
    query = (
        select(Entry)
        .where(Entry.story_id == story_id, Entry.pinned == true(),
               Entry.status == EntryStatus.PUBLISHED)
        .order_by(Entry.key_order.desc(), Entry.published_at.desc(), Entry.id.desc())
    )
    return list(db.session.scalars(query))


def events_after(story_id: int, after: int, limit: int, before: int | None = None) -> list:
    """Rows (seq, payload) of a story's events with after < seq (< before), in seq order."""
    query = (
        select(Event.seq, Event.payload)
        .where(Event.story_id == story_id, Event.seq > after)
        .order_by(Event.seq)
        .limit(limit)
    )
    if before is not None:
        query = query.where(Event.seq < before)
    return list(db.session.execute(query))


def desk_entries(story_id: int, published_limit: int = 100) -> dict[str, list[Entry]]:
    """What the story desk lists: published entries newest first, then the held-back ones."""
    held = db.session.scalars(
        select(Entry)
        .where(Entry.story_id == story_id,
               Entry.status.in_([EntryStatus.PENDING, EntryStatus.DRAFT, EntryStatus.SCHEDULED]))
        .order_by(Entry.created_at.desc(), Entry.id.desc())
    ).all()
    groups: dict[str, list[Entry]] = {"pending": [], "scheduled": [], "draft": []}
    for entry in held:
        groups[entry.status].append(entry)
    groups["scheduled"].sort(key=lambda entry: entry.scheduled_for)
    groups["published"] = published_entries(story_id, published_limit)
    return groups
