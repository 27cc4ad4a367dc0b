"""The lease on an endpoint: one deliverer at a time, and one that lost its lease writes nothing.

Claiming writes a random owner token on the endpoint row. Every later write of the holder (each
attempt with its cursor move, and the release) starts with an UPDATE of that row on condition
that the token is still there, in the same transaction: the row lock it takes keeps a new holder
out until the commit, and a holder that finds 0 rows has been replaced and stops at once.
Each attempt's write also renews the lease, which lasts far longer than one attempt.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Row, or_, update

from liveblog.extensions import db
from liveblog.models import WebhookEndpoint, utcnow

# Four attempts' worth (transport.DEADLINE_SECONDS each). Every recorded attempt renews it, and
# so does the check before an attempt once half of it has gone (keep).
LEASE = timedelta(seconds=60)


@dataclass
class Lease:
    """The right to deliver to one endpoint, held under a token nobody else knows."""

    endpoint_id: int
    owner: str
    # When it was last taken or renewed, by this process's clock (a pause shows here).
    renewed: float = field(default_factory=time.monotonic)


def claim(endpoint_id: int) -> Lease | None:
    """Take the endpoint's lease if it is free, active and not backing off; commit."""
    now = utcnow()
    owner = secrets.token_hex(16)
    taken = db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.active.is_(True),
               or_(WebhookEndpoint.lease_until.is_(None), WebhookEndpoint.lease_until < now),
               or_(WebhookEndpoint.next_attempt_at.is_(None),
                   WebhookEndpoint.next_attempt_at <= now))
        .values(lease_owner=owner, lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return Lease(endpoint_id, owner) if taken == 1 else None


def fence(lease: Lease, **values) -> Row | None:
    """In this transaction: renew the lease and set values if it is still ours, else None.

    Returns the endpoint's failure count and first failure time as they are after the update.
    """
    renewing = time.monotonic()
    statement = (
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == lease.endpoint_id, WebhookEndpoint.lease_owner == lease.owner)
        .values(lease_until=utcnow() + LEASE, **values)
        .returning(WebhookEndpoint.failures, WebhookEndpoint.first_failure_at)
        .execution_options(synchronize_session=False)
    )
    held = db.session.execute(statement).one_or_none()
    if held is not None:
        lease.renewed = renewing
    return held


def keep(lease: Lease) -> bool:
    """Before an attempt: renew the lease (commit) if half of it has gone; False if it is lost.

    Each recorded attempt renews it anyway, so this writes only after a pause (a frozen VM, a
    long GC), when another process may have taken the endpoint over meanwhile.
    """
    if time.monotonic() - lease.renewed < LEASE.total_seconds() / 2:
        return True
    held = fence(lease) is not None
    db.session.commit()
    return held


def release(lease: Lease) -> None:
    """Let the lease go, unless someone else holds it by now; commit."""
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == lease.endpoint_id, WebhookEndpoint.lease_owner == lease.owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
