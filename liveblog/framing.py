"""Who may put our pages in a frame: anyone for the embed page, nobody for the rest."""

from __future__ import annotations

from flask import Flask, Response, request

FRAMEABLE = {"oembed.embed_page"}


def set_framing(response: Response) -> Response:
    """Allow framing of the embed page only; refuse it everywhere else (clickjacking)."""
    if request.endpoint in FRAMEABLE:
        directive = "frame-ancestors *"
    else:
        # X-Frame-Options for browsers that predate CSP's frame-ancestors.
        response.headers["X-Frame-Options"] = "DENY"
        directive = "frame-ancestors 'none'"
    policy = response.headers.get("Content-Security-Policy")
    if not policy:
        response.headers["Content-Security-Policy"] = directive
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy}; {directive}"
    return response


def init_app(app: Flask) -> None:
    """Set the framing headers on every response."""
    app.after_request(set_framing)
