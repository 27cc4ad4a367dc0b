"""Entries on their way to readers: approval, rejection, schedules, and the LATEST order."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, EventType, Story, StoryStatus, User, utcnow
from liveblog.publishing.changes import check_version, load_entry, story_change
from liveblog.publishing.entries import UNPUBLISHED, announce_new_entry


def publish_entry(
    story_id: int, entry_id: int, reviewer: User, expected_version: int | None = None
) -> Entry:
    """Publish a draft, an approved contributor's entry or a scheduled entry now."""
    with story_change(story_id) as change:
        entry = load_entry(story_id, entry_id, UNPUBLISHED)
        check_version(entry, expected_version)
        if db.session.get(Story, story_id).status == StoryStatus.ENDED:
            raise Invalid("The story has ended; reopen it to publish.")
        entry.reviewed_by_id = reviewer.id
        entry.scheduled_for = None
        entry.version += 1
        entry.updated_at = utcnow()
        announce_new_entry(entry, change)
    return entry


def reject_entry(story_id: int, entry_id: int, reviewer: User) -> Entry:
    """Send a contributor's entry back; readers never see it."""
    with story_change(story_id):
        entry = load_entry(story_id, entry_id, (EntryStatus.PENDING,))
        entry.status = EntryStatus.REJECTED
        entry.reviewed_by_id = reviewer.id
        entry.version += 1
        entry.updated_at = utcnow()
    return entry


# Built once, as every statement a background pass runs each second in every process: building
# a statement costs more than SQLite takes to answer it. Entries of an ended story stay
# scheduled, held, and the desk says so: they go out when the story is reopened. Left in this
# query they would make every process lock the story and commit every second, forever.
# ix_entries_status_scheduled serves it.
STORIES_WITH_DUE_ENTRIES = (
    select(Entry.story_id).distinct()
    .join(Story, Story.id == Entry.story_id)
    .where(Entry.status == EntryStatus.SCHEDULED, Entry.scheduled_for <= bindparam("now"),
           Story.status != StoryStatus.ENDED)
)


def publish_due_entries() -> int:
    """Publish every scheduled entry whose time has come; safe to run in many processes at once.

    Each story is locked before its due entries are read again, so a second process that got
    there first leaves nothing for this one: every entry is published exactly once.
    """
    now = utcnow()
    due_stories = db.session.scalars(STORIES_WITH_DUE_ENTRIES, {"now": now}).all()
    published = 0
    for story_id in due_stories:
        with story_change(story_id) as change:
            if db.session.get(Story, story_id).status == StoryStatus.ENDED:
                continue  # it ended since the query above: held, as above
            due = db.session.scalars(
                select(Entry)
                .where(Entry.story_id == story_id, Entry.status == EntryStatus.SCHEDULED,
                       Entry.scheduled_for <= now)
                .order_by(Entry.scheduled_for, Entry.id)
            ).all()
            for entry in due:
                entry.version += 1
                entry.updated_at = utcnow()
                entry.scheduled_for = None
                announce_new_entry(entry, change)
                published += 1
    return published


def reorder_key_entries(story_id: int, entry_ids: list[int]) -> None:
    """Set the LATEST box's order, first id on top; readers get each moved entry again."""
    with story_change(story_id) as change:
        pinned = {
            entry.id: entry
            for entry in db.session.scalars(
                select(Entry).where(Entry.story_id == story_id, Entry.pinned.is_(True),
                                    Entry.status == EntryStatus.PUBLISHED)
            )
        }
        if sorted(entry_ids) != sorted(pinned):
            raise Invalid("Send every key entry of the story exactly once.")
        for position, entry_id in enumerate(entry_ids):
            entry = pinned[entry_id]
            order = len(entry_ids) - position
            if entry.key_order != order:
                entry.key_order = order
                entry.version += 1
                entry.updated_at = utcnow()
                change.emit_entry(EventType.ENTRY_UPDATED, entry)
