"""Schemathesis hooks for rules OpenAPI cannot state: a scheduled entry's time, and a poll's
closing time, are in the future; a story closes after it opens; an entry's authors exist."""

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
    _story_schedule(body)
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


def _story_schedule(body: dict) -> None:
    # What the spec says in words: a story closes after it opens, and an entry's authors are
    # ids of users who exist (the fuzzer cannot know which do).
    body.pop("authors", None)
    opens, closes = body.get("opens_at"), body.get("closes_at")
    if not (isinstance(opens, str) and isinstance(closes, str)):
        return
    try:
        opening, closing = datetime.fromisoformat(opens), datetime.fromisoformat(closes)
    except ValueError:
        return  # not a time: left for the server to refuse
    if opening.tzinfo is not None and closing.tzinfo is not None and closing <= opening:
        body["opens_at"], body["closes_at"] = closes, opens
        if closing == opening:
            body.pop("closes_at")
