"""Domain errors raised by the publishing service, and the one JSON error response."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from liveblog.extensions import db

# How long a client waits before retrying a write the database could not take.
DATABASE_RETRY_AFTER = 5
DATABASE_DOWN = (
    "The database is not answering, so nothing was saved. Your text is kept; "
    "try again in a few seconds."
)


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


def http_error(error: HTTPException):
    """An HTTP error as JSON under /api (or for a script that asks), else as a page."""
    # The exception's own headers carry what the status promises: Allow with a 405 (RFC 9110),
    # WWW-Authenticate with a 401. Its Content-Type is for its HTML body, which is not sent.
    headers = [(name, value) for name, value in error.get_headers() if name != "Content-Type"]
    if _wants_json():
        response, status = error_response(error.code or 500, error.description or error.name)
    else:
        page = render_template("error.html", status=error.code, message=error.description)
        response, status = current_app.make_response(page), error.code
    response.headers.extend(headers)
    return response, status


def database_unavailable(error: DBAPIError) -> bool:
    """True for a lost or refused database connection, as opposed to a bad statement."""
    return isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated


def _handle_database_error(error: DBAPIError):
    if not database_unavailable(error):
        raise error  # a real bug: the ordinary 500 and its traceback
    current_app.logger.warning("database unavailable: %s", error.orig)
    return _unavailable_answer()


def _handle_pool_timeout(error: PoolTimeout):
    # Every pooled connection stayed busy for pool_timeout: the database is overloaded, not
    # broken: answered as an outage is (503, Retry-After), its work rolled back.
    current_app.logger.warning("no database connection free: %s", error)
    return _unavailable_answer()


def _unavailable_answer():
    try:
        # The transaction died with the connection; a rollback returns the session to the pool
        # clean, so the next request starts afresh instead of failing on a dead transaction.
        db.session.rollback()
    except DBAPIError:
        db.session.invalidate()
    if _wants_json():
        response, status = error_response(503, DATABASE_DOWN)
    else:
        response, status = _error_page(503, DATABASE_DOWN), 503
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response, status


def _error_page(status: int, message: str):
    # Rendered without context processors: Flask-Login's would load the user from the database
    # that just failed. Plain text if even that fails: the answer must not depend on it.
    try:
        page = current_app.jinja_env.get_template("error.html")
        return current_app.make_response(page.render(status=status, message=message))
    except Exception:
        current_app.logger.exception("rendering the %s page failed", status)
        return current_app.make_response((message, {"Content-Type": "text/plain"}))


def init_app(app: Flask) -> None:
    """Answer every error as JSON under /api and as a page elsewhere."""
    app.register_error_handler(LiveblogError, _handle_liveblog_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(DBAPIError, _handle_database_error)
    app.register_error_handler(PoolTimeout, _handle_pool_timeout)
