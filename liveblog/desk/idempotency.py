"""Idempotency keys for desk forms: one per composed entry, so a resubmit never posts twice."""

import uuid


def new_idempotency_key() -> str:
    """A fresh key for a compose form."""
    return uuid.uuid4().hex
