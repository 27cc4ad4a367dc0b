"""Readers' questions to a story: POST /api/stories/<slug>/questions, answered 202.

The only API write open to anonymous readers, so everything about it is bounded: the body's
size, each field's length, links, the rate per address (web/limits.py), the queue's length.
Nothing sent here is shown to any reader until an editor publishes it from the desk.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_limiter.util import get_remote_address
from marshmallow import Schema, fields, validate

from liveblog.api.schemas import HAS_NUL, INVISIBLE, RequestSchema, Text
from liveblog.api.views import _json_body, _story
from liveblog.publishing.questions import (
    EMAIL_CHARS,
    HONEYPOT_CHARS,
    MAX_LINKS,
    NAME_CHARS,
    TEXT_CHARS,
    submit_question,
)
from liveblog.web.limits import limit_reader_questions

bp = Blueprint("questions", __name__, url_prefix="/api")
limit_reader_questions(bp)

# 1,000 characters of text, each up to six bytes as a JSON escape, and a name and an email:
# nothing larger is a question, so nothing larger is read.
MAX_BODY_BYTES = 16 * 1024
RECEIVED = ("Thank you. Your question has been sent to the newsroom; it is read before anything"
            " is published.")


@bp.before_request
def _bound_body() -> None:
    request.max_content_length = MAX_BODY_BYTES


@bp.post("/stories/<slug>/questions")
def ask(slug: str):
    """Keep a reader's question for the desk's moderation queue."""
    story = _story(slug)
    submit_question(story.id, _json_body(), get_remote_address() or "")
    # The same answer whether the honeypot caught it or not.
    response = jsonify(status="received", message=RECEIVED)
    response.status_code = 202
    response.headers["Cache-Control"] = "no-store"
    return response


# What the spec says of a question; question_fields() (publishing/questions.py) is the check.
def _no_link() -> dict:
    # JSON Schema patterns have no case-insensitive flag, so each letter is spelled both ways.
    return {"type": "string", "pattern": "[hH][tT][tT][pP][sS]?:|[wW][wW][wW]\\."}


def _more_links_than(count: int) -> dict:
    link = _no_link()["pattern"]
    return {"type": "string", "pattern": f"(?:{link})(?:[\\s\\S]*?(?:{link})){{{count}}}"}


# Bidi controls go too (publishing/questions.py), so a question needs one character beyond them.
QUESTION_BLANK = {
    "type": "string",
    "pattern": rf"^[\s\u202a-\u202e\u2066-\u2069{INVISIBLE}]*$",
}


class QuestionCreate(RequestSchema):
    """A reader's question: only text is required."""

    text = Text(required=True, validate=validate.Length(max=TEXT_CHARS), metadata={
        "description": f"Plain text (any markup is kept as text), at most {MAX_LINKS} links.",
        "not": {"anyOf": [QUESTION_BLANK, HAS_NUL, _more_links_than(MAX_LINKS)]},
    })
    name = Text(allow_none=True, validate=validate.Length(max=NAME_CHARS), metadata={
        "description": "Shown with the question if it is published; no links.",
        "not": {"anyOf": [HAS_NUL, _no_link()]},
    })
    email = Text(allow_none=True, validate=validate.Length(max=EMAIL_CHARS), metadata={
        "description": "For the newsroom to reply; never shown, deleted when the story is"
                       " archived. Must be an email address (checked by the server, 422).",
    })
    website = Text(allow_none=True, validate=validate.Length(max=HONEYPOT_CHARS), metadata={
        "description": "Leave out: a field for bots. Filled, the question is answered 202 and"
                       " dropped.",
    })


class QuestionReceived(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["received"]))
    message = fields.String(required=True)
