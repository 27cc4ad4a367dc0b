"""Schemathesis hooks for rules OpenAPI cannot state: a scheduled entry's time, and a poll's
closing time, are in the future; a story closes after it opens; an entry's authors exist; a push
subscription's endpoint is a known push service's and its p256dh a point on the P-256 curve."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import schemathesis
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# A browser's p256dh: an uncompressed P-256 point, base64url without padding (87 characters).
_POINT = base64.urlsafe_b64encode(ec.generate_private_key(ec.SECP256R1()).public_key()
                                  .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
                                  ).decode().rstrip("=")
_BASE64URL_87 = re.compile(r"[A-Za-z0-9_-]{87}=?=?")
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(/[!-~]*)?")  # the spec's pattern


@schemathesis.hook
def before_call(context, case, kwargs):
    """Move a scheduled_for that has passed a day ahead, in every phase; the spec says why."""
    body = case.body
    if not isinstance(body, dict):
        return
    _move_ahead(body, "scheduled_for")
    _story_schedule(body)
    _push_key(body)
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


def _push_key(body: dict) -> None:
    # The spec can say a p256dh is 87 base64url characters, not that they decode to a point on
    # the curve, and an endpoint an https URL, not which hosts are push services; the server
    # checks both (422): a well-formed key becomes a real one, a well-formed URL a known host's.
    endpoint = body.get("endpoint")
    if isinstance(endpoint, str) and (found := _HTTPS_URL.fullmatch(endpoint)):
        body["endpoint"] = f"https://fcm.googleapis.com{found.group(1) or ''}"
    keys = body.get("keys")
    if isinstance(keys, dict) and isinstance(keys.get("p256dh"), str) \
            and _BASE64URL_87.fullmatch(keys["p256dh"]):
        keys["p256dh"] = _POINT
