"""Time labels such as "UPDATE 1600 GMT", computed from an entry's time in its story's zone.

Both words are the story's language's: "ORIGINAL ENTRY" and the default format come from the
"messages" catalogue, and a format's month and day names from CLDR (content/local_time.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from liveblog.content.local_time import N_, local_strftime
from liveblog.web.i18n import translate

ORIGINAL_ENTRY = N_("ORIGINAL ENTRY")
# The default label format, as each language writes it (a story may set its own).
# Translators: a strftime format; keep %H%M (hours, minutes) and %Z (the zone, e.g. GMT).
LABEL_FORMAT = N_("UPDATE %H%M %Z")
DEFAULT_TIMEZONE = "GMT"
# Only directives that print one part of a time or date: none that prints a whole date or
# time in the locale's own layout (%c %x %X) or a tab or line break (%t %n). The names that
# %a %A %b %B %p print come from CLDR in the story's language (local_time.py), never LC_TIME.
ALLOWED_DIRECTIVES = set("HMIpZzdbaABmyYj%")
_DIRECTIVE = re.compile(r"%(.)")


def is_valid_timezone(name: str) -> bool:
    """Tell whether the name is an IANA zone this machine knows."""
    if not isinstance(name, str) or not name or name not in zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_names() -> set[str]:
    """Every IANA zone name this machine knows, plus UTC and GMT."""
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones() | {"UTC", "GMT"}
    return _ZONES


_ZONES: set[str] | None = None


def is_valid_label_format(fmt: str) -> bool:
    """Tell whether a label format uses only the allowed strftime directives."""
    if not isinstance(fmt, str) or not fmt.strip() or len(fmt) > 64:
        return False
    stripped = fmt.replace("%%", "")
    if stripped.endswith("%") and not stripped.endswith("%%"):
        return False
    return all(d in ALLOWED_DIRECTIVES for d in _DIRECTIVE.findall(stripped))


def default_label_format(language: str | None) -> str:
    """The label format a story in `language` starts with, e.g. "UPDATE %H%M %Z"."""
    return translate(language, LABEL_FORMAT)


def format_label(moment: datetime, timezone: str, fmt: str, language: str | None = None) -> str:
    """Format a UTC moment as a label in the given zone, e.g. "UPDATE 1600 GMT"."""
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they are stored as UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(timezone))
    return local_strftime(local, fmt, language)


def entry_label(
    published_at: datetime,
    timezone: str,
    fmt: str,
    *,
    is_original: bool = False,
    override: str | None = None,
    language: str | None = None,
) -> str:
    """The label readers see: the journalist's override, ORIGINAL ENTRY, or the time label."""
    if override:
        return override
    if is_original:
        return translate(language, ORIGINAL_ENTRY)
    return format_label(published_at, timezone, fmt, language)
