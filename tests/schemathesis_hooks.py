"""Schemathesis hooks for a rule OpenAPI cannot state: a scheduled entry's time, and a poll's
closing time, are in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis


@schemathesis.hook
def before_call(context, case, kwargs):
    """Move a scheduled_for that has passed a day ahead, in every phase; the spec says why."""
    body = case.body
    if not isinstance(body, dict):
        return
    _move_ahead(body, "scheduled_for")
    if isinstance(body.get("poll"), dict):
        _move_ahead(body["poll"], "closes_at")  # a poll's closing time, likewise


def _move_ahead(body: dict, name: str) -> None:
    when = body.get(name)
    if not isinstance(when, str):
        return
    try:
        moment = datetime.fromisoformat(when)
    except ValueError:
        return  # not a time: left for the server to refuse
    if moment.tzinfo is not None and moment <= datetime.now(UTC):
        body[name] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
