"""Signatures on webhook requests: HMAC-SHA256 over a timestamp and the body.

Receivers check them with the code in docs/webhooks.md; the tests run that very code.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-Liveblog-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: "t=<unix time>,v1=<hex HMAC of '<t>.' + body>"."""
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"
