"""The view beacon: POST /stories/<slug>/views, sent once by each story page and embed page
(static/js/visit.js), counted by analytics/visits.py.

Open to anonymous readers, so bounded: a small body, VISIT_LIMIT per address (web/limits.py),
robots and prefetches not counted, and no cookie, address or user agent kept.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, abort, request
from flask_limiter.util import get_remote_address

from liveblog.analytics import visits
from liveblog.public.pages import public_story
from liveblog.web.limits import limit_views

bp = Blueprint("view_beacon", __name__)
limit_views(bp)

MAX_BODY_BYTES = 1024  # {"kind": "embed", "source": "<a host name>"} and room to spare


def init_app(app: Flask) -> None:
    """Serve the beacon, with today's visitors kept as REDIS_URL allows (analytics/visits.py)."""
    visits.init_app(app)
    app.register_blueprint(bp)


@bp.before_request
def _bound_body() -> None:
    request.max_content_length = MAX_BODY_BYTES


def _beacon() -> tuple[str, str]:
    """The view's kind and its source host from the JSON body; a 400 for anything else."""
    try:
        data = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):
        abort(400, description="The body must be a JSON object.")
    if not isinstance(data, dict) or data.get("kind") not in visits.VIEWS:
        abort(400, description=f"'kind' must be one of {', '.join(visits.VIEWS)}.")
    source = data.get("source", "")
    if not isinstance(source, str):
        abort(400, description="'source' must be a host name or an address.")
    return data["kind"], visits.host_of(source)


@bp.post("/stories/<slug>/views")
def count_view(slug: str):
    """Count one view of the story's page or embed; 204 whether or not it was counted."""
    story = public_story(slug)
    kind, source = _beacon()
    user_agent = request.headers.get("User-Agent", "")[:512]
    purpose = request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", "")
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        # Our pages send it from our origin; another site's page may not count views here.
        abort(403, description="Views are counted from this site's own pages.")
    if not visits.is_robot(user_agent, purpose):
        private = "1" in (request.headers.get("DNT", ""), request.headers.get("Sec-GPC", ""))
        visits.count_view(story.id, kind, source, get_remote_address() or "", user_agent,
                          estimate=not private)
    return Response(status=204)
