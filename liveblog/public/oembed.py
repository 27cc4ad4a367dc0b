"""Embedding a story elsewhere: the compact embed page and the oEmbed provider."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from liveblog.extensions import db
from liveblog.models import Story, StoryStatus
from liveblog.public.fragment import TEASER, teaser_limit
from liveblog.public.pages import public_story
from liveblog.queries import published_entries
from liveblog.web import caching
from liveblog.web.i18n import use_locale
from liveblog.web.params import ascii_int

bp = Blueprint("oembed", __name__)

EMBED_SIZE = 20
DEFAULT_WIDTH, DEFAULT_HEIGHT = 600, 800
CACHE_AGE = 3600  # the iframe markup never changes; the page inside it stays live by itself
# Addresses that name a story: its page or one of its entries.
STORY_ENDPOINTS = {"reader.story_page", "reader.entry_permalink", "oembed.embed_page"}
# The frame works alone at its first height; the loader (kept when a consumer allows scripts)
# then grows it with the story. Its unversioned URL is cached briefly (assets.PLAIN).
SNIPPET = Markup(
    '<iframe src="{src}" width="{width}" height="{height}" title="{title}" loading="lazy"'
    ' data-liveblog-frame style="border:0;max-width:100%"></iframe>'
    '<script async src="{loader}"></script>'
)


@bp.get("/stories/<slug>/embed")
def embed_page(slug: str):
    """The story's latest entries on a bare page for an iframe, kept live by static/js/live.js."""
    story = public_story(slug)
    limit = teaser_limit()  # ?limit=N: a "latest N" teaser, kept at N by live.js
    caching.revalidate(story, f"embed-{limit}" if limit else "embed")
    # Read seq before the entries, as the story page does, so no event falls in between.
    seq = story.last_seq
    entries = published_entries(story.id, limit or EMBED_SIZE)
    return render_template("embed.html", story=story, seq=seq, entries=entries, limit=limit)


def _story_for(address: str) -> Story | None:
    """The public story a URL on this site points at, if any."""
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() != request.host.lower():
        return None
    adapter = current_app.url_map.bind(request.host, url_scheme=parts.scheme)
    try:
        endpoint, args = adapter.match(parts.path, method="GET")
    except HTTPException:  # no route, a redirect or a wrong method: not a story address
        return None
    if endpoint not in STORY_ENDPOINTS:
        return None
    story = db.session.scalar(select(Story).filter_by(slug=args["slug"]))
    return story if story is not None and story.status != StoryStatus.DRAFT else None


def _bounded(default: int, limit_name: str) -> int:
    # oEmbed: the answer must not exceed maxwidth/maxheight; nonsense limits are ignored.
    limit = ascii_int(request.args.get(limit_name))
    return default if not limit else min(default, limit)


@bp.get("/oembed")
def oembed():
    """oEmbed 1.0: the markup to embed a story, for a story page URL on this site."""
    if request.args.get("format", "json") != "json":
        abort(501, description="Only format=json is supported.")
    story = _story_for(request.args.get("url", ""))
    if story is None:
        abort(404, description="No public story at that address.")
    use_locale(story.language)
    width = _bounded(DEFAULT_WIDTH, "maxwidth")
    height = _bounded(DEFAULT_HEIGHT, "maxheight")
    # A teaser's size, like the sizes above: nonsense is read as not given.
    limit = ascii_int(request.args.get("limit"), maximum=TEASER.high)
    src = url_for(".embed_page", slug=story.slug, limit=limit or None, _external=True)
    loader = url_for("static", filename="embed.js", v=None, _external=True)
    title = gettext("Live: %(title)s", title=story.title)
    html = SNIPPET.format(src=src, width=width, height=height, title=title, loader=loader)
    response = jsonify(
        type="rich",
        version="1.0",
        title=story.title,
        provider_name="liveblog",
        provider_url=url_for("reader.index", _external=True),
        html=str(html),
        width=width,
        height=height,
        cache_age=CACHE_AGE,
    )
    # Public data that consumers often fetch from the browser.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
