"""Static files: URLs carry a hash of the content, and only those are cached for a year."""

from __future__ import annotations

import hashlib
import os
import re

from flask import url_for

from liveblog.web.assets import IMMUTABLE, PLAIN

STATIC = os.path.join(os.path.dirname(os.path.dirname(__file__)), "static")


def content_hash(filename: str) -> str:
    """What the URL of a static file should carry."""
    with open(os.path.join(STATIC, filename), "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def test_pages_link_static_files_by_their_content(client, actions):
    actions.create_story()
    html = client.get("/stories/storm").get_data(as_text=True)
    for filename in ("css/liveblog.css", "js/live.js", "js/embeds.js", "favicon.svg"):
        assert f"/static/{filename}?v={content_hash(filename)}" in html
    # Nothing left without a version (the import map names plain URLs, to send them to these).
    links = re.sub(r'<script type="importmap">.*?</script>', "", html, flags=re.S)
    assert not re.search(r'/static/[^"?]+"', links)


def test_a_versioned_file_is_cached_for_a_year_and_a_plain_one_briefly(client):
    version = content_hash("js/live.js")
    versioned = client.get(f"/static/js/live.js?v={version}")
    plain = client.get("/static/js/live.js")
    stale = client.get("/static/js/live.js?v=0123456789ab")
    assert versioned.headers["Cache-Control"] == IMMUTABLE
    assert IMMUTABLE == "public, max-age=31536000, immutable"
    # A version from before a deploy still gets today's file, so it must not be kept for good.
    assert plain.headers["Cache-Control"] == stale.headers["Cache-Control"] == PLAIN
    assert versioned.data == plain.data == stale.data
    for response in (versioned, plain, stale):
        response.close()


def test_a_missing_file_gets_no_version_and_a_404(app, client):
    with app.test_request_context():
        assert url_for("static", filename="js/nothing.js") == "/static/js/nothing.js"
        assert url_for("static", filename="../app.py") == "/static/../app.py"
    assert client.get("/static/js/nothing.js").status_code == 404
