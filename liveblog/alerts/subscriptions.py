"""Readers' subscriptions: checked to the byte, one per browser and story, and nothing else kept.

A subscription is what the browser's PushSubscription.toJSON() gives: the push service's
endpoint URL and the browser's two keys. The endpoint is where the server will POST, so it is
held to known push services over https (a reader could otherwise point the server at any
address); tests point it at a stand-in on 127.0.0.1 with PUSH_ALLOW_LOCAL.
"""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from liveblog.errors import Conflict, Invalid
from liveblog.extensions import db
from liveblog.models import PushCursor, PushSubscription, Story, StoryStatus

MAX_ENDPOINT_CHARS = 1000
P256DH_CHARS = 87  # 65 bytes (an uncompressed P-256 point), base64url without padding
AUTH_CHARS = 22  # 16 bytes, base64url without padding
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# Host names the push services of Chrome, Firefox, Safari and Edge send from; a suffix with a
# leading dot matches any host under it. PUSH_SERVICE_HOSTS replaces the list.
PUSH_SERVICE_HOSTS = ("fcm.googleapis.com", "android.googleapis.com",
                      ".push.services.mozilla.com", ".push.apple.com", ".notify.windows.com")
FIELDS = {"endpoint", "keys", "expirationTime"}


def _decoded(text: object, chars: int, name: str) -> bytes:
    # Browsers send unpadded base64url; padding is taken off so one key has one spelling.
    if not isinstance(text, str) or not BASE64URL.fullmatch(text.rstrip("=")) \
            or len(text.rstrip("=")) != chars:
        raise Invalid(f"keys.{name} must be {chars} base64url characters.",
                      {f"keys.{name}": "invalid"})
    try:
        return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-chars % 4))
    except (binascii.Error, ValueError):
        raise Invalid(f"keys.{name} is not base64url.", {f"keys.{name}": "invalid"}) from None


def _host_allowed(host: str) -> bool:
    hosts = current_app.config.get("PUSH_SERVICE_HOSTS") or PUSH_SERVICE_HOSTS
    return any(host == allowed or (allowed.startswith(".") and host.endswith(allowed))
               for allowed in hosts)


def check_endpoint(endpoint: object) -> str:
    """The endpoint if it is a push service's https URL of at most 1,000 characters."""
    if not isinstance(endpoint, str) or not endpoint:
        raise Invalid("endpoint is required.", {"endpoint": "is required"})
    if len(endpoint) > MAX_ENDPOINT_CHARS or not endpoint.isascii() or not endpoint.isprintable():
        raise Invalid("endpoint is too long or not a URL.", {"endpoint": "invalid"})
    try:
        parts = urlsplit(endpoint)
        host, port = (parts.hostname or "").lower(), parts.port
    except ValueError:
        raise Invalid("endpoint is not a URL.", {"endpoint": "invalid"}) from None
    local = (current_app.config.get("PUSH_ALLOW_LOCAL") and parts.scheme == "http"
             and host == "127.0.0.1")
    if local:
        return endpoint
    if parts.scheme != "https" or parts.username or parts.password or port not in (None, 443):
        raise Invalid("endpoint must be an https:// URL.", {"endpoint": "invalid"})
    if not _host_allowed(host):
        raise Invalid("endpoint is not a known push service.", {"endpoint": "unknown service"})
    return endpoint


def subscription_fields(data: dict) -> dict:
    """The endpoint and keys of a PushSubscription's JSON, or a 422 naming the field at fault."""
    unknown = set(data) - FIELDS
    if unknown:
        raise Invalid(f"Unknown fields: {', '.join(sorted(unknown))}.",
                      dict.fromkeys(sorted(unknown), "unknown field"))
    keys = data.get("keys")
    if not isinstance(keys, dict) or set(keys) - {"p256dh", "auth"}:
        raise Invalid("keys must be an object with p256dh and auth.", {"keys": "invalid"})
    point = _decoded(keys.get("p256dh"), P256DH_CHARS, "p256dh")
    _decoded(keys.get("auth"), AUTH_CHARS, "auth")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise Invalid("keys.p256dh is not a P-256 public key.",
                      {"keys.p256dh": "invalid"}) from None
    return {"endpoint": check_endpoint(data.get("endpoint")),
            "p256dh": keys["p256dh"].rstrip("="), "auth": keys["auth"].rstrip("=")}


def subscribe(story: Story, data: dict) -> PushSubscription:
    """Keep a browser's subscription to a live story's key updates, from now on; commit."""
    fields = subscription_fields(data)
    if story.status != StoryStatus.LIVE or story.archived:
        raise Conflict("Only a live story sends alerts.")
    for attempt in range(2):  # a second try after a twin request inserted the same row
        try:
            subscription = db.session.scalar(select(PushSubscription).filter_by(
                story_id=story.id, endpoint=fields["endpoint"]))
            if subscription is None:
                subscription = PushSubscription(story_id=story.id, **fields)
                db.session.add(subscription)
            subscription.p256dh, subscription.auth = fields["p256dh"], fields["auth"]
            # Alerts already queued are the past: only key updates after this one are sent.
            subscription.last_seq = story.last_seq
            subscription.failures, subscription.next_attempt_at = 0, None
            if db.session.get(PushCursor, story.id) is None:
                db.session.add(PushCursor(story_id=story.id, last_seq=story.last_seq))
            db.session.commit()
            return subscription
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def unsubscribe(story: Story, data: dict) -> None:
    """Forget a browser's subscription to the story, if there is one; commit."""
    unknown = set(data) - {"endpoint"}
    if unknown:
        raise Invalid(f"Unknown fields: {', '.join(sorted(unknown))}.",
                      dict.fromkeys(sorted(unknown), "unknown field"))
    endpoint = data.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint or len(endpoint) > MAX_ENDPOINT_CHARS:
        raise Invalid("endpoint is required.", {"endpoint": "invalid"})
    db.session.execute(delete(PushSubscription).where(
        PushSubscription.story_id == story.id, PushSubscription.endpoint == endpoint))
    db.session.commit()
