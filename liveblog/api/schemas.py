"""Marshmallow schemas of the JSON API: request bodies checked before publishing, and answers.

The request schemas check shape (types, unknown fields, lengths); validation.py stays the domain
check (clean HTML, time zones, label formats). openapi.py builds the published spec from both.
"""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from liveblog.content.labels import ALLOWED_DIRECTIVES, zone_names
from liveblog.errors import Invalid
from liveblog.models import EntryStatus, EventType, StoryStatus
from liveblog.publishing.validation import (
    MAX_BODY_CHARS,
    MAX_CORRECTION_CHARS,
    MAX_HEADLINE_CHARS,
    MAX_LABEL_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    SLUG,
    STORY_EXTRAS,
)

# A JSON string may hold NUL or half a surrogate pair; no database or page can, so they get 422.
# Only NUL is stated: validators built on Rust (schemathesis's) cannot hold a lone surrogate.
# Said as what a text must not be: a pattern to match makes generators (schemathesis's coverage
# phase) build matches as long as maxLength allows, a minute for a 100,000-character body.
HAS_NUL = {"type": "string", "pattern": r"\u0000"}
# Control characters and noncharacters are dropped and spaces trimmed (validation.py), so a
# title or body needs one character that survives.
BLANK = {"type": "string", "pattern": r"^[\s\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]*$"}
NUL_OR_BLANK = {"anyOf": [BLANK, HAS_NUL]}
# What the spec states of formats the server checks in code (validation.py, labels.py).
WEB_ADDRESS = r"https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]{1,5})?(?:[/?#][!-~]*)?"
COVER_URL = rf"^(?:{WEB_ADDRESS}|/(?!/)[!-~]*)?$"
FEATURED_URL = rf"^(?:{WEB_ADDRESS})?$"
# A character that survives cleaning (validation.py drops controls and noncharacters).
VISIBLE = r"[^\s\u0000-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]"
LABEL_FORMAT = (
    rf"^(?=[\s\S]*{VISIBLE})(?:[^%\u0000]|%[{''.join(sorted(ALLOWED_DIRECTIVES))}])*$"
)

# Field messages in the voice of validation.py, so a client sees one style whichever check spoke.
FIELD_MESSAGES = {"required": "is required", "null": "must not be null"}


class Text(fields.String):
    """A JSON string the spec calls text: no NUL, no half of a surrogate pair (none is kept)."""

    default_error_messages = {**FIELD_MESSAGES, "invalid": "must be a string"}

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

    default_error_messages = {**FIELD_MESSAGES, "invalid": "must be true or false"}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Chars(validate.Length):
    """A length check whose message names the bound that was crossed."""

    def __call__(self, value):
        if self.min is not None and len(value) < self.min:
            raise ValidationError(
                "must not be empty" if self.min == 1 else f"must be at least {self.min} characters"
            )
        if self.max is not None and len(value) > self.max:
            raise ValidationError(f"must be at most {self.max} characters")
        return value


class OffsetTime(fields.String):
    """An ISO 8601 date and time that says its UTC offset; a bare local time is ambiguous."""

    default_error_messages = {
        **FIELD_MESSAGES,
        "invalid": "must be a string",
        "format": "is not an ISO 8601 date and time",
        "offset": "must carry a UTC offset, e.g. 2026-11-01T01:30:00-05:00 or ...Z",
    }

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 40:
            raise self.make_error("format")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise self.make_error("format") from None
        if moment.tzinfo is None:
            raise self.make_error("offset")
        return moment.astimezone(UTC)


class Address(validate.Regexp):
    """An address in the form the spec states, with validation.py's message."""

    def __init__(self, pattern: str):
        super().__init__(pattern, error="must be an http(s) address")

    def __call__(self, value: str) -> str:
        # fullmatch: Python's $ also matches before a final newline, JSON Schema's does not.
        if self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


def _one_of(choices) -> validate.OneOf:
    values = [str(choice) for choice in choices]
    return validate.OneOf(values, error=f"must be one of {', '.join(values)}")


