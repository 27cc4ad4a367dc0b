"""The live route's fast lane: a reader's WebSocket handshake, answered below Flask.

A reconnect storm (a deploy, a dead machine, a network blip) brings thousands of readers back
at once. Through Flask, a handshake costs a request context, URL matching, every before_request
hook, wsproto parsing the request a second time, and a class flask-sock makes per socket (a
cycle that only a full garbage collection frees): most of a connect. This WSGI middleware
answers every well-formed handshake itself, with the same checks in the same order (a stopping
process, the readers' cap, the connect rate limit), the same log line and counters, and the
same reader loop (`stream.serve_reader`, which reads the story from the hub's memory when it
can). Anything unusual goes to Flask unchanged, and so does every refusal, so each refusal has
one answer, Flask's.
"""

from __future__ import annotations

import base64
import functools
import re
import time
from urllib.parse import parse_qsl

import limits
from flask import Flask
from werkzeug.wrappers import Response

from liveblog.extensions import limiter
from liveblog.live import shutdown, stream, transport
from liveblog.live.reader_cap import ReaderSlots
from liveblog.web import logs, socket_trace
from liveblog.web.params import ascii_int

# The live view's URL; a slug never holds a slash or a NUL (Flask's path refuses both too).
LIVE_PATH = re.compile(r"/api/stories/([^/\x00]+)/live")
# The rate limit's scope (web/limits.py), so both ways in draw on one budget per address.
CONNECT_SCOPE = "live-connects"


class LiveLane:
    """WSGI middleware: serve a well-formed reader's handshake; pass the rest to Flask."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict, start_response):
        """Serve the request here if it is the common case, else hand it to Flask."""
        common = self._common_case(environ)
        if common is None:
            return self.wsgi_app(environ, start_response)
        slots: ReaderSlots = self.app.extensions["liveblog.reader_slots"]
        cap = self.app.config["MAX_READERS_PER_PROCESS"]
        if shutdown.stopping(self.app) or not slots.take(cap):
            return self.wsgi_app(environ, start_response)  # refused there, with Retry-After
        try:
            allowed = self._within_rate_limit(environ)
        except Exception:  # storage trouble: Flask's limiter decides, and falls back
            allowed = False
        if not allowed:
            slots.give_back()
            # Over the limit already: Flask's count of this one changes nothing, and it answers.
            return self.wsgi_app(environ, start_response)
        try:
            mode = self._serve(environ, *common)
        finally:
            slots.give_back()
        return _after_socket(mode, environ, start_response)

    def _common_case(self, environ: dict) -> tuple[str, int | None, str] | None:
        # (slug, after, accept token) for a plain WebSocket handshake to the live route.
        # Cheapest first: every request the app serves passes here, pages and API alike.
        if (environ.get("REQUEST_METHOD") != "GET"
                or environ.get("HTTP_UPGRADE", "").lower() != "websocket"
                or environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13"
                or environ.get("SERVER_PROTOCOL") != "HTTP/1.1"
                or "upgrade" not in environ.get("HTTP_CONNECTION", "").lower()
                or not ("gunicorn.socket" in environ or "werkzeug.socket" in environ)):
            return None
        match = LIVE_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None:
            return None
        accept = _accept_token(environ.get("HTTP_SEC_WEBSOCKET_KEY", ""))
        if accept is None:
            return None
        try:  # WSGI gives the path's bytes as latin-1; Flask reads them as UTF-8
            slug = match.group(1).encode("latin-1").decode()
        except UnicodeError:
            return None
        query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        if any("\x00" in name or "\x00" in value for name, value in query):
            return None  # Flask answers 400
        after = next((value for name, value in query if name == "after"), None)
        return slug, ascii_int(after), accept

    def _within_rate_limit(self, environ: dict) -> bool:
        # What Flask-Limiter does for the live blueprint's shared limit (web/limits.py): one hit
        # per limit on [key prefix,] address, scope. tests/test_live_lane.py holds the two ways
        # in to one budget, so a change in Flask-Limiter's keys fails there.
        if not (limiter.enabled and limiter.initialized):
            return True
        # The limiter's own prefix, not this app's setting: the first one set in the process
        # sticks (Flask-Limiter 4), and the budget is the limiter's.
        prefix = limiter._key_prefix
        address = environ.get("REMOTE_ADDR") or "127.0.0.1"
        key = [prefix, address, CONNECT_SCOPE] if prefix else [address, CONNECT_SCOPE]
        for item in sorted(_parsed_limits(self.app.config["LIVE_CONNECT_LIMIT"])):
            if not limiter.limiter.hit(item, *key):
                return False
        return True

    def _serve(self, environ: dict, slug: str, after: int | None, accept: str) -> str:
        # The handshake, the reader's loop, then the request's log line; the socket's mode.
        started = time.perf_counter()
        request_id = logs.request_id_of(environ.get("HTTP_X_REQUEST_ID"))
        with self.app.app_context():  # the reader's loop reads config and, if asked, the log
            ws = transport.accept(environ, accept, {"X-Request-ID": request_id},
                                  self.app.config.get("SOCK_SERVER_OPTIONS", {}))
            trace = socket_trace.watch(ws)
            try:
                stream.serve_reader(ws, slug, after, trace)
                transport.close_quietly(ws)  # as flask-sock does after its view
            finally:
                logs.log_request("GET", f"/api/stories/{slug}/live", 101, started, request_id,
                                 environ.get("REMOTE_ADDR"), socket_trace.finish(trace))
        return ws.mode


def _accept_token(key: str) -> str | None:
    """Sec-WebSocket-Accept for a client's key, or None if the key is not 16 bytes in base64."""
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            return None
    except ValueError:
        return None
    return transport.accept_token(key)


@functools.lru_cache(maxsize=8)
def _parsed_limits(text: str) -> tuple[limits.RateLimitItem, ...]:
    return tuple(limits.parse_many(text))


def _after_socket(mode: str, environ: dict, start_response):
    # What flask-sock hands its server once the socket is over: gunicorn has nothing more to
    # write (StopIteration ends its connection), Werkzeug ends the request with a placeholder.
    if mode == "gunicorn":
        raise StopIteration()
    if mode == "werkzeug":
        return Response()(environ, start_response)
    return []


def init_app(app: Flask) -> None:
    """Put the lane in front of the app (inside ProxyFix, which limits.py adds later)."""
    app.wsgi_app = LiveLane(app, app.wsgi_app)
