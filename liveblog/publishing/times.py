"""Publishing times typed by people: a wall-clock time in the story's zone, across DST changes.

A local time can fail to exist (clocks go forward: 02:30 on a spring night) or happen twice
(clocks go back: 01:30 on an autumn night). Neither is guessed: the first is refused, the second
asks the journalist which one, offering each reading with its offset. A time that carries its own
offset ("+05:00") means exactly that instant, whatever the story's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from liveblog.errors import Invalid

FIELD = "scheduled_for"


class AmbiguousTime(Invalid):
    """A local time that happens twice; `choices` are its readings, earlier first."""

    def __init__(self, message: str, choices: list[dict[str, str]]):
        super().__init__(message, {FIELD: message})
        self.choices = choices


def parse_time(value: str) -> datetime:
    """An ISO 8601 date and time, with or without an offset; Invalid otherwise."""
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("Give the time as YYYY-MM-DD HH:MM.",
                      {FIELD: "is not a date and time"}) from None


def offset_text(offset: timedelta) -> str:
    """An offset as ISO 8601 writes it: "-04:00", "+05:30"."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def offset_label(offset: timedelta) -> str:
    """An offset as people read it: "UTC−4", "UTC+5:30" (with a true minus sign)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "\u2212" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def _reading(local: datetime) -> dict[str, str]:
    offset = local.utcoffset()
    return {"offset": offset_text(offset),
            "label": f"{local:%H:%M} {local.tzname()} ({offset_label(offset)})"}


def local_time(value: str, zone_name: str, chosen_offset: str | None = None) -> datetime:
    """The instant a person means by `value`, typed in the story's zone, as UTC.

    `chosen_offset` ("-05:00") picks one reading of a time that happens twice; it is ignored
    for any other time, so a choice left over from an earlier attempt cannot shift a new one.
    """
    typed = parse_time(value)
    if typed.tzinfo is not None:
        return typed.astimezone(UTC)
    zone = ZoneInfo(zone_name)
    first, second = typed.replace(tzinfo=zone, fold=0), typed.replace(tzinfo=zone, fold=1)
    day = f"{typed:%H:%M} on {typed.day} {typed:%B %Y}"
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != typed:
        raise Invalid(
            f"{day} does not exist in {zone_name}: the clocks go forward that night "
            f"({first.tzname()} to {second.tzname()}). Choose a time before or after the change.",
            {FIELD: "does not exist (the clocks go forward)"},
        )
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    readings = [first, second]
    for reading in readings:
        if chosen_offset is not None and offset_text(reading.utcoffset()) == chosen_offset:
            return reading.astimezone(UTC)
    choices = [_reading(reading) for reading in readings]
    raise AmbiguousTime(
        f"{day} happens twice in {zone_name} (the clocks go back): choose "
        f"{choices[0]['label']} or {choices[1]['label']}.",
        choices,
    )
