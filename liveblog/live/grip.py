"""GRIP WebSocket-over-HTTP: the events an edge (Pushpin, a GRIP CDN) and we exchange, signed.

With GRIP, the edge holds each reader's WebSocket and turns what happens on it into HTTP
requests to us: a body of events (`OPEN`, `TEXT <hex length>` + content, `CLOSE`, ...), each
line ending in CRLF. We answer with events of the same form, with the `grip` extension: a text
message starting with `c:` instructs the edge (subscribe this connection to a channel), one
starting with `m:` goes to the reader without those two characters. Every request carries
`Grip-Sig`, a JWT (HS256) the edge signs with the key it shares with us, so nobody else can
speak for it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import NamedTuple

CONTENT_TYPE = "application/websocket-events"
# Events that carry content, as `TYPE <hex length>\r\n<content>\r\n`; the others are `TYPE\r\n`.
WITH_CONTENT = {"TEXT", "BINARY", "CLOSE", "PING", "PONG"}
KNOWN = WITH_CONTENT | {"OPEN", "DISCONNECT"}


class Event(NamedTuple):
    """One WebSocket-over-HTTP event: its type and content (bytes, empty if none)."""

    type: str
    content: bytes = b""


class BadEvents(ValueError):
    """A body that is not a well-formed list of WebSocket-over-HTTP events."""


def parse_events(body: bytes) -> list[Event]:
    """The events of a request body, in order; BadEvents if it is malformed."""
    events, at = [], 0
    while at < len(body):
        end = body.find(b"\r\n", at)
        if end < 0:
            raise BadEvents("an event line without CRLF")
        name, _, length = body[at:end].decode("ascii", "replace").partition(" ")
        if name not in KNOWN:
            raise BadEvents(f"unknown event {name[:20]!r}")
        at = end + 2
        content = b""
        if length:
            try:
                size = int(length, 16)
            except ValueError:
                raise BadEvents("a length that is not hexadecimal") from None
            content = body[at:at + size]
            if len(content) != size or body[at + size:at + size + 2] != b"\r\n":
                raise BadEvents("content shorter than its length, or not ended by CRLF")
            at += size + 2
        events.append(Event(name, content))
    return events


def encode_event(event: Event) -> bytes:
    """One event as the edge reads it."""
    if event.type in WITH_CONTENT:
        return b"%s %x\r\n%s\r\n" % (event.type.encode(), len(event.content), event.content)
    return event.type.encode() + b"\r\n"


def text(message: str) -> Event:
    """A text message for the reader: `m:` marks it as one, beside the edge's `c:` messages."""
    return Event("TEXT", b"m:" + message.encode())


def control(instruction: dict) -> Event:
    """An instruction to the edge, such as a subscription."""
    return Event("TEXT", b"c:" + json.dumps(instruction).encode())


def subscribe(channel: str) -> Event:
    """The instruction that subscribes this connection to a channel of the edge."""
    return control({"type": "subscribe", "channel": channel})


def close(code: int, reason: str = "") -> Event:
    """A close with its code (and reason), as the reader's browser will see it."""
    return Event("CLOSE", code.to_bytes(2, "big") + reason.encode()[:120])


def channel_of(story_id: int) -> str:
    """The edge's channel a story's frames are published on."""
    return f"liveblog-story-{story_id}"


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def key_bytes(key: str) -> bytes:
    """The shared key as bytes; Pushpin's `base64:` prefix names a binary key."""
    if key.startswith("base64:"):
        return base64.b64decode(key[len("base64:"):])
    return key.encode()


def valid_signature(token: str | None, key: str, now: float | None = None) -> bool:
    """Whether a Grip-Sig is an HS256 JWT signed with our key and not expired."""
    if not token or len(token) > 2048:
        return False
    try:
        header_part, claims_part, signature_part = token.split(".")
        header = json.loads(_b64decode(header_part))
        claims = json.loads(_b64decode(claims_part))
        signature = _b64decode(signature_part)
    except (ValueError, binascii.Error):
        return False
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        return False
    expected = hmac.new(key_bytes(key), f"{header_part}.{claims_part}".encode(),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        return False
    expires = claims.get("exp")
    # A signature with no expiry could be replayed for ever: refused.
    return isinstance(expires, int | float) and expires > (time.time() if now is None else now)


def sign(key: str, lifetime: float = 3600, claims: dict | None = None) -> str:
    """A Grip-Sig as an edge makes one (for tests, and for a publisher that needs one)."""
    def part(data: dict) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signed = part({"alg": "HS256", "typ": "JWT"}) + "." + part(
        {"iss": "pushpin", "exp": int(time.time() + lifetime), **(claims or {})})
    signature = hmac.new(key_bytes(key), signed.encode(), hashlib.sha256).digest()
    return signed + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
