"""What a valid story or entry is: one rule per field, read by the service, the API and the desk."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from liveblog.content.bodies import prepare_body
from liveblog.content.labels import is_valid_label_format, is_valid_timezone
from liveblog.content.sanitize import is_web_url, plain_text, remove_forbidden_characters
from liveblog.errors import Invalid
from liveblog.models import StoryStatus
from liveblog.web.i18n import LANGUAGES


# Not frozen: the schemas and forms read a rule when they check, not when they are built, so
# a test can change one limit here and watch the service, the API and the desk all follow.
@dataclass
class Rule:
    """What one field of a story or entry may hold."""

    # "text", "flag" (true or false), "choice", "url", "time", "list", "index"; "box" and
    # "team": the key-figures box and a side of its scoreboard (KEY_FIGURES)
    kind: str = "text"
    max_chars: int | None = None
    min_chars: int = 0
    required: bool = False  # must be given when the story or entry is created
    visible: bool = False  # must keep a character once cleaned (spaces and controls go)
    nullable: bool = False  # the API takes null for it, which clears it
    choices: tuple[str, ...] = ()
    pattern: re.Pattern | None = None
    pattern_message: str = ""
    only: str | None = None  # "create" or "edit": a field of one of the two only (a box: its kind)
    column: str | None = None  # where the service puts it, when not under its own name
    local: bool = False  # a url that may also be a path on this site
    items: tuple[int, int] | None = None  # a "list": fewest and most texts; an "index": its range


# The field messages, in one voice whichever check speaks (schemas.py uses them too).
REQUIRED = "is required"
NOT_A_STRING = "must be a string"
NOT_A_FLAG = "must be true or false"
UNKNOWN = "is not a known field"
EMPTY = "must not be empty"
NOT_AN_ADDRESS = "must be an http(s) address"

# A tag of HTML bleach has written: its attribute values are always in double quotes, and may
# hold a ">". Comments and unknown tags never survive the clean (they become text or go).
_CLEANED_TAG = re.compile(r'<(?:[^>"]|"[^"]*")*>')


def too_long(max_chars: int) -> str:
    """The message for a text over its rule's length."""
    return f"must be at most {max_chars} characters"


def not_a_choice(rule: Rule) -> str:
    """The message for a value outside its rule's choices."""
    return f"must be one of {', '.join(rule.choices)}"


