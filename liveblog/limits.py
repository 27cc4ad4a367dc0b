"""Limits that protect the service: API writes and live connects per client, readers per process."""

from __future__ import annotations

import hashlib
import random
import threading
import time

from flask import Flask, current_app, g, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from . import api, live
from .errors import error_response, http_error
from .extensions import limiter

API_WRITES = ["POST", "PUT", "PATCH", "DELETE"]
# A reader refused for a full process retries after 2-6 s: spread out, so a crowd sent away
# together does not come back together.
FULL_RETRY_AFTER = (2, 6)
FULL_MESSAGE = "This server holds as many readers as it can; try again in a few seconds."


def writer_key() -> str:
    """Who an API write counts against: its bearer token, else the client's address."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        # A digest, not the token: the key is stored in Redis, and the token is a secret.
        return "token:" + hashlib.sha256(token.strip().encode()).hexdigest()[:32]
    return "address:" + get_remote_address()


def _setting(name: str):
    # Read at each request, so every app (and every test) can set its own figure.
    return lambda: current_app.config[name]


# Registered once, at import: the limiter is one object shared by every app in the process, and
# registering again per app would count each request twice. Both limits are shared scopes, so
# every API write of one token draws on one budget, whichever endpoint it calls.
limiter.shared_limit(
    _setting("API_WRITE_LIMIT"), scope="api-writes", key_func=writer_key, methods=API_WRITES,
    error_message="Too many API writes with this token; wait for Retry-After seconds.",
)(api.bp)
limiter.shared_limit(
    _setting("LIVE_CONNECT_LIMIT"), scope="live-connects", key_func=get_remote_address,
    error_message="Too many live connections from this address; wait for Retry-After seconds.",
)(live.bp)


def init_app(app: Flask) -> None:
    """Trust X-Forwarded-For from configured proxies; refuse readers past the process's cap."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        # Only the last `hops` addresses in X-Forwarded-For were written by our own proxies;
        # anything before them is whatever the client chose to send.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.extensions["liveblog.reader_slots"] = ReaderSlots()
    app.before_request(_refuse_when_full)
    app.teardown_request(_give_back_slot)
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def _too_many_requests(error: RateLimitExceeded):
    response, status = http_error(error)
    response = current_app.make_response((response, status))
    response.headers["Retry-After"] = str(_seconds_until_reset())
    return response


def _seconds_until_reset() -> int:
    # The breached limit's window end; a minute if the store cannot say (it may be down).
    try:
        return max(1, int(limiter.current_limit.reset_at - time.time()) + 1)
    except Exception:
        current_app.logger.warning("rate limit reset time unknown", exc_info=True)
        return 60


class ReaderSlots:
    """The process's places for readers: one is taken before a reader costs anything.

    Taken in the handshake's first hook, before any database work, and given back when the
    request ends, whatever happened to it. Counting at the hub's subscribe instead (after a
    query) let a reconnect storm's handshakes pass the check together, thousands over the cap.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self.taken = 0

    def take(self, cap: int) -> bool:
        """Take a place if fewer than `cap` are taken; say whether one was."""
        with self._lock:
            if self.taken >= cap:
                return False
            self.taken += 1
            return True

    def give_back(self) -> None:
        """Free a place taken by `take`."""
        with self._lock:
            self.taken -= 1


def _refuse_when_full():
    # Before the upgrade, so the refusal is a plain HTTP answer a load balancer and a client
    # understand.
    if request.endpoint != "live.stream":
        return None
    slots: ReaderSlots = current_app.extensions["liveblog.reader_slots"]
    if slots.take(current_app.config["MAX_READERS_PER_PROCESS"]):
        g.reader_slot = slots
        return None
    response, status = error_response(503, FULL_MESSAGE)
    response.headers["Retry-After"] = str(random.randint(*FULL_RETRY_AFTER))
    return response, status


def _give_back_slot(error: BaseException | None = None) -> None:
    # A teardown runs when the request ends, however it ends: after the socket closes, or
    # after a later hook refused the handshake.
    slots = g.pop("reader_slot", None)
    if slots is not None:
        slots.give_back()
