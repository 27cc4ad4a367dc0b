"""What an open desk shows that readers never see: held entries and who is editing an entry.

Only ids, versions, statuses and names: the content itself is read from the desk's pages.
"""

from __future__ import annotations

import hashlib
import json
import threading

from sqlalchemy import select

from liveblog.extensions import db
from liveblog.models import EditingPresence, Entry, EntryRevision, EntryStatus, Story, User, utcnow

HELD = (EntryStatus.PENDING, EntryStatus.DRAFT, EntryStatus.SCHEDULED)

_changed = threading.Condition()


def desk_changed() -> None:
    """Wake this process's waiting desks: what they show may have changed."""
    with _changed:
        _changed.notify_all()


def desk_state(story_id: int, user_id: int, entry_id: int | None = None) -> dict:
    """The held entries (ids and versions, no content), the story's status, and for an entry
    being edited its version, who saved it last and who else has it open; with its token."""
    held = db.session.execute(
        select(Entry.id, Entry.version, Entry.status)
        .where(Entry.story_id == story_id, Entry.status.in_(HELD)).order_by(Entry.id)
    ).all()
    state: dict = {
        "status": db.session.scalar(select(Story.status).where(Story.id == story_id)),
        "held": [[row.id, row.version, row.status] for row in held],
    }
    if entry_id is not None:
        state["entry"] = _entry_state(story_id, user_id, entry_id)
    token = json.dumps(state, sort_keys=True, separators=(",", ":"))
    state["token"] = hashlib.sha256(token.encode()).hexdigest()[:20]
    return state


def _entry_state(story_id: int, user_id: int, entry_id: int) -> dict | None:
    entry = db.session.execute(
        select(Entry.version, Entry.status).where(Entry.id == entry_id,
                                                  Entry.story_id == story_id)
    ).first()
    if entry is None or entry.status in (EntryStatus.DELETED, EntryStatus.REJECTED):
        return None
    saved_by = db.session.execute(
        select(User.id, User.display_name).join(EntryRevision, EntryRevision.editor_id == User.id)
        .where(EntryRevision.entry_id == entry_id, EntryRevision.version == entry.version)
    ).first()
    editing = db.session.scalars(
        select(User.display_name).join(EditingPresence, EditingPresence.user_id == User.id)
        .where(EditingPresence.entry_id == entry_id, EditingPresence.user_id != user_id,
               EditingPresence.expires_at >= utcnow())
    ).all()
    return {
        "version": entry.version,
        "saved_by": saved_by.display_name if saved_by else None,
        "saved_by_me": bool(saved_by and saved_by.id == user_id),
        "editing": sorted(set(editing)),
    }


def wait_for_change(seconds: float) -> None:
    """Sleep until a desk change in this process, or for the given seconds."""
    with _changed:
        _changed.wait(seconds)
