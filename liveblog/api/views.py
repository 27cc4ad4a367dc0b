"""The JSON API under /api: stories, entries and the event log."""

from __future__ import annotations

import json
import re

from flask import Blueprint, Response, jsonify, request, url_for
from sqlalchemy import bindparam, select

from liveblog import publishing
from liveblog.analytics import stats
from liveblog.api import schemas
from liveblog.api.auth import current_api_user, token_required
from liveblog.content.rendering import entry_json
from liveblog.database import MAX_INTEGER
from liveblog.errors import LiveblogError, NotFound
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Role, Story, StoryStatus
from liveblog.queries import events_after, published_entries
from liveblog.web import caching
from liveblog.web.limits import limit_api_writes
from liveblog.web.params import Bounds, ascii_int

bp = Blueprint("api", __name__, url_prefix="/api")
limit_api_writes(bp)

WRITERS = (Role.ADMIN, Role.EDITOR)
MAX_INT = MAX_INTEGER  # larger numbers overflow PostgreSQL's INTEGER; nothing real is that big
# The integer parameters, read by _int_arg and documented by openapi.py from these alone.
ENTRY_ID = Bounds(1, MAX_INT)
ENTRIES_LIMIT = Bounds(1, 100, 20)
BEFORE = Bounds(1, MAX_INT)
AFTER = Bounds(0, MAX_INT, 0)
EVENTS_LIMIT = Bounds(1, 1000, 500)
# An entry's version as If-Match may name it: 3, "3" or W/"3", and the strong ETag compression
# gives ("3:gzip"). Nine digits: no entry is edited a billion times. The spec states the same.
IF_MATCH = re.compile(r'[0-9]{1,9}|(?:W/)?"[0-9]{1,9}(?::(?:br|gzip))?"')
# Idempotency keys are tokens (a UUID is usual): visible ASCII, no spaces.
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,200}")
# Built once: nearly every route asks it, and building it cost more than answering it.
STORY_BY_SLUG = select(Story).where(Story.slug == bindparam("slug"))
# On the table: a plain column query skips the ORM's compilation, half of what it cost.
STORY_ID_BY_SLUG = select(Story.__table__.c.id).where(Story.__table__.c.slug == bindparam("slug"))


class BadRequest(LiveblogError):
    status = 400


def _json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong with it."""
    raw = request.get_data(cache=True)
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8.") from None
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def _int_arg(name: str, bounds: Bounds) -> int | None:
    """A query parameter within its bounds, ASCII digits only; its default when not given."""
    values = request.args.getlist(name)
    if not values:
        return bounds.default
    # Taking the first of several, or reading "" as absent, would answer a request the spec
    # calls invalid as if it were another.
    number = ascii_int(values[0], maximum=bounds.high) if len(values) == 1 else None
    if number is None or number < bounds.low:
        raise BadRequest(f"'{name}' must be a whole number from {bounds.low} to {bounds.high}.")
    return number


def _if_match_version() -> int | None:
    """The version named by If-Match, accepting 3, "3" and W/"3"."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    if not IF_MATCH.fullmatch(header):
        raise BadRequest('If-Match must be the entry\'s version: 3, "3" or W/"3".')
    # Compression appends its coding to a strong ETag ("3:gzip"); the version is before it.
    return ascii_int(header.removeprefix("W/").strip('"').partition(":")[0])


def _story(slug: str) -> Story:
    """A story by slug; drafts only for token holders."""
    story = db.session.scalar(STORY_BY_SLUG, {"slug": slug})
    if story is None or (story.status == StoryStatus.DRAFT and current_api_user() is None):
        raise NotFound(f"No story called {slug!r}.")
    return story


def _story_id(slug: str) -> int:
    """The id of a story by slug, for a token holder's write: the change reads the story itself."""
    # Only the id: the publishing service locks the story and reads it under the lock, so
    # loading it here as well cost a second construction of the same object.
    story_id = db.session.scalar(STORY_ID_BY_SLUG, {"slug": slug})
    if story_id is None:
        raise NotFound(f"No story called {slug!r}.")
    return story_id


def _entry_id(entry_id: int) -> int:
    """The id from the URL; one too big for the database names no entry."""
    if entry_id > ENTRY_ID.high:
        raise NotFound("No such entry in this story.")
    return entry_id


def _entry(story: Story, entry_id: int) -> Entry:
    entry = db.session.get(Entry, _entry_id(entry_id))
    if entry is None or entry.story_id != story.id or entry.status != EntryStatus.PUBLISHED:
        raise NotFound("No such entry in this story.")
    return entry


def _entry_exists(story: Story, entry_id: int) -> bool:
    entry = db.session.get(Entry, entry_id)
    return entry is not None and entry.story_id == story.id


def _entry_response(entry: Entry, status: int = 200) -> Response:
    response = jsonify(entry_json(entry))
    response.status_code = status
    response.headers["ETag"] = f'"{entry.version}"'
    return response


@bp.get("/stories")
def list_stories():
    """Stories, newest first; drafts only for token holders."""
    query = select(Story).order_by(Story.created_at.desc(), Story.id.desc())
    if current_api_user() is None:
        query = query.where(Story.status != StoryStatus.DRAFT)
    return jsonify(stories=[story.to_dict() for story in db.session.scalars(query)])


