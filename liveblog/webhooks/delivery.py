"""Delivering the event log to webhook endpoints: in order per story, signed, retried, off-request.

The queue is the event log itself: each endpoint keeps, per story, the seq of the last event it
was given (due.py), so nothing is lost across restarts and nothing is written per event on the
publishing path. A fenced lease on the endpoint row (lease.py) keeps two processes from
delivering to the same endpoint at once. Endpoints are served side by side, each by one worker of
a pool (eight by default), so a slow receiver delays only itself until as many are slow at once.
An endpoint with nothing to deliver costs one read per pass.
"""

from __future__ import annotations

import enum
import json
import logging
import time
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import insert, update

from liveblog.background import WorkerPool
from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import (
    Event,
    WebhookAttempt,
    WebhookCursor,
    WebhookEndpoint,
    as_utc,
    iso,
    utcnow,
)
from liveblog.outages import Outage
from liveblog.webhooks import transport
from liveblog.webhooks.due import StoryCursor, due_endpoints, due_stories, waiting_events
from liveblog.webhooks.lease import Lease, claim, fence, keep, release
from liveblog.webhooks.signing import HEADER, sign
from liveblog.webhooks.targets import check_target

log = logging.getLogger(__name__)

GIVE_UP_AFTER = timedelta(days=1)
PER_STORY = 50  # events read from one story's log at a time
SESSION = 500  # events one claim may deliver before the lease goes back to the pool


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    SKIPPED = "skipped"  # failed for a day: given up, the cursor moves on
    REWOUND = "rewound"  # the desk rewound the cursor meanwhile: read the story again
    FAILED = "failed"  # backing off; the endpoint waits
    LOST = "lost"  # another process holds the lease now: stop, write nothing


def backoff(failures: int, base: float = 2.0) -> timedelta:
    """How long to wait after the nth failure in a row: base, twice that, 4 × … at most an hour."""
    return timedelta(seconds=min(base * 2 ** (min(failures, 13) - 1), 3600))


def body_for(event: Event, story_slug: str) -> bytes:
    """The JSON a receiver gets: the event with its seq, story and the frame readers got."""
    return json.dumps({
        "id": event.id, "story": story_slug, "seq": event.seq, "type": event.type,
        "created_at": iso(event.created_at), "data": json.loads(event.payload),
    }, separators=(",", ":")).encode()


def _post(endpoint: WebhookEndpoint, event: Event, body: bytes) -> tuple[int | None, str | None]:
    try:
        target = check_target(endpoint.url, current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False))
    except Invalid as refusal:  # the host now resolves to an internal address
        return None, refusal.message
    return transport.post(target, body, {
        "Content-Type": "application/json",
        "User-Agent": "liveblog-webhooks/1",
        "X-Liveblog-Event": event.type,
        "X-Liveblog-Event-Id": str(event.id),
        HEADER: sign(endpoint.secret, body),
    })


def deliver_endpoint(lease: Lease) -> int:
    """Deliver what the leased endpoint has waiting, story by story in seq order; let it go."""
    delivered = 0
    try:
        budget, backlog = SESSION, True
        # Rounds go on only while a story has more than one batch waiting: news that trickles
        # in is left to the next pass, so the lease goes back to the pool (any process may
        # take it) instead of staying with one process for as long as the newsroom writes.
        while backlog and budget > 0:
            endpoint = db.session.get(WebhookEndpoint, lease.endpoint_id, populate_existing=True)
            if endpoint is None or not endpoint.active:
                break
            # Detached, rows stay as read: the commit after each attempt would expire them and
            # cost two more reads per event.
            db.session.expunge(endpoint)
            backlog = False
            for story in due_stories(endpoint):
                events = waiting_events(endpoint, story, min(PER_STORY, budget))
                backlog = backlog or len(events) == PER_STORY
                for event in events:
                    db.session.expunge(event)
                for event in events:
                    outcome = _attempt(endpoint, lease, story, event)
                    budget -= 1
                    if outcome in (Outcome.FAILED, Outcome.LOST):
                        return delivered
                    if outcome is Outcome.REWOUND:
                        break
                    delivered += outcome is Outcome.DELIVERED
    finally:
        db.session.rollback()
        release(lease)
    return delivered


