"""The OpenAPI 3.1 description of the JSON API, built from schemas.py, and its reference page."""

from __future__ import annotations

import functools

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify, render_template

from liveblog.api import questions, schemas, seen
from liveblog.api.views import (
    AFTER,
    BEFORE,
    ENTRIES_LIMIT,
    ENTRY_ID,
    EVENTS_LIMIT,
    IDEMPOTENCY_KEY,
    IF_MATCH,
)
from liveblog.web import caching
from liveblog.web.params import Bounds

bp = Blueprint("openapi", __name__, url_prefix="/api")

DESCRIPTION = """\
A live blog's stories, entries and event log. Reads of live and ended stories need no token;
writes, and reads of drafts, need `Authorization: Bearer <token>` from an editor or admin
(`flask --app app tokens create EMAIL`). Request bodies are JSON objects of at most 1 MiB.
Every error is JSON: `{"error": {"status", "message", "fields"?}}`. A request the schemas
call valid is refused only for a reason they cannot state, each given in its operation's
description: the state of a story or entry (404, 409, 412), the clock, or an entry body that
is empty once its HTML is cleaned (422). A 405 lists the allowed methods in `Allow`.

**Live updates** come over a WebSocket, which OpenAPI cannot describe:
`GET ws://host/api/stories/{slug}/live?after=<seq>`. The server sends every event with
`seq > after` from the log, in order, then live ones, each exactly once, as JSON text frames
shaped like the items of `GET /api/stories/{slug}/events`, plus `{"type": "heartbeat", "seq"}`
after 25 s without traffic and `{"type": "story.reset", "seq"}` when `after` is beyond the
story's last seq. Client messages are ignored; one over 4 KiB closes with 1009; an unknown story
closes with 4404, an archived one with 4410; a server going away closes with 1012 and a database
outage with 1013 (reconnect with `after`). Before the upgrade, too many connects from one address
answer 429 and a process at its reader cap 503, both with `Retry-After`. In GRIP mode (an edge
such as Pushpin holds the socket) the same address also takes the edge's `POST`s of
WebSocket-over-HTTP events, signed in `Grip-Sig` (anyone else: 403); they are not part of the API.
"""

# Every error answer, by status code: (component name, when it happens).
ERRORS = {
    "400": (
        "BadRequest",
        "Invalid JSON or UTF-8, a body that is not an object, a bad query parameter or header.",
    ),
    "401": ("Unauthorized", "The API token is missing, malformed or revoked."),
    "403": ("Forbidden", "The token's owner may not write (editors and admins may), or read"
            " a story's stats (admins may), or the desk has blocked this reader's questions."),
    "404": ("NotFound", "No such story or entry (drafts are unknown without a token)."),
    "409": (
        "Conflict",
        "The story's state refuses the request: a taken slug, a new entry in an ended story,"
        " archiving a story that has not ended, an Idempotency-Key used for another request,"
        " a question to a story that is not taking any.",
    ),
    "412": (
        "PreconditionFailed",
        "If-Match names a stale version; `error.current` is the entry as it is now.",
    ),
    "413": ("ContentTooLarge", "The body is over 1 MiB."),
    "422": ("Invalid", "A field with the wrong type, length or value; `error.fields` says which."),
    "429": (
        "TooManyRequests",
        "Over API_WRITE_LIMIT for this token (or address), or QUESTION_LIMIT for a reader's"
        " address; `Retry-After` says when to try again.",
    ),
    "503": (
        "ServiceUnavailable",
        "The database is not answering; nothing was saved. Retry after `Retry-After` seconds.",
    ),
}


def _whole(bounds: Bounds) -> dict:
    """The JSON Schema of a whole-number parameter, from the bounds its parser reads."""
    schema = {"type": "integer", "minimum": bounds.low, "maximum": bounds.high}
    return schema if bounds.default is None else {**schema, "default": bounds.default}


