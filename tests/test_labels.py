"""Time labels: the story's zone and format, DST, the original entry and overrides."""

from datetime import UTC, datetime

import pytest

from liveblog.content.labels import (
    entry_label,
    format_label,
    is_valid_label_format,
    is_valid_timezone,
)


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime(2026, 1, 15, 16, 0, tzinfo=UTC), "GMT", "UPDATE 1600 GMT"),
        (datetime(2026, 1, 15, 16, 0, tzinfo=UTC), "Europe/London", "UPDATE 1600 GMT"),
        (datetime(2026, 7, 15, 16, 0, tzinfo=UTC), "Europe/London", "UPDATE 1700 BST"),
        # The night the clocks go forward: 00:59 UTC is still GMT, 01:00 UTC is 02:00 BST.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "Europe/London", "UPDATE 0059 GMT"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "Europe/London", "UPDATE 0200 BST"),
        # And back: 00:30 UTC is 01:30 BST, 01:30 UTC is 01:30 GMT, the same wall time twice.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Europe/London", "UPDATE 0130 BST"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "Europe/London", "UPDATE 0130 GMT"),
        (datetime(2026, 3, 8, 7, 30, tzinfo=UTC), "America/New_York", "UPDATE 0330 EDT"),
        (datetime(2026, 3, 8, 6, 30, tzinfo=UTC), "America/New_York", "UPDATE 0130 EST"),
        (datetime(2026, 1, 15, 16, 0), "Asia/Tokyo", "UPDATE 0100 JST"),  # naive means UTC
    ],
)
def test_time_label_in_story_zone(moment, zone, expected):
    assert format_label(moment, zone, "UPDATE %H%M %Z") == expected


def test_original_entry_and_override():
    moment = datetime(2026, 1, 15, 16, 0, tzinfo=UTC)
    assert entry_label(moment, "GMT", "UPDATE %H%M %Z", is_original=True) == "ORIGINAL ENTRY"
    assert entry_label(moment, "GMT", "UPDATE %H%M %Z", is_original=True,
                       override="BREAKING") == "BREAKING"
    assert entry_label(moment, "GMT", "%H:%M") == "16:00"


@pytest.mark.parametrize(
    ("fmt", "valid"),
    [("UPDATE %H%M %Z", True), ("%I:%M %p", True), ("100%% live %H", True),
     ("", False), ("%c", False), ("%x", False), ("trailing %", False), ("x" * 65, False)],
)
def test_label_format_validation(fmt, valid):
    assert is_valid_label_format(fmt) is valid


@pytest.mark.parametrize(
    ("zone", "valid"),
    [("Europe/London", True), ("GMT", True), ("UTC", True), ("Mars/Olympus", False),
     ("../../etc/passwd", False), ("", False)],
)
def test_timezone_validation(zone, valid):
    assert is_valid_timezone(zone) is valid


def test_names_in_labels_are_english():
    # %a %b %p print the C locale's names: the process never changes LC_TIME.
    moment = datetime(2026, 1, 15, 16, 5, tzinfo=UTC)
    assert format_label(moment, "GMT", "%a %d %b, %I.%M%p") == "Thu 15 Jan, 04.05PM"
