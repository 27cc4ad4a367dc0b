"""Security headers on every answer, framing for the embed page only, and CORS for reads."""

from __future__ import annotations

import os
import re

import pytest

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "templates")
POLICY = {
    "default-src": "'self'",
    "script-src": "'self' https://platform.twitter.com",
    "style-src": "'self'",
    "img-src": "'self' https: data:",
    "frame-src": "https://www.youtube-nocookie.com https://player.vimeo.com"
    " https://platform.twitter.com https://syndication.twitter.com"
    " https://datawrapper.dwcdn.net https://flo.uri.sh https://www.google.com/maps/embed"
    " https://w.soundcloud.com",
    "connect-src": "'self' ws: wss:",
    "base-uri": "'none'",
    "form-action": "'self'",
    "object-src": "'none'",
}


def policy(response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    parts = (part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"]
             .split(";"))
    found = {name: value for name, value in parts}
    if response.mimetype == "text/html":
        # A page's import map is the one inline script it may run, allowed by its hash.
        found["script-src"], _, source = found["script-src"].rpartition(" ")
        assert re.fullmatch(r"'sha256-[A-Za-z0-9+/]{43}='", source), source
    return found


@pytest.mark.parametrize(
    ("path", "status"),
    [("/stories/storm", 200), ("/api/stories/storm", 200), ("/stories/nothing", 404),
     ("/api/stories/nothing", 404), ("/admin/login", 200), ("/static/js/live.js", 200)],
)
def test_every_answer_carries_the_policy_and_refuses_framing(client, actions, path, status):
    actions.create_story()
    response = client.get(path)
    response.close()
    assert response.status_code == status
    # The desk alone may show pictures from blob: addresses, its own previews of uploads.
    images = POLICY["img-src"] + (" blob:" if path.startswith("/admin/") else "")
    assert policy(response) == {**POLICY, "img-src": images, "frame-ancestors": "'none'"}
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_the_embed_page_may_be_framed_by_anyone_under_the_same_policy(client, actions):
    actions.create_story()
    response = client.get("/stories/storm/embed")
    assert policy(response) == {**POLICY, "frame-ancestors": "*"}
    assert "X-Frame-Options" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_304_carries_the_policy_too(client, actions):
    actions.create_story()
    etag = client.get("/stories/storm").headers["ETag"]
    response = client.get("/stories/storm", headers={"If-None-Match": etag})
    assert response.status_code == 304 and policy(response)["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    "path", ["/api/stories", "/api/stories/storm", "/api/stories/storm/entries",
             "/api/stories/storm/events?after=0", "/api/stories/nothing",
             "/oembed?url=http://localhost/stories/storm"],
)
def test_reads_are_open_to_every_origin(client, actions, path):
    actions.create_story()
    for method in (client.get, client.head):
        response = method(path, headers={"Origin": "https://news.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers
        assert response.headers["Access-Control-Expose-Headers"] == "ETag"


def test_a_preflight_for_a_conditional_read_is_allowed(client, actions):
    actions.create_story()
    response = client.options("/api/stories/storm/entries", headers={
        "Origin": "https://news.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match",
    })
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD"
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


def test_writes_are_not_open_to_other_origins(client, actions):
    actions.create_story()
    preflight = client.options("/api/stories/storm/entries", headers={
        "Origin": "https://news.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    created = client.post("/api/stories/storm/entries", json={"body": "<p>x</p>"},
                          headers=actions.headers(Origin="https://news.example"))
    assert created.status_code == 201
    assert "Access-Control-Allow-Origin" not in created.headers


def test_pages_are_not_open_to_other_origins(client, actions):
    actions.create_story()
    response = client.get("/stories/storm", headers={"Origin": "https://news.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def template_files():
    """Every template, by path."""
    for root, _dirs, files in os.walk(TEMPLATES):
        yield from (os.path.join(root, name) for name in files if name.endswith(".html"))


def test_no_template_holds_inline_script_or_event_handlers():
    scripts, handlers = [], []
    for path in template_files():
        with open(path) as handle:
            html = handle.read()
        for tag in re.findall(r"<script\b[^>]*>", html):
            # JSON-LD and JSON blocks (the scripts' words) are data: CSP does not run them.
            data = 'type="application/ld+json"' in tag or 'type="application/json"' in tag
            if "src=" not in tag and not data:
                scripts.append((path, tag))
        handlers += [(path, name) for name in re.findall(r"\son[a-z]+\s*=", html)]
        handlers += [(path, "javascript:") for _ in re.findall(r"javascript:", html)]
        handlers += [(path, "style=") for _ in re.findall(r"\sstyle\s*=", html)]
    assert scripts == [] and handlers == []
