"""Sending alerts: per story under a lease, to each subscription in seq order, off-request.

A pass claims each story with something to do, turns its new key entries into alerts
(queue.py), then sends each subscription the alerts after its own cursor, oldest first, eight
subscriptions at a time (PUSH_SENDERS). A
subscription that fails (no answer, 429, 5xx) waits with a growing backoff and keeps its place,
so its order holds; the others go on. 404 and 410 mean the browser has unsubscribed: the row is
deleted. Another 4xx (400, 413…) means this message will never be taken: logged and dropped.
An alert older than its TTL is stale news and is skipped.
"""

from __future__ import annotations

import enum
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import and_, bindparam, delete, exists, or_, select, update

from liveblog.alerts.keys import vapid
from liveblog.alerts.lease import Lease, claim, fence, release
from liveblog.alerts.queue import queue_alerts
from liveblog.alerts.sender import send
from liveblog.background import WorkerPool
from liveblog.extensions import db
from liveblog.models import (
    PushAlert,
    PushCursor,
    PushSubscription,
    Story,
    StoryStatus,
    as_utc,
    utcnow,
)
from liveblog.outages import Outage

log = logging.getLogger(__name__)

PER_SUBSCRIPTION = 20  # alerts read for one subscription at a time
ROUNDS = 10  # batches of the log read per claim before the lease goes back


class Outcome(enum.Enum):
    SENT = "sent"
    DROPPED = "dropped"  # refused for good (4xx) or stale: the cursor moves on
    GONE = "gone"  # 404/410: the subscription is deleted
    FAILED = "failed"  # backing off; the subscription waits
    LOST = "lost"  # another process holds the lease now: stop, write nothing


def backoff(failures: int, base: float = 2.0) -> timedelta:
    """How long to wait after the nth failure in a row: base, twice that… at most an hour."""
    return timedelta(seconds=min(base * 2 ** (min(failures, 13) - 1), 3600))


def _due_subscription(now):
    return and_(
        or_(PushSubscription.next_attempt_at.is_(None), PushSubscription.next_attempt_at <= now),
        exists().where(PushAlert.story_id == PushSubscription.story_id,
                       PushAlert.seq > PushSubscription.last_seq))


def _stories_free_to_claim():
    now = bindparam("now")
    waiting = exists().where(PushSubscription.story_id == PushCursor.story_id,
                             _due_subscription(now))
    # An archived story keeps no reader's subscription: the pass that finds one forgets them.
    kept = exists().where(PushSubscription.story_id == PushCursor.story_id)
    return (
        select(PushCursor.story_id).join(Story, Story.id == PushCursor.story_id)
        .where(Story.status != StoryStatus.DRAFT.value,
               or_(PushCursor.lease_until.is_(None), PushCursor.lease_until < now),
               or_(Story.last_seq > PushCursor.last_seq, waiting, and_(Story.archived, kept)))
        .order_by(PushCursor.story_id)
    )


# Built once: every process asks it every second, and building it costs more than SQLite
# takes to answer.
STORIES_FREE_TO_CLAIM = _stories_free_to_claim()


def due_stories() -> list[int]:
    """Stories free to claim with log to read or alerts to send; reads only."""
    return list(db.session.scalars(STORIES_FREE_TO_CLAIM, {"now": utcnow()}))


def deliver_story(lease: Lease) -> int:
    """Queue the story's new alerts and send every subscription its waiting ones; let go."""
    sent = 0
    try:
        cursor = db.session.get(PushCursor, lease.story_id)
        story = db.session.get(Story, lease.story_id)
        if story.archived:
            _forget_story(lease)
            return sent
        for _ in range(ROUNDS):
            before = cursor.last_seq
            queue_alerts(cursor, story)
            if cursor.last_seq == before:
                break
            if not fence(lease):
                db.session.rollback()
                return sent
            db.session.commit()
        waiting = list(db.session.scalars(
            select(PushSubscription.id).where(PushSubscription.story_id == lease.story_id,
                                              _due_subscription(utcnow()))
            .order_by(PushSubscription.id)))
        db.session.rollback()  # ends the read before the senders write (SQLite's one writer)
        sent = _send_all(current_app._get_current_object(), lease, waiting)
        _forget_stale(lease.story_id)
    finally:
        db.session.rollback()
        release(lease)
    return sent


def _send_all(app: Flask, lease: Lease, subscription_ids: list[int]) -> int:
    """Send each subscription its alerts, several subscriptions at once, each in seq order.

    A push service takes tens of milliseconds an answer, so one story's thousands of readers
    are served side by side; each subscription stays with one sender, which keeps its order.
    """
    if not subscription_ids:
        return 0
    senders = min(int(app.config.get("PUSH_SENDERS", 8)), len(subscription_ids))
    with ThreadPoolExecutor(max_workers=senders, thread_name_prefix="push-send") as pool:
        results = list(pool.map(lambda sub_id: _send_one(app, lease, sub_id), subscription_ids))
    if any(outcome is Outcome.LOST for outcome, _ in results):
        log.warning("push alerts of story %s: lease lost; stopped", lease.story_id)
    return sum(count for _, count in results)


