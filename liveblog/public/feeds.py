"""Machine-readable pages: a story's Atom and JSON feeds, the sitemap and robots.txt."""

from __future__ import annotations

import re
from urllib.parse import urljoin
from xml.etree import ElementTree

import lxml.html
from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import select

from liveblog.content.rendering import render_entry
from liveblog.content.sanitize import remove_forbidden_characters as xml_safe
from liveblog.extensions import db
from liveblog.models import Entry, Story, StoryStatus, as_utc, iso
from liveblog.public.pages import public_story
from liveblog.queries import published_entries
from liveblog.web import caching

bp = Blueprint("feeds", __name__)

FEED_SIZE = 50
SITE_NAME = "liveblog"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
_YOUTUBE_EMBED = re.compile(r"/embed/([A-Za-z0-9_-]{11})")


def permalink(entry: Entry) -> str:
    """An entry's absolute address."""
    return url_for(
        "reader.entry_permalink", slug=entry.story.slug, entry_id=entry.id, _external=True
    )


def absolute_urls(html: str, base: str, videos_as_links: bool = True) -> str:
    """Entry HTML for readers off-site: links and pictures absolute, videos as plain links."""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    root.make_links_absolute(base, resolve_base_href=False, handle_failures="ignore")
    for element in root.iter():
        # make_links_absolute leaves srcset alone: each candidate is "URL [descriptor]".
        if element.get("srcset"):
            candidates = (part.strip().split(" ", 1) for part in element.get("srcset").split(","))
            element.set(
                "srcset",
                ", ".join(
                    " ".join([urljoin(base, words[0]), *words[1:]])
                    for words in candidates
                    if words[0]
                ),
            )
    if videos_as_links:  # else the host page's embed.js offers the page's click-to-play
        _videos_as_links(root)
    children = (lxml.html.tostring(child, encoding="unicode") for child in root)
    return str(escape(root.text or "")) + "".join(children)


def _videos_as_links(root) -> None:
    # The page's click-to-play button needs the page's script; a feed reader runs none, so a
    # video becomes a link to where it plays, with YouTube's thumbnail (its address is known).
    for frame in root.find_class("embed-frame"):
        figure = frame.getparent()
        watch = figure.find(".//figcaption/a")
        if watch is None:
            continue
        link = lxml.html.Element("a", href=watch.get("href"))
        match = _YOUTUBE_EMBED.search(frame.get("data-embed-src", ""))
        title = frame.get("data-embed-title") or gettext("Video")
        if figure.get("data-provider") == "youtube" and match:
            lxml.html.etree.SubElement(
                link, "img", src=f"https://i.ytimg.com/vi/{match.group(1)}/hqdefault.jpg",
                alt=f"{title}: watch it where it plays", width="480", height="360")
        else:
            link.text = f"{title}: {watch.get('href')}"
        figure.replace(frame, link)


def entry_html(entry: Entry) -> str:
    """The reader partial for an entry, with absolute URLs."""
    # Text is cleaned when written; rows older than that check must not break a feed either.
    return absolute_urls(xml_safe(render_entry(entry)), request.url_root)


@bp.get("/stories/<slug>/feed.atom")
def atom_feed(slug: str):
    """The story's latest entries as Atom 1.0, newest first."""
    story = public_story(slug)
    # Feed readers poll: the story's validators end most polls in a 304 before any work.
    caching.revalidate(story, "atom")
    page_url = url_for("reader.story_page", slug=slug, _external=True)
    feed = FeedGenerator()
    feed.id(page_url)
    feed.title(xml_safe(story.title))
    feed.language(story.language)
    if story.summary:
        feed.subtitle(xml_safe(story.summary))
    feed.updated(as_utc(story.updated_at))
    # Atom wants an author on the feed or on every entry; entries without a byline inherit this.
    feed.author(name=SITE_NAME)
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.link(href=url_for(".atom_feed", slug=slug, _external=True), rel="self")
    for entry in published_entries(story.id, FEED_SIZE):
        item = feed.add_entry(order="append")
        item.id(permalink(entry))
        item.title(xml_safe(entry.headline or entry.label))
        item.published(as_utc(entry.published_at))
        item.updated(as_utc(entry.updated_at))
        for author in entry.authors:  # Atom allows several; each is an <author>
            item.author(name=xml_safe(author.display_name))
        # feedgen 1.0 writes entry links without rel (lkiesow/python-feedgen#135), which
        # RFC 4287 section 4.2.7.2 reads as rel="alternate": the permalink.
        item.link(href=permalink(entry), rel="alternate", type="text/html")
        item.content(entry_html(entry), type="html")
    body = feed.atom_str(pretty=True)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def _json_item(entry: Entry) -> dict:
    item = {
        "id": permalink(entry),
        "url": permalink(entry),
        "title": xml_safe(entry.headline or entry.label),
        "content_html": entry_html(entry),
        "date_published": iso(entry.published_at),
        "date_modified": iso(entry.updated_at),
    }
    if entry.authors:
        item["authors"] = [_json_author(author) for author in entry.authors]
    return item


def _json_author(author) -> dict:
    # JSON Feed's author: a name and, when there is a photo, its absolute address as avatar.
    found = {"name": xml_safe(author.display_name)}
    if author.photo_url:
        found["avatar"] = urljoin(request.url_root, author.photo_url)
    return found


@bp.get("/stories/<slug>/feed.json")
def json_feed(slug: str):
    """The story's latest entries as JSON Feed 1.1, newest first."""
    story = public_story(slug)
    caching.revalidate(story, "json-feed")
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": xml_safe(story.title),
        "home_page_url": url_for("reader.story_page", slug=slug, _external=True),
        "feed_url": url_for(".json_feed", slug=slug, _external=True),
        "description": xml_safe(story.summary) or None,
        "language": story.language,
        "authors": [{"name": SITE_NAME}],
        # An ended story will not change again: JSON Feed's way to tell readers to stop polling.
        "expired": story.status == StoryStatus.ENDED,
        "items": [_json_item(entry) for entry in published_entries(story.id, FEED_SIZE)],
    }
    feed = {key: value for key, value in feed.items() if value is not None}
    return Response(current_app.json.dumps(feed), content_type="application/feed+json")


@bp.get("/sitemap.xml")
def sitemap():
    """The index and every public story, with when each last changed."""
    query = select(Story).where(Story.status != StoryStatus.DRAFT).order_by(Story.created_at)
    stories = list(db.session.scalars(query))
    newest = max((story.updated_at for story in stories), default=None, key=as_utc)
    pages = [(url_for("reader.index", _external=True), newest)]
    for story in stories:
        pages.append(
            (url_for("reader.story_page", slug=story.slug, _external=True), story.updated_at)
        )
    urlset = ElementTree.Element("urlset", xmlns=SITEMAP_NS)
    for address, changed in pages:
        url = ElementTree.SubElement(urlset, "url")
        ElementTree.SubElement(url, "loc").text = address
        if changed is not None:
            ElementTree.SubElement(url, "lastmod").text = as_utc(changed).isoformat(
                timespec="seconds"
            )
    body = ElementTree.tostring(urlset, encoding="utf-8", xml_declaration=True)
    return Response(body, content_type="application/xml; charset=utf-8")


@bp.get("/robots.txt")
def robots():
    """Crawl the public pages, not the desk or the API; the sitemap lists them."""
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /api/",
        f"Sitemap: {url_for('.sitemap', _external=True)}",
    ]
    return Response("\n".join(lines) + "\n", content_type="text/plain; charset=utf-8")