class RequestSchema(Schema):
    """A request body: unknown fields are refused, and the spec says so."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "is not a known field", "type": "must be a JSON object"}


class StoryUpdate(RequestSchema):
    title = Text(validate=Chars(min=1, max=MAX_TITLE_CHARS), metadata={"not": NUL_OR_BLANK})
    summary = Text(validate=Chars(max=MAX_SUMMARY_CHARS))
    status = Text(validate=_one_of(StoryStatus))
    timezone = Text(
        validate=Chars(min=1, max=64),
        # The zones this server knows, listed, so a client cannot send one it would refuse.
        metadata={"description": "An IANA time zone, e.g. Europe/London.",
                  "enum": sorted(zone_names())},
    )
    label_format = Text(
        validate=Chars(min=1, max=64),
        metadata={"description": "A short strftime format using %H %M %Z and friends.",
                  "pattern": LABEL_FORMAT},
    )
    archived = Flag(metadata={"description": "Only an ended story can be archived."})
    # The optional cover picture and featured link; null or "" clears one.
    cover_url = Text(
        allow_none=True,
        # Checked here as the spec states it, not only once cleaned: the spec cannot say
        # which characters cleaning drops, so what it refuses the API refuses too.
        validate=[Chars(max=STORY_EXTRAS["cover_url"]), Address(COVER_URL)],
        metadata={"description": "An http(s) address, or a path on this site."},
    )
    cover_alt = Text(
        allow_none=True,
        validate=Chars(max=STORY_EXTRAS["cover_alt"]),
        metadata={"description": "Required with a cover picture."},
    )
    cover_caption = Text(allow_none=True, validate=Chars(max=STORY_EXTRAS["cover_caption"]))
    cover_credit = Text(allow_none=True, validate=Chars(max=STORY_EXTRAS["cover_credit"]))
    featured_kicker = Text(allow_none=True, validate=Chars(max=STORY_EXTRAS["featured_kicker"]))
    featured_title = Text(allow_none=True, validate=Chars(max=STORY_EXTRAS["featured_title"]))
    featured_url = Text(
        allow_none=True,
        validate=[Chars(max=STORY_EXTRAS["featured_url"]), Address(FEATURED_URL)],
        metadata={"description": "An http(s) address."},
    )


class StoryCreate(StoryUpdate):
    slug = Text(
        required=True,
        validate=[
            Chars(min=1, max=120),
            validate.Regexp(SLUG, error="must be lower-case letters, digits and single hyphens"),
        ],
    )
    title = Text(
        required=True, validate=Chars(min=1, max=MAX_TITLE_CHARS), metadata={"not": NUL_OR_BLANK}
    )


class EntryCreate(RequestSchema):
    body = Text(
        required=True,
        validate=Chars(min=1, max=MAX_BODY_CHARS),
        metadata={"description": "HTML (cleaned to an allowlist) or plain text.",
                  "not": NUL_OR_BLANK},
    )
    headline = Text(allow_none=True, validate=Chars(max=MAX_HEADLINE_CHARS))
    label = Text(
        allow_none=True,
        validate=Chars(max=MAX_LABEL_CHARS),
        metadata={"description": "Overrides the time label."},
    )
    pinned = Flag(metadata={"description": "A key entry, listed in the LATEST box."})
    scheduled_for = OffsetTime(
        metadata={
            "format": "date-time",
            "maxLength": 40,
            "description": "Publish at this time instead of now (the entry is `scheduled`"
            " until then). It must carry its UTC offset (`-05:00`, `Z`): a local time alone"
            " can be missing or doubled at a DST change, so it is refused with 422.",
        },
    )


class EntryUpdate(EntryCreate):
    class Meta(RequestSchema.Meta):
        exclude = ("scheduled_for",)  # a new entry is scheduled; an edit does not reschedule

    body = Text(
        validate=Chars(min=1, max=MAX_BODY_CHARS),
        metadata={"description": "HTML (cleaned to an allowlist) or plain text.",
                  "not": NUL_OR_BLANK},
    )
    # Only an edit corrects: a new entry has nothing to correct (and no time it was corrected).
    correction = Text(
        allow_none=True,
        validate=Chars(max=MAX_CORRECTION_CHARS),
        metadata={"description": "A note shown with the time of the correction."},
    )


def load(schema: Schema, data: dict) -> dict:
    """The body as the schema reads it; raise Invalid (422) with one message per field."""
    try:
        return schema.load(data)
    except ValidationError as error:
        messages = error.normalized_messages()
        fields_at_fault = {name: _sentence(message) for name, message in messages.items()}
        raise Invalid("Some fields are not valid.", fields_at_fault) from None


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
    created_at = Time(required=True)
    updated_at = Time(required=True)
    ended_at = Time(required=True, allow_none=True)
    last_seq = fields.Integer(required=True, metadata={"description": "The newest event's seq."})
    archived = fields.Boolean(required=True)
    cover = fields.Nested(Cover, required=True, allow_none=True)
    featured = fields.Nested(Featured, required=True, allow_none=True)


class StoryList(Schema):
    stories = fields.List(fields.Nested(Story), required=True)


class Author(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class Correction(Schema):
    note = fields.String(required=True)
    at = Time(required=True, allow_none=True)


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
    correction = fields.Nested(Correction, required=True, allow_none=True)
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
