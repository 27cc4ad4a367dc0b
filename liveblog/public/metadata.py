"""What a story page tells search engines and link previews: JSON-LD and Open Graph helpers."""

from __future__ import annotations

import json
from urllib.parse import urljoin, urlsplit

from flask import Flask, request, url_for
from markupsafe import Markup

from liveblog.content.sanitize import plain_text
from liveblog.models import Entry, Story, StoryStatus, iso

# Inside <script> the HTML parser ends the element at "</script" whatever JSON thinks; escaping
# these as \uXXXX keeps the JSON identical and leaves nothing for the HTML parser to see.
SCRIPT_SAFE = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)
LD_UPDATES = 20
DESCRIPTION_LENGTH = 160  # what search engines show of a description


def script_json(data) -> Markup:
    """JSON that is safe to place inside a <script> element."""
    return Markup(json.dumps(data, ensure_ascii=False).translate(SCRIPT_SAFE))


def cover_image(story: Story) -> str | None:
    """The story's cover picture as an absolute http(s) URL, if it has one."""
    if not story.cover_url:
        return None
    address = urljoin(request.url_root, story.cover_url)
    return address if urlsplit(address).scheme in ("http", "https") else None


def story_description(story: Story, entries: list[Entry]) -> str:
    """The story's summary, or else the newest entry's words, as one line for search results."""
    if story.summary and story.summary.strip():
        return plain_text(story.summary, DESCRIPTION_LENGTH)
    newest = max(entries, key=lambda entry: (entry.published_at, entry.id), default=None)
    if newest is None:
        return ""
    words = ": ".join(filter(None, [newest.headline, plain_text(newest.body_html)]))
    return plain_text(words, DESCRIPTION_LENGTH)


def _blog_posting(entry: Entry) -> dict:
    url = url_for(
        "reader.entry_permalink", slug=entry.story.slug, entry_id=entry.id, _external=True
    )
    posting = {
        "@type": "BlogPosting",
        "@id": url,
        "headline": entry.headline or entry.label,
        "datePublished": iso(entry.published_at),
        "dateModified": iso(entry.updated_at),
        "articleBody": plain_text(entry.body_html),
        "url": url,
    }
    if entry.authors:
        posting["author"] = [_person(author) for author in entry.authors]
    return posting


def _person(user) -> dict:
    """An author as a schema.org Person: name, job and picture when the profile has them."""
    person = {"@type": "Person", "name": user.display_name}
    if user.job_title:
        person["jobTitle"] = user.job_title
    if user.photo_url:
        person["image"] = urljoin(request.url_root, user.photo_url)
    return person


def _sports_event(box: dict | None) -> dict | None:
    # A scoreboard's two teams are schema.org's SportsEvent homeTeam and awayTeam. The score
    # has no property in schema.org, and labelled figures no type, so neither is said here.
    if not box or box["kind"] != "scoreboard":
        return None
    home, away = box["home"]["name"], box["away"]["name"]
    return {"@type": "SportsEvent", "name": f"{home} v {away}",
            "homeTeam": {"@type": "SportsTeam", "name": home},
            "awayTeam": {"@type": "SportsTeam", "name": away}}


def live_blog_posting(story: Story, entries: list[Entry], description: str = "") -> dict:
    """schema.org LiveBlogPosting for a story and its latest entries."""
    url = url_for("reader.story_page", slug=story.slug, _external=True)
    data = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": url,
        "headline": story.title,
        "description": description or None,
        "url": url,
        "inLanguage": story.language,
        "datePublished": iso(story.created_at),
        "dateModified": iso(story.updated_at),
        "coverageStartTime": iso(story.created_at),
        "coverageEndTime": iso(story.ended_at) if story.status == StoryStatus.ENDED else None,
        "image": cover_image(story),
        "liveBlogUpdate": [_blog_posting(entry) for entry in entries[:LD_UPDATES]],
        "about": _sports_event(story.key_figures),
    }
    return {key: value for key, value in data.items() if value is not None}


def init_app(app: Flask) -> None:
    """Make the helpers available to templates/_meta.html."""
    app.add_template_global(live_blog_posting)
    app.add_template_global(cover_image)
    app.add_template_global(story_description)
    app.add_template_filter(script_json, "script_json")
