"""Delivering the event log to webhook endpoints: in order, signed, retried, never in a request.

The queue is the event log itself: each endpoint keeps the id of the last event it was given, so
nothing is lost across restarts and nothing is written per event on the publishing path. A
lease on the endpoint row keeps two processes from delivering to the same endpoint at once, and
each endpoint is served by its own worker, so a slow receiver delays only itself.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import or_, select, update

from ..errors import Invalid
from ..extensions import db
from ..models import Event, Story, WebhookAttempt, WebhookEndpoint, as_utc, iso, utcnow
from .signing import HEADER, sign
from .targets import check_target

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5
GIVE_UP_AFTER = timedelta(days=1)
LEASE = timedelta(seconds=60)
BATCH = 50  # events one worker delivers before letting the lease go


def backoff(failures: int) -> timedelta:
    """How long to wait after the nth failure in a row: 2, 4, 8 … seconds, at most an hour."""
    return timedelta(seconds=min(2 ** min(failures, 12), 3600))


def body_for(event: Event, story_slug: str) -> bytes:
    """The JSON a receiver gets: the event with its seq, story and the frame readers got."""
    return json.dumps({
        "id": event.id, "story": story_slug, "seq": event.seq, "type": event.type,
        "created_at": iso(event.created_at), "data": json.loads(event.payload),
    }, separators=(",", ":")).encode()


def _next_event(endpoint: WebhookEndpoint) -> Event | None:
    query = select(Event).where(Event.id > endpoint.cursor_event_id).order_by(Event.id).limit(1)
    if endpoint.story_id is not None:
        query = query.where(Event.story_id == endpoint.story_id)
    types = [t for t in endpoint.event_types.split(",") if t]
    if types:
        query = query.where(Event.type.in_(types))
    return db.session.scalar(query)


def _post(endpoint: WebhookEndpoint, event: Event, body: bytes) -> tuple[int | None, str | None]:
    check_target(endpoint.url, current_app.config.get("WEBHOOKS_ALLOW_PRIVATE", False))
    request = urllib.request.Request(endpoint.url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "liveblog-webhooks/1",
        "X-Liveblog-Event": event.type,
        "X-Liveblog-Event-Id": str(event.id),
        HEADER: sign(endpoint.secret, body),
    })
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(65536)
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return None, str(error)[:500] or type(error).__name__


def deliver_endpoint(endpoint_id: int) -> int:
    """Deliver this endpoint's pending events in order until one fails; return how many went."""
    delivered = 0
    try:
        for _ in range(BATCH):
            endpoint = db.session.get(WebhookEndpoint, endpoint_id)
            event = _next_event(endpoint) if endpoint and endpoint.active else None
            if event is None:
                break
            story = db.session.get(Story, event.story_id)
            started = time.monotonic()
            try:
                status, error = _post(endpoint, event, body_for(event, story.slug))
            except Invalid as refusal:  # the host now resolves to an internal address
                status, error = None, refusal.message
            ok = status is not None and 200 <= status < 300
            db.session.add(WebhookAttempt(
                endpoint_id=endpoint.id, event_id=event.id, status_code=status, error=error,
                duration_ms=int((time.monotonic() - started) * 1000), delivered=ok,
            ))
            if not _record_outcome(endpoint, event, ok):
                db.session.commit()
                break
            db.session.commit()
            delivered += ok
    finally:
        db.session.rollback()
        db.session.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                           .values(lease_until=None))
        db.session.commit()
    return delivered


def _record_outcome(endpoint: WebhookEndpoint, event: Event, ok: bool) -> bool:
    """Move the cursor or schedule a retry; return whether to go on to the next event."""
    now = utcnow()
    if ok:
        endpoint.cursor_event_id, endpoint.failures = event.id, 0
        endpoint.first_failure_at = endpoint.next_attempt_at = None
        return True
    endpoint.failures += 1
    endpoint.first_failure_at = endpoint.first_failure_at or now
    if now - as_utc(endpoint.first_failure_at) > GIVE_UP_AFTER:
        log.warning("webhook %s gave up on event %s after a day", endpoint.id, event.id)
        endpoint.cursor_event_id, endpoint.failures = event.id, 0
        endpoint.first_failure_at = endpoint.next_attempt_at = None
        return True
    endpoint.next_attempt_at = now + backoff(endpoint.failures)
    return False


def claim_due_endpoints() -> list[int]:
    """Lease every endpoint that has events waiting and is not backing off."""
    now = utcnow()
    newest = db.session.scalar(select(Event.id).order_by(Event.id.desc()).limit(1)) or 0
    candidates = db.session.scalars(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.active.is_(True), WebhookEndpoint.cursor_event_id < newest,
            or_(WebhookEndpoint.next_attempt_at.is_(None), WebhookEndpoint.next_attempt_at <= now),
            or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now),
        )
    ).all()
    claimed = []
    for endpoint_id in candidates:
        taken = db.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id,
                   or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now))
            .values(lease_until=now + LEASE)
        ).rowcount
        db.session.commit()
        if taken:
            claimed.append(endpoint_id)
    return claimed


class Deliverer:
    """A background thread that hands due endpoints to a small pool of delivery workers."""

    def __init__(self, app: Flask, interval: float = 1.0, workers: int = 8):
        self.app = app
        self.interval = interval
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveblog-webhooks", daemon=True)

    def start(self) -> Deliverer:
        """Start delivering."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the deliveries under way."""
        self._stop.set()
        self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_once(self, wait: bool = False) -> list:
        """Start a delivery for every due endpoint; with wait, return once they are done."""
        with self.app.app_context():
            try:
                claimed = claim_due_endpoints()
            finally:
                db.session.remove()
        futures = [self._pool.submit(self._deliver, endpoint_id) for endpoint_id in claimed]
        return [future.result() for future in futures] if wait else futures

    def _deliver(self, endpoint_id: int) -> int:
        with self.app.app_context():
            try:
                return deliver_endpoint(endpoint_id)
            finally:
                db.session.remove()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception:  # a failed pass must not end the thread; the next one retries
                log.exception("webhook delivery pass failed")
