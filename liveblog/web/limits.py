"""Rate limits that protect the service: API writes per token, live connects, readers'
questions, votes, alert subscriptions, seen-entries and view beacons per address.

The readers-per-process cap is live/reader_cap.py's.
"""

from __future__ import annotations

import hashlib
import time

from flask import Blueprint, Flask, current_app, request
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from liveblog.errors import http_error
from liveblog.extensions import limiter

API_WRITES = ["POST", "PUT", "PATCH", "DELETE"]


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


# Each is applied once, at the import of its blueprint's module: the limiter is one object shared
# by every app in the process, and applying again per app would count each request twice. Both
# are shared scopes, so every API write of one token draws on one budget, whichever endpoint.
def limit_api_writes(bp: Blueprint) -> None:
    """Count every write to this blueprint against its token's API_WRITE_LIMIT."""
    limiter.shared_limit(
        _setting("API_WRITE_LIMIT"), scope="api-writes", key_func=writer_key, methods=API_WRITES,
        error_message="Too many API writes with this token; wait for Retry-After seconds.",
    )(bp)


def limit_live_connects(bp: Blueprint) -> None:
    """Count every connect to this blueprint against its address's LIVE_CONNECT_LIMIT."""
    limiter.shared_limit(
        _setting("LIVE_CONNECT_LIMIT"), scope="live-connects", key_func=get_remote_address,
        error_message="Too many live connections from this address; wait for Retry-After seconds.",
    )(bp)


def limit_reader_questions(bp: Blueprint) -> None:
    """Count every reader's question to this blueprint against its address's QUESTION_LIMIT."""
    limiter.shared_limit(
        _setting("QUESTION_LIMIT"), scope="reader-questions", key_func=get_remote_address,
        methods=["POST"],
        error_message="Too many questions from this address; wait for Retry-After seconds.",
    )(bp)


def limit_poll_votes(bp: Blueprint) -> None:
    """Count every vote to this blueprint against its address's VOTE_LIMIT."""
    limiter.shared_limit(
        _setting("VOTE_LIMIT"), scope="poll-votes", key_func=get_remote_address,
        methods=["POST"],
        error_message="Too many votes from this address; wait for Retry-After seconds.",
    )(bp)


def limit_push_subscriptions(bp: Blueprint) -> None:
    """Count every subscribe and unsubscribe to this blueprint against PUSH_LIMIT per address."""
    limiter.shared_limit(
        _setting("PUSH_LIMIT"), scope="push-subscriptions", key_func=get_remote_address,
        methods=["POST", "DELETE"],
        error_message="Too many alert subscriptions from this address; wait for Retry-After"
        " seconds.",
    )(bp)


def limit_seen_beacons(bp: Blueprint) -> None:
    """Count every seen-entries beacon to this blueprint against SEEN_LIMIT per address."""
    limiter.shared_limit(
        _setting("SEEN_LIMIT"), scope="seen-beacons", key_func=get_remote_address,
        methods=["POST"],
        error_message="Too many seen-entries beacons from this address; wait for Retry-After"
        " seconds.",
    )(bp)


def limit_views(bp: Blueprint) -> None:
    """Count every view beacon to this blueprint against VISIT_LIMIT per address."""
    limiter.shared_limit(
        _setting("VISIT_LIMIT"), scope="views", key_func=get_remote_address, methods=["POST"],
        error_message="Too many views from this address; wait for Retry-After seconds.",
    )(bp)


def init_app(app: Flask) -> None:
    """Trust X-Forwarded-For from configured proxies; answer a breached limit with Retry-After."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops:
        # Only the last `hops` addresses in X-Forwarded-For were written by our own proxies;
        # anything before them is whatever the client chose to send.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
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
