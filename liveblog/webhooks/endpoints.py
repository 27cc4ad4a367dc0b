"""Registering webhook endpoints and rewinding them to send events again."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import insert, literal, select, update

from liveblog.errors import Invalid, NotFound
from liveblog.extensions import db
from liveblog.models import Event, EventType, Story, WebhookCursor, WebhookEndpoint
from liveblog.webhooks.targets import check_target

KNOWN_TYPES = {t.value for t in EventType}


def register_endpoint(url: str, story_id: int | None, event_types: list[str],
                      secret: str | None = None) -> WebhookEndpoint:
    """Add an endpoint; it receives events from now on (not the stories' past)."""
    url = (url or "").strip()
    check_target(url, current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False))
    if secret is not None and len(secret) < 16:
        raise Invalid("A signing secret needs at least 16 characters.", {"secret": "too short"})
    unknown = set(event_types) - KNOWN_TYPES
    if unknown:
        raise Invalid(f"Unknown event types: {', '.join(sorted(unknown))}.",
                      {"event_types": "unknown"})
    endpoint = WebhookEndpoint(
        url=url, story_id=story_id, event_types=",".join(sorted(event_types)),
        secret=secret or secrets.token_urlsafe(32),
    )
    db.session.add(endpoint)
    db.session.flush()
    # A cursor at each story's present seq: its past is not sent. A story created later has
    # no cursor yet, which means "from its first event".
    stories = select(literal(endpoint.id), Story.id, Story.last_seq)
    if story_id is not None:
        stories = stories.where(Story.id == story_id)
    db.session.execute(insert(WebhookCursor).from_select(
        ["endpoint_id", "story_id", "last_seq"], stories))
    db.session.commit()
    return endpoint


def resend_from(endpoint: WebhookEndpoint, event_id: int) -> None:
    """Send an event again, and every later one of its story, in order (receivers dedupe by id)."""
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound("No such event.")
    # No cursor row: nothing of that story was delivered yet, so everything is still to come.
    db.session.execute(
        update(WebhookCursor)
        .where(WebhookCursor.endpoint_id == endpoint.id, WebhookCursor.story_id == event.story_id,
               WebhookCursor.last_seq >= event.seq)
        .values(last_seq=event.seq - 1).execution_options(synchronize_session=False)
    )
    endpoint.failures, endpoint.next_attempt_at, endpoint.first_failure_at = 0, None, None
    db.session.commit()
