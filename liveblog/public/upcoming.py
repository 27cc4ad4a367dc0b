"""A story scheduled to open: its page says when it starts, and shows no entry until then."""

from __future__ import annotations

from flask import render_template

from liveblog.models import Story, as_utc, utcnow
from liveblog.web import caching

# Kept by caches until the story opens, but never past the bound a takedown must keep.
MOST_SECONDS = caching.TAKEDOWN_SECONDS - 60


def is_upcoming(story: Story) -> bool:
    """A draft with an opening time: readers may see that it is coming, and when."""
    return story.status == "draft" and story.opens_at is not None


def upcoming_page(story: Story):
    """The "starts at" page, cacheable until the opening time."""
    left = int((as_utc(story.opens_at) - utcnow()).total_seconds())
    seconds = max(1, min(left, MOST_SECONDS))
    caching.validate(caching.story_etag(story, "upcoming"), None,
                     f"public, max-age={seconds}")
    return render_template("story_upcoming.html", story=story)
