"""Marshmallow schemas of the JSON API: request bodies checked before publishing, and answers.

The request schemas are made from validation.py's rules (types, lengths, choices, which fields
exist), so the API, the desk and the service share one statement of each; validation.py stays
the domain check (clean HTML, time zones, label formats). openapi.py builds the spec from both.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from liveblog.content.labels import ALLOWED_DIRECTIVES, zone_names
from liveblog.content.sanitize import NONCHARACTERS
from liveblog.database import MAX_INTEGER
from liveblog.errors import Invalid
from liveblog.models import EntryStatus, EventType, StoryStatus
from liveblog.publishing import validation
from liveblog.publishing.validation import (
    ENTRY,
    POLL,
    SCHEDULED_FOR,
    STORY,
    VOTE,
    Rule,
    known_fields,
)

# A JSON string may hold NUL or half a surrogate pair; no database or page can, so they get 422.
# Only NUL is stated: validators built on Rust (schemathesis's) cannot hold a lone surrogate.
# Said as what a text must not be: a pattern to match makes generators (schemathesis's coverage
# phase) build matches as long as maxLength allows, a minute for a 100,000-character body.
HAS_NUL = {"type": "string", "pattern": r"\u0000"}
# What the server drops from text (content/sanitize.py): controls and noncharacters, as a class.
INVISIBLE = r"\u0000-\u001f\u007f-\u009f" + NONCHARACTERS
# Control characters and noncharacters are dropped and spaces trimmed (validation.py), so a
# title or body needs one character that survives.
BLANK = {"type": "string", "pattern": rf"^[\s{INVISIBLE}]*$"}
NUL_OR_BLANK = {"anyOf": [BLANK, HAS_NUL]}
# What the spec states of formats the server checks in code (validation.py, labels.py).
WEB_ADDRESS = r"https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?(?:[/?#][!-~]*)?"
COVER_URL = rf"^(?:{WEB_ADDRESS}|/(?!/)[!-~]*)?$"
FEATURED_URL = rf"^(?:{WEB_ADDRESS})?$"
# A character that survives cleaning (validation.py drops controls and noncharacters).
VISIBLE = rf"[^\s{INVISIBLE}]"
LABEL_FORMAT = (
    rf"^(?=[\s\S]*{VISIBLE})(?:[^%\u0000]|%[{''.join(sorted(ALLOWED_DIRECTIVES))}])*$"
)

# Messages in validation.py's voice, so a client sees one style whichever check spoke.
FIELD_MESSAGES = {"required": validation.REQUIRED, "null": "must not be null"}


class Text(fields.String):
    """A JSON string the spec calls text: no NUL, no half of a surrogate pair (none is kept)."""

    default_error_messages = {**FIELD_MESSAGES, "invalid": validation.NOT_A_STRING}

    def __init__(self, **kwargs):
        validators = kwargs.get("validate") or []
        validators = validators if isinstance(validators, list) else [validators]
        metadata = kwargs.get("metadata", {})
        if "not" not in metadata and not any(
            isinstance(check, validate.Regexp) for check in validators
        ):
            kwargs["metadata"] = {"not": HAS_NUL, **metadata}
        super().__init__(**kwargs)


class Flag(fields.Boolean):
    """A JSON true or false; marshmallow's Boolean would also take 1, "yes" and "on"."""

    default_error_messages = {**FIELD_MESSAGES, "invalid": validation.NOT_A_FLAG}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Chars(validate.Length):
    """A rule's length, read from the rule at each check; the message names the bound crossed."""

    def __init__(self, rule: Rule):  # not Length's: min and max are the rule's, read live
        self.rule = rule
        self.equal = None
        self.error = None

    @property
    def min(self) -> int | None:
        """The rule's least length; None when any will do (apispec reads it for minLength)."""
        return self.rule.min_chars or None

    @property
    def max(self) -> int | None:
        """The rule's greatest length (apispec reads it for maxLength)."""
        return self.rule.max_chars

    def __call__(self, value):
        if self.min is not None and len(value) < self.min:
            raise ValidationError(
                validation.EMPTY if self.min == 1 else f"must be at least {self.min} characters"
            )
        if self.max is not None and len(value) > self.max:
            raise ValidationError(validation.too_long(self.max))
        return value


