"""HTTP caching for a CDN: validators from a story's last_seq, a Cache-Control on every answer."""

from __future__ import annotations

import functools
import hashlib
import os
from datetime import datetime

from flask import Flask, Response, current_app, g, request, session
from werkzeug.http import is_resource_modified

from liveblog.models import Story, as_utc

# A story taken back to draft (a takedown) must leave every shared cache within this bound.
TAKEDOWN_SECONDS = 300
# Long enough for a CDN to absorb a crowd; live changes reach open pages over the WebSocket.
PUBLIC = "public, max-age=5, stale-while-revalidate=30"
# Events up to the newest one: the next post changes the answer, so keep it only briefly.
OPEN_RANGE = "public, max-age=2, stale-while-revalidate=2"
# A full range of older events never changes, and an archived story only if someone reopens
# it; but either can be taken back to draft, so neither is "immutable": a few minutes, then a
# revalidation that costs a 304 (or gets the draft's 404).
CLOSED_RANGE = "public, max-age=240, stale-while-revalidate=60"
ARCHIVED = "public, max-age=240, stale-while-revalidate=60"
PRIVATE = "private, no-store"
NO_STORE = "no-store"
READS = ("GET", "HEAD")


class NotModified(Exception):
    """The client's copy is current: the answer is a 304."""


@functools.cache
def _release(folders: tuple[str, ...]) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(name for name in dirs if name != "__pycache__")
            for name in sorted(files):
                with open(os.path.join(root, name), "rb") as handle:
                    digest.update(handle.read())
    return digest.hexdigest()[:8]


def release() -> str:
    """A short hash of the code, templates and static files; a deploy changes every validator."""
    app = current_app
    return _release((app.root_path, app.template_folder or "", app.static_folder or ""))


def story_etag(story: Story, variant: str) -> str:
    """A weak validator for a view of the story: it changes with every change readers can see."""
    return f'W/"{story.id}-{story.last_seq}-{variant}.{release()}"'


def range_etag(story: Story, after: int, limit: int) -> str:
    """A validator for a closed range of events: fixed while the story stays public."""
    return f'W/"{story.id}-events-{after}-{limit}.{release()}"'


def validate(etag: str, last_modified: datetime | None, policy: str = PUBLIC) -> None:
    """Give the answer these validators and policy; raise NotModified if the client has it."""
    last_modified = as_utc(last_modified)
    g.cache = (etag, last_modified, policy)
    if request.method in READS and not is_resource_modified(
        request.environ, etag=etag, last_modified=last_modified
    ):
        raise NotModified()


def revalidate(story: Story, variant: str, policy: str = PUBLIC) -> None:
    """Mark the answer as derived from the story; call it only once the reader may see the story."""
    validate(story_etag(story, variant), story.updated_at, policy)


def _not_modified(error: NotModified) -> Response:
    return Response(status=304)


def _private(response: Response) -> bool:
    # Token holders may see drafts, and a Set-Cookie kept by a CDN would hand one reader's
    # session to the next.
    sets_cookie = session.modified or "Set-Cookie" in response.headers
    return "Authorization" in request.headers or sets_cookie


def set_cache_headers(response: Response) -> Response:
    """Validators and a Cache-Control for every answer but the WebSocket's."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return response
    if request.path == "/admin" or request.path.startswith("/admin/"):
        response.headers["Cache-Control"] = NO_STORE  # the desk: never kept, not even privately
        return response
    if request.path.startswith("/api/"):
        response.vary.add("Authorization")  # token holders see drafts
    cache = g.get("cache")
    if cache and response.status_code in (200, 304):
        response.headers["ETag"] = cache[0]
        response.last_modified = cache[1]
    if _private(response):
        response.headers["Cache-Control"] = PRIVATE
    elif request.method not in READS or response.status_code >= 400:
        response.headers["Cache-Control"] = NO_STORE
    elif "Cache-Control" not in response.headers:  # else the view chose (pictures, static files)
        response.headers["Cache-Control"] = cache[2] if cache else PUBLIC
    return response


def init_app(app: Flask) -> None:
    """Answer NotModified with 304 and set the caching headers on every response."""
    app.register_error_handler(NotModified, _not_modified)
    app.after_request(set_cache_headers)