ENTRY = {
    "body": Rule(max_chars=100_000, min_chars=1, required=True, visible=True),
    "headline": Rule(max_chars=300, nullable=True),
    "label": Rule(max_chars=80, nullable=True, column="label_override"),
    "pinned": Rule(kind="flag"),
    # Only an edit corrects: a new entry has nothing to correct (and no time it was corrected).
    "correction": Rule(max_chars=500, nullable=True, only="edit", column="correction_note"),
    # Who the entry is by, as user ids in byline order: the first is its author, the rest its
    # co-authors (entry_authors). Left out, a new entry is by whoever writes it.
    "authors": Rule(kind="ids", items=(1, 6), column="author_ids"),
}
# A time to publish at, as text (the API's scheduled_for, the desk's "publish at").
SCHEDULED_FOR = Rule(kind="time", max_chars=40)
# An entry's poll (publishing/polls.py): a question, 2 to 6 answers, when it closes.
POLL = {
    "question": Rule(max_chars=300, min_chars=1, required=True, visible=True),
    "options": Rule(kind="list", max_chars=100, min_chars=1, required=True, visible=True,
                    items=(2, 6)),
    "closes_at": Rule(kind="time", max_chars=40, nullable=True),
    "closed": Rule(kind="flag", only="edit"),  # a new poll is open; an edit may close it
}
# A reader's vote: the answer's index (0 first) and the random token the reader's page keeps.
VOTE = {
    "option": Rule(kind="index", required=True, items=(0, 5)),
    "voter": Rule(max_chars=64, min_chars=16, required=True,
                  pattern=re.compile(r"^[A-Za-z0-9_-]{16,64}$"),
                  pattern_message="must be 16 to 64 ASCII letters, digits, - or _"),
}
STORY = {
    "slug": Rule(max_chars=120, min_chars=1, required=True, only="create",
                 pattern=re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$"),
                 pattern_message="must be lower-case letters, digits and single hyphens"),
    "title": Rule(max_chars=300, min_chars=1, required=True, visible=True),
    "summary": Rule(max_chars=2_000),
    "status": Rule(kind="choice", choices=tuple(status.value for status in StoryStatus)),
    "timezone": Rule(max_chars=64, min_chars=1),
    "label_format": Rule(max_chars=64, min_chars=1),
    # The page's language (web/i18n.LANGUAGES: those with complete catalogues).
    "language": Rule(kind="choice", choices=LANGUAGES),
    "archived": Rule(kind="flag"),
    # The optional cover picture and featured link; null or "" clears one.
    "cover_url": Rule(kind="url", max_chars=500, nullable=True, local=True),
    "cover_alt": Rule(max_chars=300, nullable=True),
    "cover_caption": Rule(max_chars=500, nullable=True),
    "cover_credit": Rule(max_chars=200, nullable=True),
    "featured_kicker": Rule(max_chars=80, nullable=True),
    "featured_title": Rule(max_chars=300, nullable=True),
    "featured_url": Rule(kind="url", max_chars=500, nullable=True),
    # Readers' "Send us your question" form (publishing/questions.py): closed by default.
    "questions_open": Rule(kind="flag"),
    # The box at the top of the page: a scoreboard or a few figures (KEY_FIGURES); null clears.
    "key_figures": Rule(kind="box", nullable=True),
    # The schedule (publishing/story_schedule.py): a draft goes live at opens_at, a live story
    # ends at closes_at, a story quiet for archive_after_hours hours is ended and archived.
    "opens_at": Rule(kind="time", max_chars=40, nullable=True),
    "closes_at": Rule(kind="time", max_chars=40, nullable=True),
    "archive_after_hours": Rule(kind="index", nullable=True, items=(1, 8760)),
}
# A schedule's times fall in these years: none a page could print wrongly (strftime writes the
# year 398 as "398") or that moving to UTC could push past the calendar's end.
SCHEDULE_YEARS = re.compile(r"^[2-8][0-9]{3}-")
SCHEDULE_YEARS_MESSAGE = "must be a time from the year 2000 to 8999"
# An author's profile on the byline: a picture (an http(s) address or an upload's path on
# this site) and a job, e.g. "Correspondent in Kyiv".
PROFILE = {
    "photo_url": Rule(kind="url", max_chars=500, nullable=True, local=True),
    "job_title": Rule(max_chars=120, nullable=True),
}
STORY_EXTRAS = [name for name in STORY if name.startswith(("cover_", "featured_"))]


def known_fields(rules: dict[str, Rule], partial: bool) -> list[str]:
    """The fields a creation (or, partial, an edit) may send; any other is refused."""
    refused = "create" if partial else "edit"
    return [name for name, rule in rules.items() if rule.only != refused]


def _text(data: dict, name: str, errors: dict, rule: Rule, required: bool = False):
    value = data.get(name)
    if value is None:
        if required:
            errors[name] = REQUIRED
        return None
    if not isinstance(value, str):
        errors[name] = NOT_A_STRING
        return None
    if len(value) > rule.max_chars:
        errors[name] = too_long(rule.max_chars)
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


def _is_blank(body_html: str) -> bool:
    # A picture or an embed with no words around it is still an entry. The body is cleaned
    # already, so dropping its tags is enough: a second pass of bleach cost 0.2 ms a post.
    if "<img" in body_html or 'class="embed' in body_html:
        return False
    return not html.unescape(_CLEANED_TAG.sub("", body_html)).strip()


def _flag(data: dict, name: str, fields: dict, errors: dict) -> None:
    if name in data:
        if isinstance(data[name], bool):
            fields[name] = data[name]
        else:
            errors[name] = NOT_A_FLAG


def _refuse_unknown(data: dict, rules: dict[str, Rule], partial: bool, errors: dict) -> None:
    for name in sorted(set(data) - set(known_fields(rules, partial))):
        errors[name] = UNKNOWN


def entry_fields(data: dict, partial: bool = False) -> dict:
    """Validate and clean an entry's fields; raise Invalid with a message per field."""
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: dict[str, str] = {}
    _refuse_unknown(data, ENTRY, partial, errors)
    fields: dict = {}
    body = _text(data, "body", errors, ENTRY["body"], required=not partial)
    if body is not None:
        fields["body_html"] = prepare_body(body)
        fields["body_source"] = body
        if _is_blank(fields["body_html"]):
            errors["body"] = EMPTY
    known = known_fields(ENTRY, partial)
    for name in ("headline", "label", "correction"):
        if name in data and name in known:
            value = _text(data, name, errors, ENTRY[name])
            column = ENTRY[name].column or name
            fields[column] = (plain_text(value) or None) if value is not None else None
    _flag(data, "pinned", fields, errors)
    if "authors" in data:
        fields["author_ids"] = _user_ids(data["authors"], ENTRY["authors"], errors)
    if errors:
        raise Invalid("Some fields are not valid.", errors)
    return fields


