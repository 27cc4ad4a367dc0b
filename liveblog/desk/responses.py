"""Answering the desk's scripts in JSON and its plain forms with pages, from the same views."""

from __future__ import annotations

from flask import request

from ..errors import LiveblogError, VersionConflict, error_response


def wants_json() -> bool:
    """True when the desk's script sent the request (it asks for JSON)."""
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > 0


def json_error(error: LiveblogError):
    """A service refusal as the JSON the desk script shows next to the form."""
    extra = {"fields": error.fields} if error.fields else {}
    if isinstance(error, VersionConflict):
        extra["current"] = error.current
    return error_response(error.status, error.message, **extra)
