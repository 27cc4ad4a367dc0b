"""A stand-in push service for the tests: real HTTP on 127.0.0.1, real VAPID and RFC 8291.

No real push service (Google's, Mozilla's, Apple's) is reachable here, so this one plays its
part: it checks each POST's VAPID Authorization header (an ES256 JWT whose key is in k=, for
this service's origin, not expired), decrypts the aes128gcm body with the subscription's private
key and auth secret (http_ece), records the plain text, and answers 201, or what a test told it.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

WAIT = 10  # seconds a test waits for a push message at most


def b64url(data: bytes) -> str:
    """Unpadded base64url, as Web Push spells keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Message:
    """One push message as the service received it."""

    path: str
    headers: dict  # names in lower case
    plain: bytes | None  # None when it was refused before decrypting
    status: int

    def json(self) -> dict:
        """The decrypted payload as JSON."""
        return json.loads(self.plain)


def verify_vapid(header: str, origin: str) -> dict:
    """Check a `vapid t=<JWT>, k=<key>` header (RFC 8292); return the JWT's claims."""
    scheme, _, params = header.partition(" ")
    assert scheme.lower() == "vapid", header
    parts = dict(part.strip().split("=", 1) for part in params.split(","))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    signed, _, signature = parts["t"].rpartition(".")
    head, claims = (json.loads(unb64url(piece)) for piece in signed.split("."))
    assert head == {"typ": "JWT", "alg": "ES256"}, head
    raw = unb64url(signature)
    assert len(raw) == 64, "an ES256 signature is r and s, 32 bytes each"
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    key.verify(der, signed.encode(), ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
    assert claims["aud"] == origin, claims
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600, claims
    assert claims["sub"].startswith("mailto:"), claims
    return claims


class PushService:
    """The stand-in: `subscription()` makes a browser's keys and endpoint; `messages` fills."""

    def __init__(self):
        self.messages: list[Message] = []
        self._keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        self._answers: dict[str, list[int]] = {}  # path -> statuses to answer, in turn
        self._arrived = threading.Condition()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the name http.server calls)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, plain = service._take(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with service._arrived:
                    service.messages.append(Message(self.path, headers, plain, status))
                    service._arrived.notify_all()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,),
                                        daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def register(self, path: str, private_key: ec.EllipticCurvePrivateKey, auth: bytes) -> str:
        """Know a browser's keys for an endpoint path; return the endpoint URL."""
        self._keys[path] = (private_key, auth)
        return self.origin + path

    def subscription(self) -> dict:
        """A new browser subscription, as PushSubscription.toJSON() gives it."""
        private_key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        endpoint = self.register(f"/push/{b64url(os.urandom(9))}", private_key, auth)
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(point), "auth": b64url(auth)}}

    def answer(self, endpoint: str, *statuses: int) -> None:
        """Answer the endpoint's next POSTs with these statuses, one each, then 201 again."""
        self._answers.setdefault(endpoint.removeprefix(self.origin), []).extend(statuses)

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Message]:
        """Wait (bounded) until at least `count` messages have arrived; return them all."""
        with self._arrived:
            assert self._arrived.wait_for(lambda: len(self.messages) >= count, timeout), \
                f"{len(self.messages)} push messages arrived, not {count}"
            return list(self.messages)

    def _take(self, path: str, headers: dict, body: bytes) -> tuple[int, bytes | None]:
        if path not in self._keys:
            return 404, None
        try:
            verify_vapid(headers.get("authorization", ""), self.origin)
        except (AssertionError, InvalidSignature, KeyError, ValueError):
            return 401, None
        if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            return 400, None
        private_key, auth = self._keys[path]
        plain = http_ece.decrypt(body, private_key=private_key, auth_secret=auth,
                                 version="aes128gcm")
        queued = self._answers.get(path)
        return (queued.pop(0) if queued else 201), plain