def _user_ids(value, rule: Rule, errors: dict) -> list[int] | None:
    """A list of distinct user ids within the rule's count; whether each exists is the service's."""
    fewest, most = rule.items
    if (not isinstance(value, list) or not fewest <= len(value) <= most
            or any(isinstance(item, bool) or not isinstance(item, int) or item < 1
                   for item in value)):
        errors["authors"] = f"must be a list of {fewest} to {most} user ids"
        return None
    if len(set(value)) != len(value):
        errors["authors"] = "must name each author once"
        return None
    return list(value)


def story_fields(data: dict, partial: bool = False) -> dict:
    """Validate a story's fields; raise Invalid with a message per field."""
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: dict[str, str] = {}
    _refuse_unknown(data, STORY, partial, errors)
    fields: dict = {}
    if not partial:
        slug = _text(data, "slug", errors, STORY["slug"], required=True)
        if slug is not None and not STORY["slug"].pattern.match(slug):
            errors["slug"] = STORY["slug"].pattern_message
        fields["slug"] = slug
    title = _text(data, "title", errors, STORY["title"], required=not partial)
    if title is not None:
        fields["title"] = plain_text(title)
        if not fields["title"]:
            errors["title"] = EMPTY
    summary = _text(data, "summary", errors, STORY["summary"])
    if summary is not None:
        fields["summary"] = plain_text(summary)
    status = data.get("status")
    if status is not None:
        if status not in STORY["status"].choices:
            errors["status"] = not_a_choice(STORY["status"])
        fields["status"] = status
    timezone = _text(data, "timezone", errors, STORY["timezone"])
    if timezone is not None:
        if not is_valid_timezone(timezone):
            errors["timezone"] = "must be an IANA time zone such as Europe/London"
        fields["timezone"] = timezone
    # Read as text like every other field: a NUL or a control character must not be stored.
    label_format = _text(data, "label_format", errors, STORY["label_format"])
    if label_format is not None and "label_format" not in errors:
        if not is_valid_label_format(label_format):
            errors["label_format"] = "must be a short strftime format using %H %M %Z and friends"
        fields["label_format"] = label_format
    language = data.get("language")
    if language is not None:
        if language not in STORY["language"].choices:
            errors["language"] = not_a_choice(STORY["language"])
        fields["language"] = language
    _flag(data, "archived", fields, errors)
    _flag(data, "questions_open", fields, errors)
    if "key_figures" in data:
        fields["key_figures"] = key_figures_value(data["key_figures"], errors)
    _story_schedule(data, fields, errors)
    _story_extras(data, fields, errors)
    if errors:
        raise Invalid("Some fields are not valid.", errors)
    return fields


def _story_schedule(data: dict, fields: dict, errors: dict) -> None:
    for name in ("opens_at", "closes_at"):
        if name in data:
            fields[name] = _moment(data[name], name, errors)
    if "archive_after_hours" in data:
        hours, (low, high) = data["archive_after_hours"], STORY["archive_after_hours"].items
        if hours is not None and (isinstance(hours, bool) or not isinstance(hours, int)
                                  or not low <= hours <= high):
            errors["archive_after_hours"] = f"must be a whole number from {low} to {high}"
        fields["archive_after_hours"] = hours
    opens, closes = fields.get("opens_at"), fields.get("closes_at")
    if opens and closes and closes <= opens:
        errors["closes_at"] = "must be after opens_at"


def _moment(value, name: str, errors: dict) -> datetime | None:
    # The API's schema hands over a datetime, the desk one read in the story's zone.
    if value is None or value == "":
        return None
    if isinstance(value, str) and not SCHEDULE_YEARS.match(value) or (
            isinstance(value, datetime) and not 2000 <= value.year <= 8999):
        errors[name] = SCHEDULE_YEARS_MESSAGE
        return None
    if isinstance(value, str) and len(value) <= STORY[name].max_chars:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, datetime) or value.tzinfo is None:
        errors[name] = "must be an ISO 8601 date and time with its UTC offset"
        return None
    return value.astimezone(UTC)


