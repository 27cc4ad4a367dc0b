"""A story's entries as bare HTML for another site to include server-side (SSI, ESI, a fetch).

static/embed.js upgrades the included list in place to live updates; ?limit=N makes it a
"latest N" teaser. The markup is the page's own (templates/_entries.html), with addresses made
absolute, since the host page's relative links would point at the host.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, abort, render_template, request

from liveblog.public.feeds import absolute_urls
from liveblog.public.pages import PAGE_SIZE, public_story
from liveblog.queries import pinned_entries, published_entries
from liveblog.web import caching
from liveblog.web.i18n import use_locale
from liveblog.web.params import Bounds, ascii_int

bp = Blueprint("fragment", __name__)

# A teaser is a handful of entries for a home page; more than this is what the full list is for.
TEASER = Bounds(1, 50)
VOID_END_TAGS = re.compile(r"</(?:source|track|wbr)>")


def teaser_limit() -> int | None:
    """?limit=N (1-50, ASCII digits) for a "latest N" list, None when not asked; else a 400."""
    values = request.args.getlist("limit")
    if not values:
        return None
    number = ascii_int(values[0], maximum=TEASER.high) if len(values) == 1 else None
    if number is None or number < TEASER.low:
        abort(400,
              description=f"'limit' must be a whole number from {TEASER.low} to {TEASER.high}.")
    return number


@bp.get("/stories/<slug>/fragment")
def story_fragment(slug: str):
    """The story page's list of entries, no page around it, for a host page to include."""
    story = public_story(slug)
    limit = teaser_limit()
    variant = f"fragment-{limit}" if limit else "fragment"
    caching.revalidate(story, variant, caching.ARCHIVED if story.archived else caching.PUBLIC)
    use_locale(story.language)
    # Read seq before the entries, as the page does: an event in between is replayed to the list.
    seq = story.last_seq
    entries = published_entries(story.id, limit or PAGE_SIZE)
    # The whole list comes with the page's LATEST box; a teaser is only its few entries.
    key_entries = [] if limit else pinned_entries(story.id)
    html = render_template("fragment.html", story=story, seq=seq, entries=entries, limit=limit,
                           key_entries=key_entries)
    html = absolute_urls(html, request.url_root, videos_as_links=False)
    # libxml2 writes HTML 4's void elements bare but closes HTML 5's: "</source>" is an error.
    html = VOID_END_TAGS.sub("", html)
    # web/security.py lets any origin read it: a host may fetch it from its readers' browsers.
    return Response(html, content_type="text/html; charset=utf-8")
