"""Logs: one JSON object per line (or plain text), and one record per HTTP request.

LOG_FORMAT=json|text installs one handler on the root logger; unset (tests, `flask run`) leaves
logging as it is. Under gunicorn an unset LOG_FORMAT is chosen by who reads: text when stderr is
a terminal, JSON lines otherwise. Every request is logged once when its answer is ready (a
WebSocket when it closes, never per frame, as 101 with its close code and last seq), with a
request id taken from X-Request-ID or made up, and sent back. gunicorn's own access log is off:
it would log each request a second time, without the id.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, has_request_context, request

requests_log = logging.getLogger("liveblog.requests")

# A caller's id is kept only if it is short and plain, so it cannot forge log lines.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Attributes every LogRecord has; anything else on a record came through `extra=`.
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Loggers whose INFO lines tell an operator nothing: alembic names each of its autogenerate
# plugins as it loads them, in every worker that imports the app (Flask-Migrate imports them).
QUIET = ("alembic.runtime.plugins",)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, message, and its extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in STANDARD)
        if "request_id" not in entry and has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id  # an engine record made while serving a request
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The plain format: time, level, logger and message on one line."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")


def formatter(log_format: str) -> logging.Formatter:
    """The formatter for LOG_FORMAT: json, or text."""
    if log_format == "json":
        return JsonFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"LOG_FORMAT must be json or text, not {log_format!r}")


def chosen_format(setting: str | None, stream=None) -> str:
    """LOG_FORMAT when set; else text for a person at a terminal, JSON lines for a collector."""
    if setting:
        return setting
    stream = sys.stderr if stream is None else stream
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):  # no stream, or a closed one: nobody is watching
        return "json"


def configure(log_format: str) -> None:
    """Send every record to stderr in the given format, once however many apps are made."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    for handler in root.handlers:
        if isinstance(handler.formatter, JsonFormatter | TextFormatter):
            handler.setFormatter(formatter(log_format))  # gunicorn's or an earlier app's
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)


def gunicorn_logconfig(log_format: str) -> dict:
    """A logging.config dict for gunicorn, so its own lines share the app's format."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"liveblog": {"()": f"{__name__}.formatter", "log_format": log_format}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "liveblog",
                                 "stream": "ext://sys.stderr"},
                     "nowhere": {"class": "logging.NullHandler"}},
        "root": {"level": "INFO", "handlers": ["console"]},
        # The app logs each request itself, with the request id and more fields: gunicorn's
        # access log (on whenever a logging config is given) would be a second line for each.
        "loggers": {"gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
                    "gunicorn.access": {"level": "WARNING", "handlers": ["nowhere"],
                                        "propagate": False},
                    **{name: {"level": "WARNING"} for name in QUIET}},
    }


def _start_request() -> None:
    g.request_id = request_id_of(request.headers.get("X-Request-ID"))
    g.request_started = time.perf_counter()


def _log_request(response: Response) -> Response:
    started = g.get("request_started")
    if started is None:  # a request that failed before our before_request ran
        return response
    response.headers["X-Request-ID"] = g.request_id
    # Imported here: gunicorn's config imports this module in the master before it sets
    # PROMETHEUS_MULTIPROC_DIR, which prometheus-client reads once, when first imported.
    from liveblog.web import socket_trace

    trace = g.pop("live_trace", None)  # a WebSocket, now closed: 101, its close code, last seq
    log_request(request.method, request.path, response.status_code, started, g.request_id,
                request.remote_addr, socket_trace.finish(trace) if trace else None)
    return response


def request_id_of(given: str | None) -> str:
    """The caller's X-Request-ID if it is short and plain, else a new one."""
    return given if given and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def log_request(method: str, path: str, status: int, started: float, request_id: str,
                remote_addr: str | None, socket: dict | None = None) -> None:
    """Write a request's one line; a WebSocket's (`socket`) says how it closed."""
    fields = {"method": method, "path": path, "status": status,
              "duration_ms": round((time.perf_counter() - started) * 1000, 1),
              "request_id": request_id, "remote_addr": remote_addr}
    if socket is None:
        requests_log.info("%s %s %s", method, path, status, extra=fields)
    else:
        fields.update(socket)  # 101, over the placeholder answer flask-sock's view returns
        requests_log.info("%s %s %s closed %s", method, path, fields["status"],
                          fields["close_code"], extra=fields)


def init_app(app: Flask) -> None:
    """Install the LOG_FORMAT handler, if asked, and log every request."""
    if app.config.get("LOG_FORMAT"):
        configure(app.config["LOG_FORMAT"])
    app.before_request(_start_request)
    app.after_request(_log_request)
