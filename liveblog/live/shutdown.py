"""A process asked to stop: it says it is not ready, takes no new reader, sends its readers away.

A gunicorn worker starts `begin` from its SIGTERM (or SIGQUIT/SIGINT) handler, beside gunicorn's
own, which closes the listening socket only at its next tick, up to a second later. Meanwhile a
new reader is refused with 503 and Retry-After before its handshake (never replayed to and then
closed again), /readyz answers 503, and the desk's count forgets this process's readers.
"""

from __future__ import annotations

import random
import threading

from flask import Flask, current_app, request

from liveblog.errors import error_response
from liveblog.live import audience

# A refused reader comes back after 1-3 s, spread out; by then it lands on a running process.
RETRY_AFTER = (1, 3)
MESSAGE = "This server is restarting; connect again in a moment."


def init_app(app: Flask) -> None:
    """Refuse new readers once the process is stopping."""
    app.extensions["liveblog.stopping"] = threading.Event()
    app.before_request(_refuse_readers_when_stopping)


def begin(app: Flask) -> None:
    """Stop taking readers, send the ones here elsewhere with 1012, withdraw their count.

    It may wait on Redis: call it from a thread or greenlet, not from a signal handler.
    """
    app.extensions["liveblog.stopping"].set()
    app.extensions["liveblog.hub"].close_all()
    audience.withdraw(app)


def stopping(app: Flask) -> bool:
    """Whether the process has been asked to stop."""
    return app.extensions["liveblog.stopping"].is_set()


def _refuse_readers_when_stopping():
    if request.endpoint != "live.stream" or not stopping(current_app):
        return None
    response, status = error_response(503, MESSAGE)
    response.headers["Retry-After"] = str(random.randint(*RETRY_AFTER))
    return response, status
