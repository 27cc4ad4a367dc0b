"""The OpenAPI 3.1 description of the JSON API, built from schemas.py, and its reference page."""

from __future__ import annotations

import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, render_template

from . import caching, schemas
from .api import MAX_INT, MAX_PAGE

bp = Blueprint("openapi", __name__, url_prefix="/api")

DESCRIPTION = """\
A live blog's stories, entries and event log. Reads of live and ended stories need no token;
writes, and reads of drafts, need `Authorization: Bearer <token>` from an editor or admin
(`flask --app app tokens create EMAIL`). Request bodies are JSON objects of at most 1 MiB.
Every error is JSON: `{"error": {"status", "message", "fields"?}}`.

**Live updates** come over a WebSocket, which OpenAPI cannot describe:
`GET ws://host/api/stories/{slug}/live?after=<seq>`. The server sends every event with
`seq > after` from the log, in order, then live ones, each exactly once, as JSON text frames
shaped like the items of `GET /api/stories/{slug}/events`, plus `{"type": "heartbeat", "seq"}`
after 25 s without traffic and `{"type": "story.reset", "seq"}` when `after` is beyond the
story's last seq. Client messages are ignored; one over 4 KiB closes with 1009; an unknown story
closes with 4404, an archived one with 4410; a server going away closes with 1012 and a database
outage with 1013 (reconnect with `after`). Before the upgrade, too many connects from one address
answer 429 and a process at its reader cap 503, both with `Retry-After`.
"""

# Every error answer, by status code: (component name, when it happens).
ERRORS = {
    "400": (
        "BadRequest",
        "Invalid JSON or UTF-8, a body that is not an object, a bad query parameter or header.",
    ),
    "401": ("Unauthorized", "The API token is missing, malformed or revoked."),
    "403": ("Forbidden", "The token's owner may not write (editors and admins may)."),
    "404": ("NotFound", "No such story or entry (drafts are unknown without a token)."),
    "409": ("Conflict", "A taken slug, or a new entry in an ended story."),
    "412": (
        "PreconditionFailed",
        "If-Match names a stale version; `error.current` is the entry as it is now.",
    ),
    "413": ("ContentTooLarge", "The body is over 1 MiB."),
    "422": ("Invalid", "A field with the wrong type, length or value; `error.fields` says which."),
    "429": (
        "TooManyRequests",
        "Over API_WRITE_LIMIT for this token (or address); `Retry-After` says when to try again.",
    ),
    "503": (
        "ServiceUnavailable",
        "The database is not answering; nothing was saved. Retry after `Retry-After` seconds.",
    ),
}


def _whole(low: int, high: int, default: int | None = None) -> dict:
    schema = {"type": "integer", "minimum": low, "maximum": high}
    return schema if default is None else {**schema, "default": default}


