"""The codes the desk's embed box offers an editor to paste into another site's HTML."""

from __future__ import annotations

from flask import url_for
from markupsafe import escape

from liveblog.models import Story

# How many entries the teaser code asks for (data-liveblog-limit may be 1 to 50).
TEASER_ENTRIES = 5


def embed_codes(story: Story) -> dict[str, str]:
    """The loader's code, the teaser's and the server-side include's, as text to show.

    The codes are HTML shown as text: their values are escaped here for the code, and the page
    escapes the whole code again when it shows it.
    """
    page = escape(url_for("reader.story_page", slug=story.slug, _external=True))
    loader = escape(url_for("static", filename="embed.js", v=None, _external=True))
    fragment = escape(url_for("fragment.story_fragment", slug=story.slug, _external=True))
    styles = escape(url_for("static", filename="css/fragment.css", v=None, _external=True))
    title, script = escape(story.title), f'<script async src="{loader}"></script>'
    return {
        "code": f'<div data-liveblog="{page}">{title}</div>{script}',
        "teaser": f'<div data-liveblog="{page}" data-liveblog-limit="{TEASER_ENTRIES}">'
                  f"{title}</div>{script}",
        # onerror="continue": a host page is served without the entries if we cannot answer.
        "include": f'<esi:include src="{fragment}" onerror="continue"/>\n'
                   f'<link rel="stylesheet" href="{styles}">\n{script}',
    }
