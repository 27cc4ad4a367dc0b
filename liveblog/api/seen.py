"""Entries readers saw: POST /api/stories/<slug>/seen {"entries": [ids]}, answered 204.

The reader page's beacon (static/js/seen.js) sends the ids of entries that were on screen for
a second, in batches. Open to anonymous readers, so bounded: a small body, at most 50 ids, a
rate per address (web/limits.py), and one database write per batch (analytics/reach.py). No
cookie is read or set, no address or identifier is kept: only counts per entry.
"""

from __future__ import annotations

from flask import Blueprint, request
from marshmallow import fields, validate

from liveblog.analytics.reach import MAX_BATCH, count_seen
from liveblog.api import schemas
from liveblog.api.schemas import Index, RequestSchema
from liveblog.api.views import _json_body, _story
from liveblog.database import MAX_INTEGER
from liveblog.web.limits import limit_seen_beacons

bp = Blueprint("seen", __name__, url_prefix="/api")
limit_seen_beacons(bp)

# 50 ids of ten digits with their commas is about 600 bytes; nothing much larger is a batch.
MAX_BODY_BYTES = 2048


class SeenEntries(RequestSchema):
    """A batch of entries a reader's page showed on screen."""

    entries = fields.List(
        Index(strict=True, validate=validate.Range(1, MAX_INTEGER)), required=True,
        validate=validate.Length(1, MAX_BATCH),
        metadata={"description": "Entry ids, each counted once per batch; ids that are not"
                  " published entries of the story count nothing."})


@bp.before_request
def _bound_body() -> None:
    request.max_content_length = MAX_BODY_BYTES


@bp.post("/stories/<slug>/seen")
def seen(slug: str):
    """Count each listed entry of the story as seen by one more reader."""
    story = _story(slug)
    entries = schemas.load(SeenEntries, _json_body())["entries"]
    count_seen(story.id, entries)
    return "", 204, {"Cache-Control": "no-store"}