PARAMETERS = {
    "slug": {"in": "path", "name": "slug", "required": True, "schema": {"type": "string"}},
    "entry_id": {"in": "path", "name": "entry_id", "required": True, "schema": _whole(1, MAX_INT)},
    "entries_limit": {
        "in": "query",
        "name": "limit",
        "description": "Entries per page.",
        "schema": _whole(1, MAX_PAGE, 20),
    },
    "before": {
        "in": "query",
        "name": "before",
        "schema": _whole(0, MAX_INT),
        "description": "Only entries older than this entry of the story.",
    },
    "after": {
        "in": "query",
        "name": "after",
        "schema": _whole(0, MAX_INT, 0),
        "description": "Only events with a greater seq.",
    },
    "events_limit": {
        "in": "query",
        "name": "limit",
        "description": "Events per page.",
        "schema": _whole(1, 1000, 500),
    },
    "if_match": {
        "in": "header",
        "name": "If-Match",
        "description": 'The entry\'s version: `3`, `"3"` or `W/"3"`; stale gets 412.',
        "schema": {"type": "string", "pattern": r'^(W/)?"?[0-9]{1,15}"?$'},
    },
    "if_none_match": {
        "in": "header",
        "name": "If-None-Match",
        "description": "An ETag from an earlier answer; unchanged gets 304.",
        "schema": {"type": "string"},
    },
    "idempotency_key": {
        "in": "header",
        "name": "Idempotency-Key",
        "description": "A retry with the same key returns the first entry with 200;"
        " the same key with another body is a 422.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    },
}
READER = [{}, {"bearer": []}]  # a token is optional, and shows drafts
WRITER = [{"bearer": []}]
ETAG = {"ETag": {"schema": {"type": "string"}, "required": True}}
LOCATION = {"Location": {"schema": {"type": "string"}, "required": True}}


def _json(schema: str, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    return {**response, "headers": headers} if headers else response


def _operation(summary: str, ok: dict, errors: str, *, parameters=(), body=None, write=False):
    """One operation: its answers by status code, errors by reference to the shared ones."""
    # Any answer may meet a database outage; only writes are rate limited.
    codes = [*errors.split(), *(["429"] if write else []), "503"]
    responses = {**ok, **{code: ERRORS[code][0] for code in codes}}
    operation = {
        "summary": summary,
        "parameters": list(parameters),
        "security": WRITER if write else READER,
        "responses": responses,
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


NOT_MODIFIED = {"304": {"description": "The client's copy (If-None-Match) is current."}}
STORY = ["slug"]
ENTRY = ["slug", "entry_id"]
PATHS = {
    "/api/stories": {
        "get": _operation(
            "Stories, newest first; drafts only for token holders.",
            {"200": _json("StoryList", "The stories.")},
            "401",
        ),
        "post": _operation(
            "Create a story.",
            {"201": _json("Story", "The new story.", LOCATION)},
            "400 401 403 409 413 422",
            body="StoryCreate",
            write=True,
        ),
    },
    "/api/stories/{slug}": {
        "get": _operation(
            "One story.",
            {"200": _json("Story", "The story."), **NOT_MODIFIED},
            "401 404",
            parameters=[*STORY, "if_none_match"],
        ),
        "patch": _operation(
            "Change a story; readers get a story.updated event.",
            {"200": _json("Story", "The changed story.")},
            "400 401 403 404 413 422",
            parameters=STORY,
            body="StoryUpdate",
            write=True,
        ),
    },
    "/api/stories/{slug}/entries": {
        "get": _operation(
            "Published entries, newest first; follow `next` to page back.",
            {"200": _json("EntryPage", "A page of entries."), **NOT_MODIFIED},
            "400 401 404",
            parameters=[*STORY, "entries_limit", "before", "if_none_match"],
        ),
        "post": _operation(
            "Publish an entry; an Idempotency-Key makes retries safe.",
            {
                "200": _json(
                    "Entry", "A retry: the entry the key first made.", {**ETAG, **LOCATION}
                ),
                "201": _json("Entry", "The new entry.", {**ETAG, **LOCATION}),
            },
            "400 401 403 404 409 413 422",
            parameters=[*STORY, "idempotency_key"],
            body="EntryCreate",
            write=True,
        ),
    },
    "/api/stories/{slug}/entries/{entry_id}": {
        "get": _operation(
            "One published entry; its ETag is its version.",
            {"200": _json("Entry", "The entry.", ETAG), **NOT_MODIFIED},
            "401 404",
            parameters=[*ENTRY, "if_none_match"],
        ),
        "patch": _operation(
            "Edit or pin an entry; its version goes up by one.",
            {"200": _json("Entry", "The changed entry.", ETAG)},
            "400 401 403 404 412 413 422",
            parameters=[*ENTRY, "if_match"],
            body="EntryUpdate",
            write=True,
        ),
        "delete": _operation(
            "Delete an entry; readers see it disappear.",
            {"204": {"description": "Deleted."}},
            "400 401 403 404 412",
            parameters=[*ENTRY, "if_match"],
            write=True,
        ),
    },
    "/api/stories/{slug}/events": {
        "get": _operation(
            "Events with seq > after, in order, as the WebSocket sends them.",
            {"200": _json("EventPage", "A page of events."), **NOT_MODIFIED},
            "400 401 404",
            parameters=[*STORY, "after", "events_limit", "if_none_match"],
        ),
    },
}


@functools.cache
def build_spec() -> dict:
    """The OpenAPI 3.1 document as a dict; the same for every request, so built once."""
    spec = APISpec(
        title="liveblog API",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": DESCRIPTION},
    )
    for name in (
        "StoryCreate",
        "StoryUpdate",
        "EntryCreate",
        "EntryUpdate",
        "Story",
        "StoryList",
        "Entry",
        "EntryPage",
        "EventPage",
        "Error",
    ):
        spec.components.schema(name, schema=getattr(schemas, name))
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "An API token."}
    )
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter)
    for name, description in ERRORS.values():
        spec.components.response(name, _json("Error", description))
    for path, operations in PATHS.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi_json():
    """The spec; it changes only with a deploy."""
    caching.validate(f'"openapi.{caching.release()}"', None)
    return jsonify(build_spec())


@bp.get("/docs")
def docs():
    """A readable reference page for the spec."""
    return render_template("api_docs.html")
