"""Entries seen by readers: the page's beacon names the entries that were on screen.

A batch is one statement: an upsert that adds 1 to each named entry of the story that is
published, so a batch counts each entry once, ids of other stories count nothing, and the
server writes once per batch however many ids it holds. Nothing about the reader is kept.
"""

from __future__ import annotations

from sqlalchemy import literal, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from liveblog.extensions import db
from liveblog.models import Entry, EntryReach, EntryStatus

MAX_BATCH = 50  # entry ids in one beacon: a page holds about this many entries


def count_seen(story_id: int, entry_ids: list[int]) -> int:
    """Add one reader to "seen" of each listed entry published in the story; commit; how many."""
    ids = sorted(set(entry_ids))
    if not ids:
        return 0
    shown = (
        select(Entry.id, literal(1))
        .where(Entry.story_id == story_id, Entry.id.in_(ids),
               Entry.status == EntryStatus.PUBLISHED.value)
        # Rows locked in one order by every batch: two overlapping batches wait, never deadlock.
        .order_by(Entry.id)
    )
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" \
        else sqlite_insert
    statement = insert(EntryReach).from_select(["entry_id", "seen"], shown)
    statement = statement.on_conflict_do_update(
        index_elements=["entry_id"], set_={"seen": EntryReach.seen + 1})
    counted = len(db.session.execute(statement.returning(EntryReach.entry_id)).all())
    db.session.commit()
    return counted
