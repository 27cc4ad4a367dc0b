"""Schemathesis hooks for a rule OpenAPI cannot state: a scheduled entry's time is in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    """Move a scheduled_for that has passed a day ahead, in every phase; the spec says why."""
    body = case.body
    when = body.get("scheduled_for") if isinstance(body, dict) else None
    if not isinstance(when, str):
        return
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return  # not a time: left for the server to refuse
    if moment.tzinfo is not None and moment <= datetime.now(UTC):
        body["scheduled_for"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
