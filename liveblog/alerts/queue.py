"""Which events make an alert: an entry becoming key, read once per story from the event log.

A story's cursor (push_cursors.last_seq) says how far its log has been read. An entry is key
when its frame says "pinned": an entry.created that is pinned, or an entry.updated that is
pinned when the entry's event before it was not. Edits to an entry that stays key, and its
deletion, make no alert. Each alert keeps the notification's JSON, so every subscriber gets
the same bytes (encrypted for each browser) in seq order.
"""

from __future__ import annotations

import json

import lxml.html
from sqlalchemy import insert, select, update

from liveblog.extensions import db
from liveblog.models import Event, EventType, PushAlert, PushCursor, Story, StoryStatus

BATCH = 200  # events read at a time
BODY_CHARS = 140  # of the entry's text in the notification: a glance, not the entry
ENTRY_EVENTS = (EventType.ENTRY_CREATED.value, EventType.ENTRY_UPDATED.value)


def _frame(event: Event) -> dict:
    return json.loads(event.payload).get("entry") or {}


def _was_key(entry_id: int, before_seq: int, story_id: int) -> bool:
    # The entry's previous event in this story: pinned then means it was key already.
    previous = db.session.scalar(
        select(Event).where(Event.story_id == story_id, Event.entry_id == entry_id,
                            Event.seq < before_seq).order_by(Event.seq.desc()).limit(1))
    return (previous is not None and previous.type in ENTRY_EVENTS
            and bool(_frame(previous).get("pinned")))


def _text(html: str) -> str:
    if not html.strip():
        return ""
    text = " ".join(lxml.html.fragment_fromstring(html, create_parent="div").text_content().split())
    return text if len(text) <= BODY_CHARS else text[:BODY_CHARS - 1].rstrip() + "…"


def notification(story: Story, entry: dict) -> dict:
    """The notification for a key entry: its headline (or the story's title), text and link."""
    return {
        "title": entry.get("headline") or story.title,
        "body": _text(entry.get("body_html") or "") or story.title,
        "url": f"/stories/{story.slug}/entries/{entry['id']}",
    }


def becomes_key(event: Event) -> bool:
    """Whether this event is the one that makes its entry key."""
    if event.type not in ENTRY_EVENTS or event.entry_id is None:
        return False
    if not _frame(event).get("pinned"):
        return False
    return event.type == EventType.ENTRY_CREATED or not _was_key(
        event.entry_id, event.seq, event.story_id)


def queue_alerts(cursor: PushCursor, story: Story) -> int:
    """Turn the story's new events into alerts and move its cursor; the caller commits.

    Returns how many alerts were queued. Only a public story's log is read: a draft's events
    wait, as they do for webhooks.
    """
    if story.status == StoryStatus.DRAFT or story.last_seq <= cursor.last_seq:
        return 0
    events = db.session.scalars(
        select(Event).where(Event.story_id == story.id, Event.seq > cursor.last_seq)
        .order_by(Event.seq).limit(BATCH)).all()
    if not events:
        return 0
    alerts = [{"story_id": story.id, "seq": event.seq,
               "payload": json.dumps(notification(story, _frame(event)), ensure_ascii=False,
                                     separators=(",", ":"))}
              for event in events if becomes_key(event)]
    if alerts:
        db.session.execute(insert(PushAlert), alerts)
    db.session.execute(update(PushCursor).where(PushCursor.story_id == story.id)
                       .values(last_seq=events[-1].seq)
                       .execution_options(synchronize_session=False))
    cursor.last_seq = events[-1].seq
    return len(alerts)