PARAMETERS = {
    "slug": {"in": "path", "name": "slug", "required": True, "schema": {"type": "string"}},
    "entry_id": {"in": "path", "name": "entry_id", "required": True, "schema": _whole(ENTRY_ID)},
    "poll_id": {"in": "path", "name": "poll_id", "required": True, "schema": _whole(ENTRY_ID)},
    "entries_limit": {
        "in": "query",
        "name": "limit",
        "description": "Entries per page.",
        "schema": _whole(ENTRIES_LIMIT),
    },
    "before": {
        "in": "query",
        "name": "before",
        "schema": _whole(BEFORE),
        "description": "Only entries older than this entry of the story (`next` names one);"
        " an id the story does not have is a 404.",
    },
    "after": {
        "in": "query",
        "name": "after",
        "schema": _whole(AFTER),
        "description": "Only events with a greater seq.",
    },
    "events_limit": {
        "in": "query",
        "name": "limit",
        "description": "Events per page.",
        "schema": _whole(EVENTS_LIMIT),
    },
    "if_match": {
        "in": "header",
        "name": "If-Match",
        "description": 'The entry\'s version: `3`, `"3"` or `W/"3"`, or its ETag as given;'
        " a stale one gets 412 with the entry as it is now.",
        "schema": {"type": "string", "pattern": f"^(?:{IF_MATCH.pattern})$"},
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
        " the same key with another body is a 409. A UUID is a good key.",
        "schema": {"type": "string", "pattern": f"^{IDEMPOTENCY_KEY.pattern}$"},
    },
}
READER = [{}, {"bearer": []}]  # a token is optional, and shows drafts
WRITER = [{"bearer": []}]
ETAG = {"ETag": {"schema": {"type": "string"}, "required": True}}
LOCATION = {"Location": {"schema": {"type": "string"}, "required": True}}


def _json(schema: str, description: str, headers: dict | None = None, links=None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    if links:
        response["links"] = links
    return response


def _operation(operation_id: str, summary: str, ok: dict, errors: str, *, parameters=(),
               body=None, write=False, description=None):
    """One operation: its answers by status code, errors by reference to the shared ones."""
    # Any answer may meet a database outage; only writes are rate limited.
    codes = [*errors.split(), *(["429"] if write else []), "503"]
    responses = {**ok, **{code: ERRORS[code][0] for code in codes}}
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": list(parameters),
        "security": WRITER if write else READER,
        "responses": responses,
    }
    if description:
        operation["description"] = description
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def _links(**targets: dict) -> dict:
    """OpenAPI links from an answer to the operations it leads to, with their parameters."""
    return {
        name: {"operationId": name, "parameters": parameters}
        for name, parameters in targets.items()
    }


# What a client does next with an answer: a new story gets entries, an entry is read, edited
# (If-Match: the ETag it came with) and deleted. The stateful fuzzer follows these chains.
IN_STORY = {"slug": "$response.body#/slug"}
THE_ENTRY = {"slug": "$response.body#/story", "entry_id": "$response.body#/id"}
AT_VERSION = {**THE_ENTRY, "header.If-Match": "$response.header.ETag"}
STORY_LINKS = _links(
    getStory=IN_STORY, updateStory=IN_STORY, createEntry=IN_STORY, listEntries=IN_STORY,
    listEvents=IN_STORY,
)
ENTRY_LINKS = _links(getEntry=THE_ENTRY, updateEntry=AT_VERSION, deleteEntry=AT_VERSION)

# Rules across fields, which marshmallow checks in code and JSON Schema states with if/then.
ARCHIVED = {"properties": {"archived": {"const": True}}, "required": ["archived"]}
ENDED = {"properties": {"status": {"const": "ended"}}}
COVER = {"properties": {"cover_url": {"type": "string", "minLength": 1}}, "required": ["cover_url"]}
# A description must keep a character once cleaned: tags, spaces and control characters go.
SEEN = r"[^\s<>" + schemas.INVISIBLE + "]"
DESCRIBED = {"properties": {"cover_alt": {"type": "string", "pattern": SEEN}},
             "required": ["cover_alt"]}
STORY_RULES = [{"if": COVER, "then": DESCRIBED}]
BODY_RULES = {
    # A new story starts as a draft, so archiving it needs status ended in the same body.
    "StoryCreate": {"allOf": [*STORY_RULES,
                              {"if": ARCHIVED, "then": {**ENDED, "required": ["status"]}}]},
    "StoryUpdate": {"allOf": [*STORY_RULES, {"if": ARCHIVED, "then": ENDED}]},
    "EntryUpdate": {"minProperties": 1},  # an edit must change something
}

