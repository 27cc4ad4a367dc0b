"""Registering webhook endpoints and rewinding them to send events again."""

from __future__ import annotations

import secrets

from flask import current_app
from sqlalchemy import select

from ..errors import Invalid
from ..extensions import db
from ..models import Event, EventType, WebhookEndpoint
from .targets import check_target

KNOWN_TYPES = {t.value for t in EventType}


def register_endpoint(url: str, story_id: int | None, event_types: list[str],
                      secret: str | None = None) -> WebhookEndpoint:
    """Add an endpoint; it receives events from now on (not the story's past)."""
    url = (url or "").strip()
    check_target(url, current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False))
    if secret is not None and len(secret) < 16:
        raise Invalid("A signing secret needs at least 16 characters.", {"secret": "too short"})
    unknown = set(event_types) - KNOWN_TYPES
    if unknown:
        raise Invalid(f"Unknown event types: {', '.join(sorted(unknown))}.",
                      {"event_types": "unknown"})
    newest = db.session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
    endpoint = WebhookEndpoint(
        url=url, story_id=story_id, event_types=",".join(sorted(event_types)),
        secret=secret or secrets.token_urlsafe(32), cursor_event_id=newest,
    )
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def resend_from(endpoint: WebhookEndpoint, event_id: int) -> None:
    """Send an event again, and every later one, in order (receivers dedupe by event id)."""
    endpoint.cursor_event_id = min(endpoint.cursor_event_id, event_id - 1)
    endpoint.failures, endpoint.next_attempt_at, endpoint.first_failure_at = 0, None, None
    db.session.commit()
