"""Static files named by their content: ?v=<hash> URLs cached for good, plain ones briefly."""

from __future__ import annotations

import hashlib
import os

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

IMMUTABLE = "public, max-age=31536000, immutable"
# /static/embed.js is linked from other sites without a version: a fix must reach them soon.
PLAIN = "public, max-age=300"
HASH_LENGTH = 12


def fingerprint(filename: str) -> str | None:
    """A short hash of a static file's content, or None if there is no such file."""
    path = safe_join(current_app.static_folder or "", filename)
    if path is None or not os.path.isfile(path):
        return None
    stat = os.stat(path)
    known = current_app.extensions.setdefault("liveblog.assets", {})
    # Keyed on size and mtime too, so an edited file gets a new hash without a restart.
    key = (filename, stat.st_size, stat.st_mtime_ns)
    if key not in known:
        with open(path, "rb") as handle:
            known[key] = hashlib.sha256(handle.read()).hexdigest()[:HASH_LENGTH]
    return known[key]


def add_version(endpoint: str, values: dict) -> None:
    """Give url_for('static', filename=...) the file's fingerprint as ?v=."""
    if endpoint == "static" and "v" not in values and "filename" in values:
        version = fingerprint(values["filename"])
        if version:
            values["v"] = version


def set_static_cache(response: Response) -> Response:
    """Cache a static file for a year when its URL names its current content."""
    if request.endpoint != "static" or response.status_code not in (200, 206, 304):
        return response
    filename = (request.view_args or {}).get("filename", "")
    # A stale ?v= (a page cached before a deploy) still gets today's file, so cache it briefly.
    current = request.args.get("v") and request.args.get("v") == fingerprint(filename)
    response.headers["Cache-Control"] = IMMUTABLE if current else PLAIN
    return response


def init_app(app: Flask) -> None:
    """Fingerprint static URLs and set how long static files may be cached."""
    app.url_defaults(add_version)
    app.after_request(set_static_cache)