NOT_MODIFIED = {"304": {"description": "The client's copy (If-None-Match) is current."}}
STORY = ["slug"]
ENTRY = ["slug", "entry_id"]
ENTRY_HEADERS = {**ETAG, **LOCATION}
PATHS = {
    "/api/stories": {
        "get": _operation(
            "listStories",
            "Stories, newest first; drafts only for token holders.",
            {"200": _json("StoryList", "The stories.")},
            "401",
        ),
        "post": _operation(
            "createStory",
            "Create a story.",
            {"201": _json("Story", "The new story.", LOCATION, STORY_LINKS)},
            "400 401 403 409 413 422",
            body="StoryCreate",
            write=True,
            description="A taken slug is a 409.",
        ),
    },
    "/api/stories/{slug}": {
        "get": _operation(
            "getStory",
            "One story.",
            {"200": _json("Story", "The story.", links=STORY_LINKS), **NOT_MODIFIED},
            "401 404",
            parameters=[*STORY, "if_none_match"],
        ),
        "patch": _operation(
            "updateStory",
            "Change a story; readers get a story.updated event.",
            {"200": _json("Story", "The changed story.", links=STORY_LINKS)},
            "400 401 403 404 409 413 422",
            parameters=STORY,
            body="StoryUpdate",
            write=True,
            description="`archived: true` without `status: ended` is a 409 unless the story"
            " has ended.",
        ),
    },
    "/api/stories/{slug}/entries": {
        "get": _operation(
            "listEntries",
            "Published entries, newest first; follow `next` to page back.",
            {"200": _json("EntryPage", "A page of entries."), **NOT_MODIFIED},
            "400 401 404",
            parameters=[*STORY, "entries_limit", "before", "if_none_match"],
            description="`before` must name an entry of this story, else 404.",
        ),
        "post": _operation(
            "createEntry",
            "Publish an entry; an Idempotency-Key makes retries safe.",
            {
                "200": _json(
                    "Entry", "A retry: the entry the key first made.", ENTRY_HEADERS, ENTRY_LINKS
                ),
                "201": _json("Entry", "The new entry.", ENTRY_HEADERS, ENTRY_LINKS),
            },
            "400 401 403 404 409 413 422",
            parameters=[*STORY, "idempotency_key"],
            body="EntryCreate",
            write=True,
            description="Refused for reasons no schema states: an ended story (409), an"
            " Idempotency-Key used for another body (409), a `scheduled_for` that has passed"
            " (422), a body that is empty once its HTML is cleaned (422).",
        ),
    },
    "/api/stories/{slug}/entries/{entry_id}": {
        "get": _operation(
            "getEntry",
            "One published entry; its ETag is its version.",
            {"200": _json("Entry", "The entry.", ETAG, ENTRY_LINKS), **NOT_MODIFIED},
            "401 404",
            parameters=[*ENTRY, "if_none_match"],
        ),
        "patch": _operation(
            "updateEntry",
            "Edit or pin an entry; its version goes up by one.",
            {"200": _json("Entry", "The changed entry.", ETAG, ENTRY_LINKS)},
            "400 401 403 404 409 412 413 422",
            parameters=[*ENTRY, "if_match"],
            body="EntryUpdate",
            write=True,
            description="If-Match naming an older version is a 412 with the entry as it is"
            " now; a body that is empty once its HTML is cleaned is a 422. A `poll` the entry's"
            " state refuses is a 409: closing or changing a poll the entry does not have (send"
            " a question and answers to add one), or new answers once readers have voted.",
        ),
        "delete": _operation(
            "deleteEntry",
            "Delete an entry; readers see it disappear.",
            {"204": {"description": "Deleted."}},
            "400 401 403 404 412",
            parameters=[*ENTRY, "if_match"],
            write=True,
            description="If-Match naming an older version is a 412 with the entry as it is now.",
        ),
    },
    "/api/stories/{slug}/questions": {
        # The one write open to anonymous readers: no token, and limited per address.
        "post": {**_operation(
            "askQuestion",
            "Send the newsroom a reader's question; nobody else sees it unless it is published.",
            {"202": _json("QuestionReceived", "Received, for the desk to read.")},
            "400 401 403 404 409 413 422",
            parameters=STORY,
            body="QuestionCreate",
            write=True,
            description="No token needed. Refused when the story is not taking questions (its"
            " `questions_open` is false, or it is not live: 409, as when too many are waiting),"
            " for a sender the desk has blocked (403), an email the server cannot read as one"
            " (422), a body over 16 KiB (413), and past QUESTION_LIMIT per address (429)."
            " A filled `website` (a field for bots) gets the same 202 and nothing is kept.",
        ), "security": READER},
    },
    "/api/stories/{slug}/events": {
        "get": _operation(
            "listEvents",
            "Events with seq > after, in order, as the WebSocket sends them.",
            {"200": _json("EventPage", "A page of events."), **NOT_MODIFIED},
            "400 401 404",
            parameters=[*STORY, "after", "events_limit", "if_none_match"],
        ),
    },
}
PATHS["/api/polls/{poll_id}/votes"] = {
    "post": {
        **_operation(
            "castVote",
            "A reader's vote in a poll; the answer holds the tallies with it counted.",
            {"201": _json("Vote", "Counted: the poll with its tallies now.")},
            "400 401 403 404 409 413 422",
            parameters=["poll_id"],
            body="VoteCreate",
            write=True,
            description="No token needed: readers vote anonymously, once per `voter` token"
            " (a second vote is a 409), until the poll closes (then 409), at most VOTE_LIMIT"
            " times per address (429). An `option` the poll does not have is a 422."
            " Readers see the tallies in `poll.updated` events, at most one a second per poll.",
        ),
        "security": READER,
    },
}
PATHS["/api/stories/{slug}/seen"] = {
    "post": {
        **_operation(
            "countSeenEntries",
            "The reader page's beacon: entries that were on screen, each counted once per batch.",
            {"204": {"description": "Counted."}},
            "400 401 403 404 413 422",
            parameters=STORY,
            body="SeenEntries",
            write=True,
            description="No token needed, no cookie, nothing about the reader kept: each listed"
            " entry published in the story gets one more reader in its `seen` count; other ids"
            " count nothing. At most 50 ids (422), a body over 2 KiB is a 413, more than"
            " SEEN_LIMIT batches per address a 429, so one address adds at most that to an"
            " entry.",
        ),
        "security": READER,
    },
}

