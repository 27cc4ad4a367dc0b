"""Time labels such as "UPDATE 1600 GMT", computed from an entry's time in its story's zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

ORIGINAL_ENTRY = "ORIGINAL ENTRY"
DEFAULT_TIMEZONE = "GMT"
# Only directives that print one part of a time or date: none that prints a whole date or
# time in the locale's own layout (%c %x %X) or a tab or line break (%t %n). The names that
# %a %A %b %B %p print do follow LC_TIME, which Python leaves at "C" (English) and nothing
# here changes: a process that called locale.setlocale would print them in its language.
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


def format_label(moment: datetime, timezone: str, fmt: str) -> str:
    """Format a UTC moment as a label in the given zone, e.g. "UPDATE 1600 GMT"."""
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they are stored as UTC
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(ZoneInfo(timezone))
    return local.strftime(fmt)


def entry_label(
    published_at: datetime,
    timezone: str,
    fmt: str,
    *,
    is_original: bool = False,
    override: str | None = None,
) -> str:
    """The label readers see: the journalist's override, ORIGINAL ENTRY, or the time label."""
    if override:
        return override
    if is_original:
        return ORIGINAL_ENTRY
    return format_label(published_at, timezone, fmt)