class OffsetTime(fields.String):
    """An ISO 8601 date and time that says its UTC offset; a bare local time is ambiguous."""

    default_error_messages = {
        **FIELD_MESSAGES,
        "invalid": validation.NOT_A_STRING,
        "format": "is not an ISO 8601 date and time",
        "offset": "must carry a UTC offset, e.g. 2026-11-01T01:30:00-05:00 or ...Z",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > SCHEDULED_FOR.max_chars:
            raise self.make_error("format")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.make_error("format") from None
        if moment.tzinfo is None:
            raise self.make_error("offset")
        return moment.astimezone(UTC)


class ScheduleTime(OffsetTime):
    """A time of a story's schedule: an OffsetTime in the years validation.py allows."""

    default_error_messages = {**OffsetTime.default_error_messages,
                              "years": validation.SCHEDULE_YEARS_MESSAGE}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not validation.SCHEDULE_YEARS.match(value):
            raise self.make_error("years")
        return super()._deserialize(value, attr, data, **kwargs)


class Address(validate.Regexp):
    """An address in the form the spec states, with validation.py's message."""

    def __init__(self, pattern: str):
        super().__init__(pattern, error=validation.NOT_AN_ADDRESS)

    def __call__(self, value: str) -> str:
        # fullmatch: Python's $ also matches before a final newline, JSON Schema's does not.
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class Index(fields.Integer):
    """A whole number as JSON Schema counts one: 2 and 2.0 alike, never true or "2"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return super()._deserialize(value, attr, data, **kwargs)


class Distinct(validate.Validator):
    """A list that names each item once (JSON Schema's uniqueItems)."""

    def __call__(self, value):
        if len(set(value)) != len(value):
            raise ValidationError("must name each author once")
        return value


class RequestSchema(Schema):
    """A request body: unknown fields are refused, and the spec says so."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": validation.UNKNOWN, "type": "must be a JSON object"}


# What the spec says of a field beyond its rule: what it is, and formats checked in code.
NOTES = {
    "body": {"description": "HTML (cleaned to an allowlist) or plain text."},
    "label": {"description": "Overrides the time label."},
    "pinned": {"description": "A key entry, listed in the LATEST box."},
    "correction": {"description": "A note shown with the time of the correction."},
    # The zones this server knows, listed, so a client cannot send one it would refuse.
    "timezone": {"description": "An IANA time zone, e.g. Europe/London.",
                 "enum": sorted(zone_names())},
    "label_format": {"description": "A short strftime format using %H %M %Z and friends.",
                     "pattern": LABEL_FORMAT},
    "language": {"description": "The page's language (BCP 47): its lang and direction, labels,"
                 " dates and interface words; a new story's label format follows it."},
    "archived": {"description": "Only an ended story can be archived."},
    "cover_url": {"description": "An http(s) address, or a path on this site."},
    "cover_alt": {"description": "Required with a cover picture."},
    "featured_url": {"description": "An http(s) address."},
    "questions_open": {"description": "Readers may send questions (POST .../questions)."},
    "key_figures": {"description": "The box at the top of the page: a scoreboard or up to 8"
                    " labelled figures, in plain text; null takes it down."},
    "opens_at": {"description": "A draft story goes live at this time (with its UTC offset);"
                 " until then its page says when it starts. Cleared once it opens."},
    "closes_at": {"description": "A live story ends at this time, as if an editor ended it."
                  " Cleared once it ends."},
    "archive_after_hours": {"description": "End and archive the story once it has had no entry"
                            " for this many hours. Cleared once it is archived."},
    "authors": {"description": "Who the entry is by, as user ids in byline order: the first"
                " is its author, the rest co-authors. Left out of a new entry: the token's"
                " user.", "uniqueItems": True},
}
SCHEDULED_FOR_NOTE = (
    "Publish at this time instead of now (the entry is `scheduled` until then). It must carry"
    " its UTC offset (`-05:00`, `Z`): a local time alone can be missing or doubled at a DST"
    " change, so it is refused with 422."
)


def _box_text(rule: Rule) -> dict:
    """A text of the key-figures box in JSON Schema: its length, and visible when it must be."""
    text = {"type": "string", "maxLength": rule.max_chars}
    if rule.visible:  # tags and bidi controls go too (validation.BIDI_CONTROLS)
        seen = rf"[^\s<>\u202a-\u202e\u2066-\u2069{INVISIBLE}]"
        return {**text, "minLength": 1, "pattern": seen, "not": HAS_NUL}
    return {"anyOf": [{**text, "not": HAS_NUL}, {"type": "null"}]}


def _box_object(rules: dict[str, Rule], kind: str | None = None, **parts: dict) -> dict:
    """One object of the box in JSON Schema: its rules' fields and nothing else."""
    named = {name: rule for name, rule in rules.items() if rule.only in (None, kind)}
    properties = {}
    for name, rule in named.items():
        if name in parts:
            properties[name] = parts[name]
        elif rule.kind == "index":
            low, high = rule.items
            properties[name] = {"type": "integer", "minimum": low, "maximum": high}
        elif rule.kind == "choice":
            properties[name] = {"const": kind}
        else:
            properties[name] = _box_text(rule)
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": [name for name, rule in named.items() if rule.required]}


def key_figures_schema() -> dict:
    """The key-figures box as JSON Schema, made from validation.py's rules."""
    team = _box_object(validation.TEAM)
    fewest, most = validation.KEY_FIGURES["items"].items
    items = {"type": "array", "minItems": fewest, "maxItems": most,
             "items": _box_object(validation.FIGURE)}
    return {"oneOf": [
        _box_object(validation.KEY_FIGURES, "scoreboard", home=team, away=team),
        _box_object(validation.KEY_FIGURES, "figures", items=items),
        {"type": "null"},
    ]}


def _checks(rule: Rule) -> list:
    """The marshmallow validators that state a rule."""
    checks = []
    if rule.choices:
        checks.append(validate.OneOf(rule.choices, error=validation.not_a_choice(rule)))
    if rule.max_chars is not None:
        checks.append(Chars(rule))
    if rule.pattern is not None:
        checks.append(validate.Regexp(rule.pattern, error=rule.pattern_message))
    if rule.kind == "url":
        # Checked here as the spec states it, not only once cleaned: the spec cannot say
        # which characters cleaning drops, so what it refuses the API refuses too.
        checks.append(Address(COVER_URL if rule.local else FEATURED_URL))
    return checks


def _field(name: str, rule: Rule, partial: bool) -> fields.Field:
    """The schema field for one rule: a flag, or text with the rule's checks."""
    required = rule.required and not partial
    notes = NOTES.get(name, {})
    if rule.kind == "flag":
        return Flag(required=required, metadata=notes)
    if rule.kind == "box":  # checked by validation.py, stated from its rules
        return fields.Raw(required=required, allow_none=True,
                          metadata={**notes, **key_figures_schema()})
    if rule.kind == "time":  # a story's schedule: years the spec states, none that overflow
        return ScheduleTime(allow_none=rule.nullable, metadata={
            **notes, "format": "date-time", "maxLength": rule.max_chars,
            "pattern": validation.SCHEDULE_YEARS.pattern})
    if rule.kind == "index":
        wrong = "must be a whole number from {} to {}".format(*rule.items)
        return Index(strict=True, allow_none=rule.nullable, metadata=notes,
                     validate=validate.Range(*rule.items, error=wrong),
                     error_messages={**FIELD_MESSAGES, "invalid": wrong})
    if rule.kind == "ids":  # user ids; whether each exists is the service's to say
        fewest, most = rule.items
        wrong = f"must be a list of {fewest} to {most} user ids"
        ids = Index(strict=True, validate=validate.Range(1, MAX_INTEGER, error=wrong),
                    error_messages={"invalid": wrong})
        return fields.List(ids, required=required, metadata=notes,
                           error_messages={**FIELD_MESSAGES, "invalid": wrong},
                           validate=[validate.Length(fewest, most, error=wrong), Distinct()])
    if rule.visible:
        notes = {**notes, "not": NUL_OR_BLANK}
    return Text(required=required, allow_none=rule.nullable, validate=_checks(rule),
                metadata=notes)


def _request_schema(name: str, rules: dict[str, Rule], partial: bool, **extra) -> type[Schema]:
    """A request body made from rules: each known field with its checks, nothing else."""
    made = {field: _field(field, rules[field], partial) for field in known_fields(rules, partial)}
    return RequestSchema.from_dict({**made, **extra}, name=name)


StoryCreate = _request_schema("StoryCreate", STORY, partial=False)
StoryUpdate = _request_schema("StoryUpdate", STORY, partial=True)
# A new entry is scheduled; an edit does not reschedule.
POLL_NOTES = {
    "options": {"description": "The answers, in the order readers see them."},
    "closes_at": {"description": "When voting ends (in the future, with its UTC offset);"
                                 " null: when an editor closes it."},
    "closed": {"description": "true closes the poll for good; its results stay."},
}


def _poll_field(name: str, partial: bool) -> fields.Field:
    """A poll's field from its rule: the answers are a list of texts, closes_at a time."""
    rule = POLL[name]
    if rule.kind == "list":
        fewest, most = rule.items
        answer = Text(validate=[Chars(rule)], metadata={"not": NUL_OR_BLANK})
        count = validate.Length(fewest, most, error=f"must be a list of {fewest} to {most} answers")
        return fields.List(answer, required=not partial, validate=count,
                           metadata=POLL_NOTES["options"])
    if rule.kind == "time":
        return OffsetTime(allow_none=True, metadata={
            **POLL_NOTES["closes_at"], "format": "date-time", "maxLength": rule.max_chars})
    return _field(name, rule, partial)


def _poll_schema(name: str, partial: bool) -> type[Schema]:
    made = {field: _poll_field(field, partial) for field in known_fields(POLL, partial)}
    return RequestSchema.from_dict(made, name=name)


PollCreate = _poll_schema("PollCreate", partial=False)
PollUpdate = _poll_schema("PollUpdate", partial=True)
POLL_NOTE = ("A poll under the entry: a question and 2 to 6 answers readers vote on"
             " (POST /api/polls/{poll_id}/votes).")
EntryCreate = _request_schema("EntryCreate", ENTRY, partial=False, scheduled_for=OffsetTime(
    metadata={"format": "date-time", "maxLength": SCHEDULED_FOR.max_chars,
              "description": SCHEDULED_FOR_NOTE},
), poll=fields.Nested(PollCreate, metadata={"description": POLL_NOTE}))
EntryUpdate = _request_schema("EntryUpdate", ENTRY, partial=True, poll=fields.Nested(
    PollUpdate, metadata={"description": POLL_NOTE + " An edit adds one, changes its question,"
                          " its answers (until the first vote) or its closing time, or closes it."},
))


class VoteCreate(RequestSchema):
    """A reader's vote: which answer, and the random token the reader's page keeps."""

    option = Index(strict=True, required=True,
                   validate=validate.Range(*VOTE["option"].items),
                   metadata={"description": "The answer's index, 0 first; one the poll"
                             " does not have is a 422."})
    voter = Text(required=True, validate=validate.Regexp(VOTE["voter"].pattern,
                                                         error=VOTE["voter"].pattern_message),
                 metadata={"description": "A random token the page keeps for this browser;"
                           " a second vote with it is a 409. Stored only as a hash."})


@functools.cache
def _reader_of(schema: type[Schema]) -> Schema:
    # One instance per request schema for the process: building one copies every declared
    # field (about 0.1 ms an API write or vote), and loading keeps nothing on the instance.
    return schema()


def load(schema: type[Schema], data: dict) -> dict:
    """The body as the schema reads it; raise Invalid (422) with one message per field."""
    try:
        return _reader_of(schema).load(data)
    except ValidationError as error:
        fields_at_fault = dict(_flattened(error.normalized_messages()))
        raise Invalid("Some fields are not valid.", fields_at_fault) from None


def _flattened(messages: dict, prefix: str = ""):
    """(field, sentence) pairs; a nested object's fields named by their path, e.g. poll.options."""
    for name, message in messages.items():
        if isinstance(message, dict):
            yield from _flattened(message, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", _sentence(message)


def _sentence(message) -> str:
    if isinstance(message, list):
        return "; ".join(_sentence(part) for part in message)
    return str(message)


# Answers. Nothing loads them: they document to_dict() for the spec, and the fuzzer holds the
# server to them.
Time = fields.DateTime  # UTC ISO 8601 with a trailing Z


class Cover(Schema):
    url = fields.String(required=True)
    alt = fields.String(required=True, allow_none=True)
    caption = fields.String(required=True, allow_none=True)
    credit = fields.String(required=True, allow_none=True)


class Featured(Schema):
    kicker = fields.String(required=True, allow_none=True)
    title = fields.String(required=True, allow_none=True)
    url = fields.String(required=True)


class Story(Schema):
    slug = fields.String(required=True)
    title = fields.String(required=True)
    summary = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf([*StoryStatus]))
    timezone = fields.String(required=True)
    label_format = fields.String(required=True)
    language = fields.String(required=True, validate=validate.OneOf(validation.STORY[
        "language"].choices), metadata=NOTES["language"])
    created_at = Time(required=True)
    updated_at = Time(required=True)
    ended_at = Time(required=True, allow_none=True)
    last_seq = fields.Integer(required=True, metadata={"description": "The newest event's seq."})
    archived = fields.Boolean(required=True)
    cover = fields.Nested(Cover, required=True, allow_none=True)
    featured = fields.Nested(Featured, required=True, allow_none=True)
    questions_open = fields.Boolean(required=True)
    key_figures = fields.Raw(required=True, allow_none=True,
                             metadata={**NOTES["key_figures"], **key_figures_schema()})
    opens_at = Time(required=True, allow_none=True, metadata=NOTES["opens_at"])
    closes_at = Time(required=True, allow_none=True, metadata=NOTES["closes_at"])
    archive_after_hours = fields.Integer(required=True, allow_none=True,
                                         metadata=NOTES["archive_after_hours"])


class StoryList(Schema):
    stories = fields.List(fields.Nested(Story), required=True)


class Author(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class Byline(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, allow_none=True,
                         metadata={"description": 'The job, e.g. "Correspondent in Kyiv".'})
    photo = fields.String(required=True, allow_none=True,
                          metadata={"description": "The picture's address (may be a path)."})


class Correction(Schema):
    note = fields.String(required=True)
    at = Time(required=True, allow_none=True)


class Poll(Schema):
    id = fields.Integer(required=True, metadata={"description": "What a vote names."})
    question = fields.String(required=True)
    options = fields.List(fields.String(), required=True)
    tallies = fields.List(fields.Integer(), required=True,
                          metadata={"description": "Votes per answer, in the answers' order."})
    closed = fields.Boolean(required=True, metadata={"description": "Closed: final results."})
    closes_at = Time(required=True, allow_none=True)
    entry = fields.Integer(metadata={"description": "In poll.updated events: the entry's id."})


class Vote(Schema):
    poll = fields.Nested(Poll, required=True)


class Entry(Schema):
    id = fields.Integer(required=True)
    story = fields.String(required=True, metadata={"description": "The story's slug."})
    seq = fields.Integer(
        required=True, metadata={"description": "Seq of the event that last changed it."}
    )
    status = fields.String(required=True, validate=validate.OneOf([*EntryStatus]))
    published_at = Time(required=True)
    updated_at = Time(required=True)
    label = fields.String(required=True, metadata={"description": 'e.g. "UPDATE 1600 GMT".'})
    label_override = fields.String(required=True, allow_none=True)
    headline = fields.String(required=True, allow_none=True)
    body_html = fields.String(required=True)
    pinned = fields.Boolean(required=True)
    key_order = fields.Integer(required=True)
    original = fields.Boolean(required=True)
    version = fields.Integer(required=True, metadata={"description": "What If-Match names."})
    author = fields.Nested(Author, required=True, allow_none=True)
    authors = fields.List(fields.Nested(Byline), required=True,
                          metadata={"description": "Bylines in order, the author first."})
    correction = fields.Nested(Correction, required=True, allow_none=True)
    poll = fields.Nested(Poll, required=True, allow_none=True)
    html = fields.String(required=True, metadata={"description": "The server-rendered entry."})


class EntryPage(Schema):
    entries = fields.List(fields.Nested(Entry), required=True)
    next = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The next, older page; null at the end."},
    )


class Event(Schema):
    type = fields.String(required=True, validate=validate.OneOf([*EventType]))
    seq = fields.Integer(required=True)
    entry = fields.Dict(metadata={"description": "The entry without html; only {id} if deleted."})
    html = fields.String()
    story = fields.Nested(Story)
    key_figures_html = fields.String(metadata={
        "description": "story.updated: the key-figures box as the page renders it."})
    poll = fields.Nested(Poll, metadata={"description": "poll.updated: the tallies now."})


class EventPage(Schema):
    events = fields.List(fields.Nested(Event), required=True)
    last_seq = fields.Integer(required=True)


class ErrorDetail(Schema):
    status = fields.Integer(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        data_key="fields",
        metadata={"description": "A message for each field at fault."},
    )
    current = fields.Nested(Entry, metadata={"description": "With 412: the entry as it is now."})


class Error(Schema):
    error = fields.Nested(ErrorDetail, required=True)
