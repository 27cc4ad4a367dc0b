"""The lease on a story's alerts: one process at a time sends them, and one that lost it stops.

As for webhooks (webhooks/lease.py): claiming writes a random token on the story's cursor row;
each later write of the holder starts with an UPDATE of that row on condition that the token is
still there, in the same transaction, so a holder that finds 0 rows has been replaced.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, update

from liveblog.extensions import db
from liveblog.models import PushCursor, utcnow

# Several attempts' worth (sender.TIMEOUT_SECONDS each); every recorded attempt renews it.
LEASE = timedelta(seconds=60)


@dataclass
class Lease:
    """The right to send one story's alerts, held under a token nobody else knows."""

    story_id: int
    owner: str


def claim(story_id: int) -> Lease | None:
    """Take the story's lease if it is free; commit."""
    now, owner = utcnow(), secrets.token_hex(16)
    taken = db.session.execute(
        update(PushCursor)
        .where(PushCursor.story_id == story_id,
               or_(PushCursor.lease_until.is_(None), PushCursor.lease_until < now))
        .values(lease_owner=owner, lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return Lease(story_id, owner) if taken == 1 else None


def fence(lease: Lease) -> bool:
    """In this transaction: renew the lease if it is still ours; False if it is not."""
    return db.session.execute(
        update(PushCursor)
        .where(PushCursor.story_id == lease.story_id, PushCursor.lease_owner == lease.owner)
        .values(lease_until=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def release(lease: Lease) -> None:
    """Let the lease go, unless someone else holds it by now; commit."""
    db.session.execute(
        update(PushCursor)
        .where(PushCursor.story_id == lease.story_id, PushCursor.lease_owner == lease.owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
