"""The public pages: the story index and the live story page."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import case, select

from liveblog.database import MAX_INTEGER
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Story, StoryStatus
from liveblog.public.upcoming import is_upcoming, upcoming_page
from liveblog.queries import pinned_entries, published_entries, published_entries_through
from liveblog.web import caching
from liveblog.web.i18n import use_locale
from liveblog.web.params import ascii_int

bp = Blueprint("reader", __name__)

PAGE_SIZE = 20
# A deep link renders every entry down to the linked one, up to this many.
MAX_DEEP_LINK = 500


def public_story(slug: str, upcoming: bool = False) -> Story:
    """A live or ended story by slug; drafts and unknown slugs are 404.

    With `upcoming`, a draft scheduled to open is found too (its page says when it starts).
    """
    story = db.session.scalar(select(Story).filter_by(slug=slug))
    if story is None or (story.status == StoryStatus.DRAFT
                         and not (upcoming and is_upcoming(story))):
        abort(404, description=f"No story called {slug!r}.")
    # Every public answer about a story (page, embed, feeds, fragment) speaks its language.
    use_locale(story.language)
    return story


@bp.get("/")
def index():
    """Public stories, live ones first."""
    live_first = case((Story.status == StoryStatus.LIVE, 0), else_=1)
    stories = db.session.scalars(
        select(Story)
        .where(Story.status != StoryStatus.DRAFT)
        .order_by(live_first, Story.updated_at.desc())
    )
    return render_template("index.html", stories=list(stories))


def _entry_arg(name: str) -> int | None:
    """An entry id from the query string, ASCII digits only; 0 counts as not given."""
    value = request.args.get(name)
    if value is None or value == "":
        return None
    number = ascii_int(value)
    if number is None:
        abort(400, description=f"'{name}' must be an entry number (digits 0-9).")
    # A number past any id the database can hold names no entry: the page reads as if unasked.
    return number if 0 < number <= MAX_INTEGER else None


@bp.get("/stories/<slug>")
def story_page(slug: str):
    """The live page: the latest entries, server-rendered, then kept live by static/js/live.js."""
    story = public_story(slug, upcoming=True)
    if is_upcoming(story):
        return upcoming_page(story)
    before = _entry_arg("before")
    through = _entry_arg("through")
    caching.revalidate(story, "page", caching.ARCHIVED if story.archived else caching.PUBLIC)
    # Read seq before the entries: an event landing in between is replayed, never missed.
    seq = story.last_seq
    if through is not None and before is None:
        # A link to an old entry: the page from the newest entry down to that one.
        entries = published_entries_through(story.id, through, MAX_DEEP_LINK)
        page_size = len(entries)
        # One older entry tells the page whether to offer "load older".
        entries += published_entries(story.id, 1, entries[-1].id) if entries else []
    else:
        entries = published_entries(story.id, PAGE_SIZE + 1, before)
        page_size = PAGE_SIZE
    older = entries[page_size - 1].id if len(entries) > page_size else None
    return render_template(
        "story.html",
        story=story,
        seq=seq,
        entries=entries[:page_size],
        key_entries=pinned_entries(story.id),
        older=older,
        paged=before is not None,
    )


@bp.get("/stories/<slug>/entries/<int:entry_id>")
def entry_permalink(slug: str, entry_id: int):
    """An entry's own address: the story page opened at that entry."""
    story = public_story(slug)
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.story_id != story.id or entry.status != EntryStatus.PUBLISHED:
        abort(404, description="No such entry in this story.")
    newer = published_entries(story.id, PAGE_SIZE, None)
    if any(item.id == entry.id for item in newer):
        return redirect(url_for(".story_page", slug=slug, _anchor=f"entry-{entry_id}"))
    return redirect(url_for(".story_page", slug=slug, through=entry_id,
                            _anchor=f"entry-{entry_id}"))
