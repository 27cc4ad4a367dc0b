"""Checks on the fields of a story or entry, shared by the API and the desk."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from liveblog.content.bodies import prepare_body
from liveblog.content.labels import is_valid_label_format, is_valid_timezone
from liveblog.content.sanitize import is_web_url, plain_text, remove_forbidden_characters
from liveblog.errors import Invalid
from liveblog.models import StoryStatus

MAX_BODY_CHARS = 100_000
MAX_HEADLINE_CHARS = 300
MAX_LABEL_CHARS = 80
MAX_CORRECTION_CHARS = 500
MAX_TITLE_CHARS = 300
MAX_SUMMARY_CHARS = 2_000
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _text(data: dict, name: str, errors: dict, max_chars: int, required: bool = False):
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = "is required"
        return None
    if not isinstance(value, str):
        errors[name] = "must be a string"
        return None
    if len(value) > max_chars:
        errors[name] = f"must be at most {max_chars} characters"
        return None
    if "\x00" in value or not _is_encodable(value):
        errors[name] = "must be valid Unicode text without NUL characters"
        return None
    # Invisible control characters and noncharacters (pasted from word processors, or hostile)
    # would make pages invalid and feeds unparseable; they carry no meaning, so they go.
    return remove_forbidden_characters(value)


def _is_encodable(value: str) -> bool:
    # JSON may carry lone surrogates ("\ud800"); no database can store them.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _optional_plain(data: dict, name: str, errors: dict, max_chars: int) -> str | None:
    value = _text(data, name, errors, max_chars)
    return (plain_text(value) or None) if value is not None else None


def _is_blank(body_html: str) -> bool:
    # A picture or an embed with no words around it is still an entry.
    return not plain_text(body_html) and "<img" not in body_html and 'class="embed' not in body_html


def _unknown(data: dict, allowed: set[str], errors: dict) -> None:
    for name in sorted(set(data) - allowed):
        errors[name] = "is not a known field"


def entry_fields(data: dict, partial: bool = False) -> dict:
    """Validate and clean an entry's fields; raise Invalid with a message per field."""
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: dict[str, str] = {}
    _unknown(data, {"body", "headline", "label", "pinned", "correction"}, errors)
    fields: dict = {}
    body = _text(data, "body", errors, MAX_BODY_CHARS, required=not partial)
    if body is not None:
        fields["body_html"] = prepare_body(body)
        fields["body_source"] = body
        if _is_blank(fields["body_html"]):
            errors["body"] = "must not be empty"
    for name, column, limit in (
        ("headline", "headline", MAX_HEADLINE_CHARS),
        ("label", "label_override", MAX_LABEL_CHARS),
        ("correction", "correction_note", MAX_CORRECTION_CHARS),
    ):
        if name in data:
            fields[column] = _optional_plain(data, name, errors, limit)
    if "pinned" in data:
        if isinstance(data["pinned"], bool):
            fields["pinned"] = data["pinned"]
        else:
            errors["pinned"] = "must be true or false"
    if errors:
        raise Invalid("Some fields are not valid.", errors)
    return fields


def story_fields(data: dict, partial: bool = False) -> dict:
    """Validate a story's fields; raise Invalid with a message per field."""
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: dict[str, str] = {}
    allowed = {"title", "summary", "status", "timezone", "label_format", "archived",
               *STORY_EXTRAS}
    _unknown(data, allowed if partial else allowed | {"slug"}, errors)
    fields: dict = {}
    if not partial:
        slug = _text(data, "slug", errors, 120, required=True)
        if slug is not None and not SLUG.match(slug):
            errors["slug"] = "must be lower-case letters, digits and single hyphens"
        fields["slug"] = slug
    title = _text(data, "title", errors, MAX_TITLE_CHARS, required=not partial)
    if title is not None:
        fields["title"] = plain_text(title)
        if not fields["title"]:
            errors["title"] = "must not be empty"
    summary = _text(data, "summary", errors, MAX_SUMMARY_CHARS)
    if summary is not None:
        fields["summary"] = plain_text(summary)
    status = data.get("status")
    if status is not None:
        if status not in {s.value for s in StoryStatus}:
            errors["status"] = "must be one of draft, live, ended"
        fields["status"] = status
    timezone = data.get("timezone")
    if timezone is not None:
        if not is_valid_timezone(timezone):
            errors["timezone"] = "must be an IANA time zone such as Europe/London"
        fields["timezone"] = timezone
    # Read as text like every other field: a NUL or a control character must not be stored.
    label_format = _text(data, "label_format", errors, 64)
    if label_format is not None and "label_format" not in errors:
        if not is_valid_label_format(label_format):
            errors["label_format"] = "must be a short strftime format using %H %M %Z and friends"
        fields["label_format"] = label_format
    if "archived" in data:
        if isinstance(data["archived"], bool):
            fields["archived"] = data["archived"]
        else:
            errors["archived"] = "must be true or false"
    _story_extras(data, fields, errors)
    if errors:
        raise Invalid("Some fields are not valid.", errors)
    return fields


# Optional story fields: the cover picture and the featured link. An empty string clears one.
STORY_EXTRAS = {
    "cover_url": 500, "cover_alt": 300, "cover_caption": 500, "cover_credit": 200,
    "featured_kicker": 80, "featured_title": 300, "featured_url": 500,
}


def _story_extras(data: dict, fields: dict, errors: dict) -> None:
    for name, limit in STORY_EXTRAS.items():
        if name not in data:
            continue
        value = _text(data, name, errors, limit)
        if value is None:
            fields[name] = None
        elif name.endswith("_url"):
            url = value.strip()
            local = name == "cover_url" and url.startswith("/") and not url.startswith("//")
            if url and not (is_web_url(url) and urlsplit(url).hostname or local):
                errors[name] = "must be an http(s) address"
            fields[name] = url or None
        else:
            fields[name] = plain_text(value) or None
    if fields.get("cover_url") and not fields.get("cover_alt"):
        errors.setdefault("cover_alt", "describe the cover picture for people who cannot see it")