def profile_fields(data: dict) -> dict:
    """Validate an author's profile (photo address, job); raise Invalid with a message per field."""
    errors: dict[str, str] = {}
    fields: dict = {}
    for name, rule in PROFILE.items():
        if name not in data:
            continue
        value = _text(data, name, errors, rule) or ""
        text = value.strip() if rule.kind == "url" else plain_text(value)
        if rule.kind == "url" and text:
            local = text.startswith("/") and not text.startswith("//")
            if not (is_web_url(text) and urlsplit(text).hostname or local):
                errors[name] = NOT_AN_ADDRESS
        fields[name] = text or None
    if errors:
        raise Invalid("Some fields are not valid.", errors)
    return fields


def _story_extras(data: dict, fields: dict, errors: dict) -> None:
    for name in STORY_EXTRAS:
        if name not in data:
            continue
        rule = STORY[name]
        value = _text(data, name, errors, rule)
        if value is None:
            fields[name] = None
        elif rule.kind == "url":
            url = value.strip()
            local = rule.local and url.startswith("/") and not url.startswith("//")
            if url and not (is_web_url(url) and urlsplit(url).hostname or local):
                errors[name] = NOT_AN_ADDRESS
            fields[name] = url or None
        else:
            fields[name] = plain_text(value) or None
    if fields.get("cover_url") and not fields.get("cover_alt"):
        errors.setdefault("cover_alt", "describe the cover picture for people who cannot see it")


def split_poll(data: dict, partial: bool = False) -> tuple[dict, dict | None]:
    """An entry's fields without its poll, and the poll's fields checked (None: no poll sent)."""
    if not isinstance(data, dict) or "poll" not in data:
        return data, None
    rest = {name: value for name, value in data.items() if name != "poll"}
    return rest, poll_fields(data["poll"], partial)


def poll_fields(data: dict, partial: bool = False) -> dict:
    """Validate and clean a poll's fields; raise Invalid with a message per field (poll.x)."""
    if not isinstance(data, dict):
        raise Invalid("Some fields are not valid.", {"poll": "must be a JSON object"})
    errors: dict[str, str] = {}
    _refuse_unknown(data, POLL, partial, errors)
    fields: dict = {}
    question = _text(data, "question", errors, POLL["question"], required=not partial)
    if question is not None:
        fields["question"] = plain_text(question)
        if not fields["question"]:
            errors["question"] = EMPTY
    if "options" in data or not partial:
        options = _options(data.get("options"), errors)
        if options is not None:
            fields["options"] = options
    if "closes_at" in data:
        fields["closes_at"] = _closing_time(data["closes_at"], errors)
    _flag(data, "closed", fields, errors)
    if errors:
        raise Invalid("Some fields of the poll are not valid.",
                      {f"poll.{name}": message for name, message in errors.items()})
    return fields


def _options(value, errors: dict) -> list[str] | None:
    rule = POLL["options"]
    fewest, most = rule.items
    if not isinstance(value, list) or not fewest <= len(value) <= most:
        errors["options"] = f"must be a list of {fewest} to {most} answers"
        return None
    answers = []
    for position, text in enumerate(value, start=1):
        problems: dict[str, str] = {}
        answer = _text({"answer": text}, "answer", problems, rule, required=True)
        answer = plain_text(answer) if answer is not None else None
        if not problems and not answer:
            problems["answer"] = EMPTY
        if problems:
            errors["options"] = f"answer {position} {problems['answer']}"
            return None
        answers.append(answer)
    return answers


def _closing_time(value, errors: dict) -> datetime | None:
    # The API's schema hands over a datetime, the desk one read in the story's zone.
    if value is None or value == "":
        return None
    if isinstance(value, str) and len(value) <= POLL["closes_at"].max_chars:
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            pass
    if not isinstance(value, datetime) or value.tzinfo is None:
        errors["closes_at"] = "must be an ISO 8601 date and time with its UTC offset"
        return None
    if value <= datetime.now(UTC):
        errors["closes_at"] = "must be in the future"
        return None
    return value.astimezone(UTC)


def vote_fields(data: dict) -> tuple[int, str]:
    """A reader's vote: the answer's index and the voter token; raise Invalid per field."""
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: dict[str, str] = {}
    _refuse_unknown(data, VOTE, False, errors)
    option, voter = data.get("option"), data.get("voter")
    low, high = VOTE["option"].items
    if option is None:
        errors["option"] = REQUIRED
    elif isinstance(option, bool) or not isinstance(option, int) or not low <= option <= high:
        errors["option"] = f"must be a whole number from {low} to {high}"
    rule = VOTE["voter"]
    if voter is None:
        errors["voter"] = REQUIRED
    elif not isinstance(voter, str):
        errors["voter"] = NOT_A_STRING
    elif not rule.pattern.fullmatch(voter):
        errors["voter"] = rule.pattern_message
    if errors:
        raise Invalid("The vote is not valid.", errors)
    return option, voter