# A story's audience (liveblog/analytics/stats.py), the numbers the desk's analytics page shows.
_TIME = {"type": "string", "format": "date-time"}
_COUNT = {"type": "integer", "minimum": 0}
_SOURCES = {"type": "array", "description": "The 20 hosts with the most views, most first.",
            "items": {"type": "object", "required": ["host", "views", "uniques"],
                      "properties": {"host": {"type": "string"}, "views": _COUNT,
                                     "uniques": {**_COUNT, "description": "Visitor-days: each"
                                                 " day's new visitors, added up."}}}}
STATS_SCHEMAS = {"StoryStats": {
    "type": "object",
    "required": ["story", "generated_at", "peak", "readers", "entries", "days", "referrers",
                 "sites"],
    "properties": {
        "story": {"type": "string", "description": "The story's slug."},
        "generated_at": _TIME,
        "peak": {"type": "object", "required": ["readers", "at"], "properties": {
            "readers": _COUNT, "at": {"type": ["string", "null"], "format": "date-time"}}},
        "readers": {"type": "array", "description": "Open readers in every process, sampled"
                    " every 10 s, oldest first.", "items": {
                        "type": "object", "required": ["at", "readers"],
                        "properties": {"at": _TIME, "readers": _COUNT}}},
        "entries": {"type": "array", "description": "Published entries, oldest first:"
                    " readers connected when each went out, and readers who saw it on screen.",
                    "items": {"type": "object",
                              "required": ["id", "published_at", "connected", "seen"],
                              "properties": {"id": {"type": "integer"}, "published_at": _TIME,
                                             "connected": _COUNT, "seen": _COUNT}}},
        "days": {"type": "array", "description": "Views and new visitors (an estimate made"
                 " without cookies) per UTC day, of the story page and of the embed.", "items": {
                     "type": "object",
                     "required": ["day", "page_views", "page_uniques", "embed_views",
                                  "embed_uniques"],
                     "properties": {"day": {"type": "string", "format": "date"},
                                    "page_views": _COUNT, "page_uniques": _COUNT,
                                    "embed_views": _COUNT, "embed_uniques": _COUNT}}},
        "referrers": {**_SOURCES, "description": "Other sites readers came from (host only)."},
        "sites": {**_SOURCES, "description": "Sites that embed the story (host only)."},
    },
}}
PATHS["/api/stories/{slug}/stats"] = {
    "get": {
        **_operation(
            "getStoryStats",
            "A story's audience: readers over time, peak, visits, referrers, embedding sites,"
            " each entry's reach.",
            {"200": _json("StoryStats", "The numbers the desk's analytics page shows.")},
            "401 403 404",
            parameters=STORY,
            description="Admins only (other roles: 403). The same numbers as the desk's"
            " analytics page and its CSV; docs/analytics.md says what is counted.",
        ),
        "security": WRITER,
    },
}