@bp.post("/stories")
@token_required(*WRITERS)
def create_story():
    """Create a story."""
    story = publishing.create_story(schemas.load(schemas.StoryCreate, _json_body()),
                                    editor=current_api_user())
    response = jsonify(story.to_dict())
    response.status_code = 201
    response.headers["Location"] = url_for(".get_story", slug=story.slug)
    return response


@bp.get("/stories/<slug>")
def get_story(slug: str):
    """One story."""
    story = _story(slug)
    caching.revalidate(story, "story")
    return jsonify(story.to_dict())


@bp.patch("/stories/<slug>")
@token_required(*WRITERS)
def update_story(slug: str):
    """Change a story's title, summary, status, timezone or label format."""
    body = schemas.load(schemas.StoryUpdate, _json_body())
    story = publishing.update_story(_story_id(slug), body, editor=current_api_user())
    return jsonify(story.to_dict())


@bp.get("/stories/<slug>/entries")
def list_entries(slug: str):
    """Published entries, newest first, paged with ?before=<entry id>&limit=."""
    story = _story(slug)
    limit = _int_arg("limit", ENTRIES_LIMIT)
    before = _int_arg("before", BEFORE)
    if before is not None and not _entry_exists(story, before):
        # The page anchored at an entry the story does not have does not exist.
        raise NotFound(f"No entry {before} in this story to page back from.")
    caching.revalidate(story, "entries")
    entries = published_entries(story.id, limit + 1, before)
    more = len(entries) > limit
    entries = entries[:limit]
    next_url = None
    if more:
        next_url = url_for(".list_entries", slug=slug, before=entries[-1].id, limit=limit)
    return jsonify(entries=[entry_json(entry) for entry in entries], next=next_url)


@bp.post("/stories/<slug>/entries")
@token_required(*WRITERS)
def create_entry(slug: str):
    """Publish an entry, now or at `scheduled_for`; an Idempotency-Key makes retries safe."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not IDEMPOTENCY_KEY.fullmatch(key):
        raise BadRequest("Idempotency-Key must be 1 to 200 visible ASCII characters.")
    story_id = _story_id(slug)
    body = schemas.load(schemas.EntryCreate, _json_body())
    scheduled_for = body.pop("scheduled_for", None)
    status = EntryStatus.SCHEDULED if scheduled_for else EntryStatus.PUBLISHED
    entry, created = publishing.create_entry(story_id, current_api_user(), body, key,
                                             status=status, scheduled_for=scheduled_for)
    response = _entry_response(entry, 201 if created else 200)
    response.headers["Location"] = url_for(".get_entry", slug=slug, entry_id=entry.id)
    return response


@bp.get("/stories/<slug>/entries/<int:entry_id>")
def get_entry(slug: str, entry_id: int):
    """One published entry; its validator is its version, as for If-Match."""
    entry = _entry(_story(slug), entry_id)
    caching.validate(f'"{entry.version}"', entry.updated_at)
    return _entry_response(entry)


@bp.patch("/stories/<slug>/entries/<int:entry_id>")
@token_required(*WRITERS)
def update_entry(slug: str, entry_id: int):
    """Edit or pin an entry; If-Match with a stale version gets 412 and the current entry."""
    story_id = _story_id(slug)
    body = schemas.load(schemas.EntryUpdate, _json_body())
    entry = publishing.update_entry(
        story_id, _entry_id(entry_id), body, _if_match_version(), editor=current_api_user()
    )
    return _entry_response(entry)


@bp.delete("/stories/<slug>/entries/<int:entry_id>")
@token_required(*WRITERS)
def delete_entry(slug: str, entry_id: int):
    """Delete an entry; readers see it disappear."""
    publishing.delete_entry(_story_id(slug), _entry_id(entry_id), _if_match_version())
    return "", 204


@bp.get("/stories/<slug>/events")
def list_events(slug: str):
    """Events with seq > after, in order, exactly as the WebSocket sends them."""
    story = _story(slug)
    after = _int_arg("after", AFTER)
    limit = _int_arg("limit", EVENTS_LIMIT)
    rows = events_after(story.id, after, limit)
    # A full page that stops short of the newest event can never change: its events are fixed
    # and no new one can join it, so its validator ignores last_seq and a revalidation is a 304.
    # (Its last_seq may age; readers take it as "at least".)
    if len(rows) == limit and rows[-1].seq < story.last_seq:
        caching.validate(caching.range_etag(story, after, limit), None, caching.CLOSED_RANGE)
    else:
        caching.revalidate(story, "events", caching.OPEN_RANGE)
    # Stored payloads are already JSON; splice them instead of parsing and re-serialising.
    events = ",".join(row.payload for row in rows)
    body = f'{{"events":[{events}],"last_seq":{story.last_seq}}}'
    return Response(body, mimetype="application/json")


@bp.get("/stories/<slug>/stats")
@token_required(Role.ADMIN)
def story_stats(slug: str):
    """Readers over time, visits, referrers, embedding sites and each entry's reach (admins)."""
    return jsonify(stats.story_stats(_story(slug)))
