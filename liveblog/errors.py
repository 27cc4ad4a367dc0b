"""Domain errors raised by the publishing service, and the one JSON error response."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class LiveblogError(Exception):
    """A refusal with an HTTP status and a message a person can act on."""

    status = 400

    def __init__(self, message: str, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class Invalid(LiveblogError):
    status = 422


class NotFound(LiveblogError):
    status = 404


class Conflict(LiveblogError):
    status = 409


class VersionConflict(LiveblogError):
    """A write based on a stale version; carries the current entry so the client can merge."""

    status = 412

    def __init__(self, message: str, current: dict):
        super().__init__(message)
        self.current = current


def error_response(status: int, message: str, **extra):
    """Every JSON error: {"error": {"status", "message", ...}} with the status code."""
    payload = {"status": status, "message": message, **extra}
    return jsonify(error=payload), status


def asks_for_json() -> bool:
    """True when the client prefers JSON to HTML (the desk's script says so in Accept)."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > 0


def _wants_json() -> bool:
    # The API always speaks JSON; elsewhere the Accept header decides.
    return request.path.startswith("/api/") or request.path == "/oembed" or asks_for_json()


def json_error(error: LiveblogError):
    """A refusal as JSON: its message, the fields at fault, and for a conflict the current entry."""
    extra = {"fields": error.fields} if error.fields else {}
    if isinstance(error, VersionConflict):
        extra["current"] = error.current
    return error_response(error.status, error.message, **extra)


def _handle_liveblog_error(error: LiveblogError):
    if _wants_json():
        return json_error(error)
    return render_template("error.html", status=error.status, message=error.message), error.status


def _handle_http_error(error: HTTPException):
    if _wants_json():
        return error_response(error.code or 500, error.description or error.name)
    return render_template("error.html", status=error.code, message=error.description), error.code


def init_app(app: Flask) -> None:
    """Answer every error as JSON under /api and as a page elsewhere."""
    app.register_error_handler(LiveblogError, _handle_liveblog_error)
    app.register_error_handler(HTTPException, _handle_http_error)
