"""A story's schedule, kept by the scheduler loop: open at opens_at, end at closes_at, archive
once quiet for archive_after_hours.

Each change goes through the story lock as the desk's does, and readers get it as a
story.updated event. Each setting fires once and is then cleared, so a story an editor takes
back to draft, reopens or brings back from its archive is not changed again behind their back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select

from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Story, StoryStatus, as_utc, utcnow
from liveblog.publishing.changes import story_change
from liveblog.publishing.key_figures import emit_story_updated
from liveblog.publishing.moderation import erase_contact_emails

# Built once: the scheduler asks them every second (publishing/scheduler.py).
STORIES_TO_OPEN = select(Story.id).where(Story.status == StoryStatus.DRAFT,
                                         Story.opens_at <= bindparam("now"))
STORIES_TO_END = select(Story.id).where(Story.status == StoryStatus.LIVE,
                                        Story.closes_at <= bindparam("now"))


def run_story_schedules(now: datetime | None = None) -> int:
    """Open, end and archive every story whose time has come; return how many changed."""
    now = now or utcnow()
    changed = 0
    for story_id in db.session.scalars(STORIES_TO_OPEN, {"now": now}).all():
        changed += _change(story_id, now, _open)
    for story_id in db.session.scalars(STORIES_TO_END, {"now": now}).all():
        changed += _change(story_id, now, _end)
    for story_id in _quiet_stories(now):
        changed += _change(story_id, now, _archive)
    return changed


def _quiet_stories(now: datetime, story_id: int | None = None) -> list[int]:
    # A story with no entry yet is quiet since it was created. The hours are compared here, not
    # in SQL, where SQLite and PostgreSQL count time differently; few stories set them.
    newest = (select(func.max(Entry.published_at))
              .where(Entry.story_id == Story.id, Entry.status == EntryStatus.PUBLISHED)
              .scalar_subquery())
    rows = db.session.execute(
        select(Story.id, Story.archive_after_hours, newest, Story.created_at)
        .where(Story.archive_after_hours.is_not(None), Story.archived.is_(False),
               Story.status != StoryStatus.DRAFT,
               Story.id == story_id if story_id is not None else True)
    ).all()
    return [story_id for story_id, hours, last, created in rows
            if _quiet_since(last, created) + timedelta(hours=hours) <= now]


def _quiet_since(last: datetime | str | None, created: datetime) -> datetime:
    if isinstance(last, str):  # SQLite hands a subquery's time back as text
        last = datetime.fromisoformat(last)
    return as_utc(last or created)


def _change(story_id: int, now: datetime, step) -> int:
    """Apply one step under the story's lock; 0 if another process (or an editor) got there."""
    with story_change(story_id) as change:
        story = db.session.get(Story, story_id)
        if not step(story, now):
            return 0
        emit_story_updated(change, story, None, story.key_figures)
    return 1


def _open(story: Story, now: datetime) -> bool:
    opens_at = as_utc(story.opens_at)
    if story.status != StoryStatus.DRAFT or opens_at is None or opens_at > now:
        return False
    story.status, story.opens_at = StoryStatus.LIVE, None
    return True


def _end(story: Story, now: datetime) -> bool:
    closes_at = as_utc(story.closes_at)
    if story.status != StoryStatus.LIVE or closes_at is None or closes_at > now:
        return False
    story.status, story.ended_at, story.closes_at = StoryStatus.ENDED, closes_at, None
    return True


def _archive(story: Story, now: datetime) -> bool:
    if story.archived or story.archive_after_hours is None or story.status == StoryStatus.DRAFT:
        return False
    if not _quiet_stories(now, story.id):  # an entry came in since the look without the lock
        return False
    if story.status == StoryStatus.LIVE:  # only an ended story is archived, as in the desk
        story.status, story.ended_at, story.closes_at = StoryStatus.ENDED, utcnow(), None
    story.archived, story.archive_after_hours = True, None
    erase_contact_emails(story.id)
    return True
