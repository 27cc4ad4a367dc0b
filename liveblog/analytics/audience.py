"""Readers over time and each entry's reach, for the desk's analytics page and the stats API."""

from __future__ import annotations

from datetime import datetime


def readers_over_time(story_id: int) -> list[tuple[datetime, int]]:
    """A story's samples of open readers in all processes, oldest first: (UTC naive, readers)."""
    return []


def peak(story_id: int) -> tuple[int, datetime | None]:
    """The highest sample of a story's open readers and when it was taken (0, None if none yet)."""
    return 0, None


def entry_reach(story_id: int) -> dict[int, dict]:
    """Entry id -> {"connected": readers open when it was published, "seen": readers who saw it}."""
    return {}
