"""What an endpoint has to deliver: read-only queries over stories, cursors and the event log.

An endpoint keeps one cursor per story: the seq of the last event it was given there. A story's
seq is gapless and its transactions commit in seq order (the story row lock), so every event
behind a cursor has been seen and none can commit there later. Only stories readers can see
count: a draft's events wait in the log until it is live (or ended) again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, func, or_, select

from liveblog.extensions import db
from liveblog.models import Event, Story, StoryStatus, WebhookCursor, WebhookEndpoint, utcnow


@dataclass
class StoryCursor:
    """Where an endpoint stands in one story: its last seq, and whether the row exists yet."""

    story_id: int
    slug: str
    last_seq: int
    stored: bool


def _types(endpoint: WebhookEndpoint) -> list[str]:
    return [t for t in endpoint.event_types.split(",") if t]


def _matching(endpoint: WebhookEndpoint, cursor_seq):
    # The events this endpoint wants after a cursor in the story being looked at.
    conditions = [Event.story_id == Story.id, Event.seq > cursor_seq]
    if types := _types(endpoint):
        conditions.append(Event.type.in_(types))
    return and_(*conditions)


def due_stories(endpoint: WebhookEndpoint, limit: int | None = None) -> list[StoryCursor]:
    """The public stories in which this endpoint has a matching event waiting, oldest first."""
    cursor_seq = func.coalesce(WebhookCursor.last_seq, 0)
    query = (
        select(Story.id, Story.slug, cursor_seq, WebhookCursor.story_id.is_not(None))
        .outerjoin(WebhookCursor, and_(WebhookCursor.endpoint_id == endpoint.id,
                                       WebhookCursor.story_id == Story.id))
        .where(Story.status != StoryStatus.DRAFT.value, Story.last_seq > cursor_seq,
               exists().where(_matching(endpoint, cursor_seq)))
        .order_by(Story.updated_at, Story.id)
        .limit(limit)
    )
    if endpoint.story_id is not None:
        query = query.where(Story.id == endpoint.story_id)
    return [StoryCursor(*row) for row in db.session.execute(query)]


def waiting_events(endpoint: WebhookEndpoint, story: StoryCursor, limit: int) -> list[Event]:
    """The next matching events of one story after the cursor, while the story is public.

    One statement reads the story's status and its events, so it sees them as of one moment: an
    event committed after the story went back to draft cannot come with a "live" status.
    """
    query = (
        select(Event).join(Story, Story.id == Event.story_id)
        .where(Story.id == story.story_id, Story.status != StoryStatus.DRAFT.value,
               _matching(endpoint, story.last_seq))
        .order_by(Event.seq).limit(limit)
    )
    return list(db.session.scalars(query))


# Built once: every process asks it every second (webhooks/delivery.py), and building it
# costs more than SQLite takes to answer.
ENDPOINTS_FREE_TO_CLAIM = select(WebhookEndpoint).where(
    WebhookEndpoint.active.is_(True),
    or_(WebhookEndpoint.next_attempt_at.is_(None),
        WebhookEndpoint.next_attempt_at <= bindparam("now")),
    or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < bindparam("now")),
).order_by(WebhookEndpoint.id)


def due_endpoints() -> list[int]:
    """Endpoints free to claim that have something to deliver; reads only, writes nothing."""
    candidates = db.session.scalars(ENDPOINTS_FREE_TO_CLAIM, {"now": utcnow()}).all()
    return [endpoint.id for endpoint in candidates if due_stories(endpoint, limit=1)]
