"""Template filters shared by every page and by the entry partial."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask

from .models import as_utc


def html_time(moment: datetime | None) -> str | None:
    """A stored time for a datetime attribute: HTML allows at most three fractional digits."""
    moment = as_utc(moment)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def story_time(moment: datetime, timezone: str, fmt: str = "%H:%M %Z, %d %b %Y") -> str:
    """A stored UTC time shown in the story's zone."""
    return as_utc(moment).astimezone(ZoneInfo(timezone)).strftime(fmt)


def init_app(app: Flask) -> None:
    """Register the filters."""
    app.add_template_filter(html_time, "iso")
    app.add_template_filter(story_time, "story_time")