def _send_one(app: Flask, lease: Lease, subscription_id: int) -> tuple[Outcome, int]:
    # In a sender thread: its own app context, so its own database session.
    with app.app_context():
        try:
            subscription = db.session.get(PushSubscription, subscription_id)
            if subscription is None:  # unsubscribed meanwhile
                return Outcome.GONE, 0
            return _deliver_subscription(lease, subscription)
        finally:
            db.session.remove()


def _ttl() -> int:
    return int(current_app.config.get("PUSH_TTL_SECONDS", 3600))


def _deliver_subscription(lease: Lease, subscription: PushSubscription) -> tuple[Outcome, int]:
    """Send one subscription its waiting alerts in seq order, until one fails."""
    sent = 0
    alerts = db.session.scalars(
        select(PushAlert).where(PushAlert.story_id == lease.story_id,
                                PushAlert.seq > subscription.last_seq)
        .order_by(PushAlert.seq).limit(PER_SUBSCRIPTION)).all()
    # Detached, rows stay as read: the commit after each attempt would expire them.
    for row in (subscription, *alerts):
        db.session.expunge(row)
    config = current_app.config
    key = vapid(current_app.instance_path)
    subject = config.get("PUSH_VAPID_SUBJECT", "mailto:newsroom@example.org")
    for alert in alerts:
        sub_id, seq, endpoint = subscription.id, alert.seq, subscription.endpoint
        if utcnow() - as_utc(alert.created_at) > timedelta(seconds=_ttl()):
            status = None
            outcome = Outcome.DROPPED  # stale: the reader would get old news
        else:
            status, error = send(endpoint, subscription.p256dh, subscription.auth,
                                 alert.payload.encode(), key, subject, _ttl())
            outcome = _judge(status)
            if outcome is Outcome.DROPPED:
                log.warning("push alert %s refused by the push service (%s %s); dropped",
                            seq, status, error)
        if not fence(lease):
            db.session.rollback()
            return Outcome.LOST, sent
        _record(subscription, outcome, seq, sub_id)
        db.session.commit()
        sent += outcome is Outcome.SENT
        if outcome in (Outcome.GONE, Outcome.FAILED):
            return outcome, sent
    return Outcome.SENT, sent


def _judge(status: int | None) -> Outcome:
    if status is not None and 200 <= status < 300:
        return Outcome.SENT
    if status in (404, 410):
        return Outcome.GONE
    if status is None or status == 429 or status >= 500 or 300 <= status < 400:
        return Outcome.FAILED
    return Outcome.DROPPED


def _record(subscription: PushSubscription, outcome: Outcome, seq: int, sub_id: int) -> None:
    """Write what an attempt means for the subscription; the caller commits."""
    if outcome is Outcome.GONE:
        db.session.execute(delete(PushSubscription).where(PushSubscription.id == sub_id))
        return
    if outcome is Outcome.FAILED:
        failures = subscription.failures + 1
        base = float(current_app.config.get("PUSH_RETRY_SECONDS", 2))
        values = {"failures": failures, "next_attempt_at": utcnow() + backoff(failures, base)}
    else:
        values = {"last_seq": seq, "failures": 0, "next_attempt_at": None}
    db.session.execute(update(PushSubscription).where(PushSubscription.id == sub_id)
                       .values(**values).execution_options(synchronize_session=False))
    for name, value in values.items():
        setattr(subscription, name, value)


def _forget_story(lease: Lease) -> None:
    """An archived story no longer changes: delete its readers' subscriptions and its alerts."""
    if not fence(lease):
        return
    for table in (PushSubscription, PushAlert):
        db.session.execute(delete(table).where(table.story_id == lease.story_id))
    db.session.commit()


def _forget_stale(story_id: int) -> None:
    # An alert past its TTL is never sent again; the row is only weight.
    cutoff = utcnow() - timedelta(seconds=_ttl() + 60)
    db.session.execute(delete(PushAlert).where(PushAlert.story_id == story_id,
                                               PushAlert.created_at < cutoff))
    db.session.commit()


class Deliverer(WorkerPool):
    """A background loop that hands stories with alerts due to a small pool of workers."""

    def __init__(self, app: Flask, interval: float = 1.0, workers: int = 4):
        super().__init__(app, "push", due_stories, _claim_and_deliver, interval=interval,
                         workers=workers, outage=Outage("push alerts", "database", log))


def _claim_and_deliver(story_id: int) -> int:
    lease = claim(story_id)
    return deliver_story(lease) if lease else 0