# Web Push alerts (liveblog/alerts/): the page's own calls, open to anonymous readers. The rules
# are alerts/subscriptions.py's; the layers keep api/ from importing it, so they are restated.
_BASE64URL = "^[A-Za-z0-9_-]{%d}=?=?$"
_PUSH_ENDPOINT = "^https://[A-Za-z0-9.-]+(/[!-~]*)?$"
PUSH_SCHEMAS = {
    "PushKey": {"type": "object", "required": ["key"], "properties": {"key": {
        "type": "string", "description": "The VAPID public key: a P-256 point, base64url."}}},
    "PushSubscriptionCreate": {
        "type": "object",
        "description": "What the browser's PushSubscription.toJSON() gives.",
        "required": ["endpoint", "keys"],
        "additionalProperties": False,
        "properties": {
            "endpoint": {"type": "string", "minLength": 1, "maxLength": 1000,
                         "pattern": _PUSH_ENDPOINT,
                         "description": "The push service's https:// URL (no port, no user);"
                         " its host must be a known push service's."},
            "expirationTime": {"type": ["number", "null"]},
            "keys": {
                "type": "object",
                "required": ["p256dh", "auth"],
                "additionalProperties": False,
                "properties": {
                    "p256dh": {"type": "string", "pattern": _BASE64URL % 87},
                    "auth": {"type": "string", "pattern": _BASE64URL % 22},
                },
            },
        },
    },
    "PushSubscriptionDelete": {
        "type": "object", "required": ["endpoint"], "additionalProperties": False,
        "properties": {"endpoint": {"type": "string", "minLength": 1, "maxLength": 1000}},
    },
    "PushSubscribed": {"type": "object", "required": ["status"],
                       "properties": {"status": {"const": "subscribed"}}},
}
PATHS["/api/push/key"] = {
    "get": _operation(
        "getPushKey",
        "The server's VAPID public key, the applicationServerKey of PushManager.subscribe.",
        {"200": _json("PushKey", "The key.")},
        "401",
    ),
}
PATHS["/api/stories/{slug}/push-subscriptions"] = {
    "post": {
        **_operation(
            "subscribeToAlerts",
            "Ask for a Web Push alert each time an entry of the story is marked key.",
            {"201": _json("PushSubscribed", "Subscribed; only later key entries are sent.")},
            "400 401 403 404 409 413 422",
            parameters=STORY,
            body="PushSubscriptionCreate",
            write=True,
            description="No token needed. The endpoint must be a known push service's https"
            " URL, the keys a P-256 point and a 16-byte secret (422 otherwise); a story that is"
            " not live is a 409, a body over 4 KiB a 413, more than PUSH_LIMIT per address a"
            " 429. The same endpoint again replaces its keys. Nothing else about the reader is"
            " kept.",
        ),
        "security": READER,
    },
    "delete": {
        **_operation(
            "unsubscribeFromAlerts",
            "Stop the alerts to this endpoint; an endpoint not subscribed is fine too.",
            {"204": {"description": "Unsubscribed."}},
            "400 401 403 404 413 422",
            parameters=STORY,
            body="PushSubscriptionDelete",
            write=True,
            description="No token needed; counted against PUSH_LIMIT per address like a"
            " subscribe.",
        ),
        "security": READER,
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
        "VoteCreate",
        "Vote",
        "Error",
    ):
        spec.components.schema(name, schema=getattr(schemas, name))
    for name in ("QuestionCreate", "QuestionReceived"):
        spec.components.schema(name, schema=getattr(questions, name))
    spec.components.schema("SeenEntries", schema=seen.SeenEntries)
    for name, schema in {**PUSH_SCHEMAS, **STATS_SCHEMAS}.items():
        spec.components.schema(name, component=schema)
    spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "An API token."}
    )
    for name, parameter in PARAMETERS.items():
        spec.components.parameter(name, parameter["in"], parameter)
    for name, description in ERRORS.values():
        spec.components.response(name, _json("Error", description))
    for path, operations in PATHS.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    for name, rules in BODY_RULES.items():
        document["components"]["schemas"][name].update(rules)
    return document


@bp.get("/openapi.json")
def openapi_json():
    """The spec; it changes only with a deploy."""
    caching.validate(f'"openapi.{caching.release()}"', None)
    return jsonify(build_spec())


@bp.get("/docs")
def docs():
    """A readable reference page for the spec."""
    return render_template("api_docs.html")
