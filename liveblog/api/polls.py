"""Readers' votes: POST /api/polls/<id>/votes, answered 201 with the poll's tallies.

Open to anonymous readers, so bounded: a small body, a voter token of 16 to 64 ASCII letters
and digits (stored only as a hash, with no address), a rate per address (web/limits.py). No
cookie is read or set, so a forged cross-site request gains nothing a direct one would not.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from liveblog.api import schemas
from liveblog.api.views import _json_body
from liveblog.database import MAX_INTEGER
from liveblog.errors import NotFound
from liveblog.publishing.poll_announcer import announcer
from liveblog.publishing.polls import cast_vote
from liveblog.publishing.validation import vote_fields
from liveblog.web.limits import limit_poll_votes

bp = Blueprint("polls", __name__, url_prefix="/api")
limit_poll_votes(bp)

# {"option": 5, "voter": <64 characters>} is under 100 bytes; nothing much larger is a vote.
MAX_BODY_BYTES = 1024


@bp.before_request
def _bound_body() -> None:
    request.max_content_length = MAX_BODY_BYTES


@bp.post("/polls/<int:poll_id>/votes")
def vote(poll_id: int):
    """Count a reader's vote; a second one from the same voter token is a 409."""
    if poll_id > MAX_INTEGER:
        raise NotFound("No such poll.")
    option, voter = vote_fields(schemas.load(schemas.VoteCreate, _json_body()))
    poll = cast_vote(poll_id, option, voter)
    announcer(current_app._get_current_object()).mark(poll_id)
    response = jsonify(poll=poll)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-store"
    return response