# The key-figures box (templates/_key_figures.html): a scoreboard of two teams, or 1 to 8
# labelled figures. Every text is plain text, shown escaped; editors type it, readers read it.
KEY_FIGURES = {
    "kind": Rule(kind="choice", choices=("scoreboard", "figures"), required=True),
    "title": Rule(max_chars=80, nullable=True),  # the box's heading; a default when null
    "period": Rule(max_chars=40, nullable=True, only="scoreboard"),  # e.g. "2nd half, 67'"
    "home": Rule(kind="team", required=True, only="scoreboard"),
    "away": Rule(kind="team", required=True, only="scoreboard"),
    "items": Rule(kind="list", required=True, only="figures", items=(1, 8)),
}
TEAM = {
    "name": Rule(max_chars=60, min_chars=1, required=True, visible=True),
    "score": Rule(kind="index", required=True, items=(0, 9999)),
}
FIGURE = {
    "label": Rule(max_chars=60, min_chars=1, required=True, visible=True),  # "Seats declared"
    "value": Rule(max_chars=40, min_chars=1, required=True, visible=True),  # "412/650"
}
# Bidirectional overrides and isolates would reorder a score's digits ("\u202e12" reads "21").
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def key_figures_value(value, errors: dict) -> dict | None:
    """A key-figures box checked and cleaned (None clears it); messages go in errors."""
    if value is None:
        return None
    problems: dict[str, str] = {}
    box = _object(value, KEY_FIGURES, problems, kind=True)
    if box is not None:
        if box["kind"] == "scoreboard":
            for side in ("home", "away"):
                if value.get(side) is not None:
                    box[side] = _object(value.get(side), TEAM, problems, side)
        elif value.get("items") is not None:
            box["items"] = _figures(value["items"], problems)
    for name, message in problems.items():
        errors[f"key_figures{'.' + name if name else ''}"] = message
    return None if problems else box


def _object(value, rules: dict[str, Rule], problems: dict, path: str = "", kind: bool = False):
    """One JSON object of the box: its texts cleaned, its numbers bounded, nothing unknown."""
    prefix = f"{path}." if path else ""
    if not isinstance(value, dict):
        problems[path] = "must be a JSON object"
        return None
    if kind and value.get("kind") not in rules["kind"].choices:
        problems[f"{prefix}kind"] = not_a_choice(rules["kind"])
        return None
    known = {name for name, rule in rules.items() if rule.only in (None, value.get("kind"))}
    for name in sorted(set(value) - known):
        problems[f"{prefix}{name}"] = UNKNOWN
    cleaned: dict = {}
    for name in sorted(known):
        rule, given = rules[name], value.get(name)
        if given is None and (rule.required or name not in value):
            if rule.required:
                problems[f"{prefix}{name}"] = REQUIRED
            elif rule.nullable:
                cleaned[name] = None
            continue
        if rule.kind == "index":
            low, high = rule.items
            if isinstance(given, float) and given.is_integer():
                given = int(given)
            if isinstance(given, bool) or not isinstance(given, int) or not low <= given <= high:
                problems[f"{prefix}{name}"] = f"must be a whole number from {low} to {high}"
            cleaned[name] = given
        elif rule.kind in ("text", "choice"):
            cleaned[name] = _box_text(given, name, rule, problems, prefix)
    return cleaned


def _box_text(given, name: str, rule: Rule, problems: dict, prefix: str) -> str | None:
    if rule.kind == "choice":
        return given
    found: dict[str, str] = {}
    text = _text({name: given}, name, found, rule)
    # Plain text, as every other text of a story: markup goes, what is left is shown escaped.
    text = plain_text(BIDI_CONTROLS.sub("", text)) if text is not None else None
    if not found and rule.visible and not text:
        found[name] = EMPTY
    for field, message in found.items():
        problems[f"{prefix}{field}"] = message
    return text or None


def _figures(value, problems: dict) -> list[dict] | None:
    fewest, most = KEY_FIGURES["items"].items
    if not isinstance(value, list) or not fewest <= len(value) <= most:
        problems["items"] = f"must be a list of {fewest} to {most} figures"
        return None
    return [_object(item, FIGURE, problems, f"items.{index}") for index, item in enumerate(value)]