def _attempt(endpoint: WebhookEndpoint, lease: Lease, story: StoryCursor,
             event: Event) -> Outcome:
    """POST one event, then record the attempt and its outcome if the lease is still ours."""
    endpoint_id, event_id, seq = endpoint.id, event.id, event.seq
    if not keep(lease):
        log.warning("webhook %s: lease lost before event %s; stopped", endpoint_id, event_id)
        return Outcome.LOST
    started = time.monotonic()
    status, error = _post(endpoint, event, body_for(event, story.slug))
    ok = status is not None and error is None
    attempt = {"endpoint_id": endpoint_id, "event_id": event_id, "status_code": status,
               "error": error, "delivered": ok,
               "duration_ms": int((time.monotonic() - started) * 1000)}
    outcome = _record(lease, ok, event_id)
    if outcome is Outcome.LOST:
        db.session.rollback()
        log.warning("webhook %s: lease lost while delivering event %s; stopped", endpoint_id,
                    event_id)
        return outcome
    if outcome in (Outcome.DELIVERED, Outcome.SKIPPED) and not _move_cursor(lease, story, seq):
        outcome = Outcome.REWOUND
    db.session.execute(insert(WebhookAttempt).values(attempted_at=utcnow(), **attempt))
    db.session.commit()
    return outcome


def _record(lease: Lease, ok: bool, event_id: int) -> Outcome:
    """Clear or count the endpoint's failures under the fence; the caller commits."""
    if ok:
        held = fence(lease, failures=0, first_failure_at=None, next_attempt_at=None)
        return Outcome.DELIVERED if held else Outcome.LOST
    now = utcnow()
    held = fence(lease, failures=WebhookEndpoint.failures + 1,
                 first_failure_at=db.func.coalesce(WebhookEndpoint.first_failure_at, now))
    if held is None:
        return Outcome.LOST
    failures, first_failure_at = held
    if now - as_utc(first_failure_at) > GIVE_UP_AFTER:
        log.warning("webhook %s gave up on event %s after a day", lease.endpoint_id, event_id)
        fence(lease, failures=0, first_failure_at=None, next_attempt_at=None)
        return Outcome.SKIPPED
    base = float(current_app.config.get("WEBHOOKS_RETRY_SECONDS", 2))
    fence(lease, next_attempt_at=now + backoff(failures, base))
    return Outcome.FAILED


def _move_cursor(lease: Lease, story: StoryCursor, seq: int) -> bool:
    """Move the story's cursor to seq unless the desk rewound it meanwhile; False if it did."""
    if not story.stored:
        # Only a lease holder creates a cursor row, and the fence's row lock keeps other holders
        # out until the commit, so no one else can insert it meanwhile.
        db.session.execute(insert(WebhookCursor).values(
            endpoint_id=lease.endpoint_id, story_id=story.story_id, last_seq=seq))
    else:
        moved = db.session.execute(
            update(WebhookCursor)
            .where(WebhookCursor.endpoint_id == lease.endpoint_id,
                   WebhookCursor.story_id == story.story_id,
                   WebhookCursor.last_seq == story.last_seq)
            .values(last_seq=seq).execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:
            return False
    story.last_seq, story.stored = seq, True
    return True


class Deliverer(WorkerPool):
    """A background loop that hands due endpoints to a small pool of delivery workers."""

    def __init__(self, app: Flask, interval: float = 1.0, workers: int = 8):
        super().__init__(app, "webhooks", due_endpoints, _claim_and_deliver, interval=interval,
                         workers=workers, outage=Outage("webhooks", "database", log))


def _claim_and_deliver(endpoint_id: int) -> int:
    lease = claim(endpoint_id)
    return deliver_endpoint(lease) if lease else 0
