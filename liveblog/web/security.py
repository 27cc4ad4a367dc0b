"""Headers every response carries: the content security policy, framing rules, CORS for reads."""

from __future__ import annotations

from flask import Flask, Response, request

from liveblog.web import assets

# Only the embed page may sit in another site's frame.
FRAMEABLE = {"oembed.embed_page"}
SCRIPT_SRC = "script-src 'self' https://platform.twitter.com"
POLICY = "; ".join(
    [
        "default-src 'self'",
        # No inline script but a page's import map (its hash is added to pages): JSON-LD
        # blocks are data, which CSP does not run.
        SCRIPT_SRC,
        # Quill and our scripts set styles through the CSSOM, which CSP allows without
        # 'unsafe-inline'; no template writes a style attribute.
        "style-src 'self'",
        "img-src 'self' https: data:",
        # Players, charts and maps load on the reader's click (static/js/embeds.js); a path
        # keeps Google to its map frames.
        "frame-src https://www.youtube-nocookie.com https://player.vimeo.com"
        " https://platform.twitter.com https://syndication.twitter.com"
        " https://datawrapper.dwcdn.net https://flo.uri.sh https://www.google.com/maps/embed"
        " https://w.soundcloud.com",
        # live.js opens a WebSocket to its own host; older Safari does not count ws: as 'self'.
        "connect-src 'self' ws: wss:",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
# The desk previews a picture before it is uploaded from a blob: address its own script made.
DESK_POLICY = POLICY.replace("img-src 'self' https: data:", "img-src 'self' https: data: blob:")
READS = ("GET", "HEAD")
# Conditional requests are not "simple", so a cross-origin fetch that sends them is preflighted.
READ_HEADERS = "If-None-Match, If-Modified-Since"


def set_security_headers(response: Response) -> Response:
    """The CSP, framing, MIME sniffing and referrer headers."""
    if request.endpoint in FRAMEABLE:
        ancestors = "*"
    else:
        # X-Frame-Options for browsers that predate CSP's frame-ancestors (clickjacking).
        response.headers["X-Frame-Options"] = "DENY"
        ancestors = "'none'"
    desk = request.blueprint == "desk"
    policy = DESK_POLICY if desk else POLICY
    if response.mimetype == "text/html":
        # Every page of a part has the same import map; a 304 must allow it as its 200 did.
        source = assets.import_map_source("desk" if desk else "reader")
        policy = policy.replace(SCRIPT_SRC, f"{SCRIPT_SRC} {source}")
    response.headers["Content-Security-Policy"] = f"{policy}; frame-ancestors {ancestors}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
    return response


# Read from other sites' pages too: the fragment a host includes, and the modules that embed.js
# imports there to keep it live (a cross-origin module script must be allowed by CORS).
SHARED_READS = {"fragment.story_fragment"}


def _is_read_api() -> bool:
    path = request.path
    return (path.startswith(("/api/", "/static/js/")) or path == "/oembed"
            or request.endpoint in SHARED_READS)


def allow_cross_origin_reads(response: Response) -> Response:
    """Let any site read the public API, oEmbed, fragments and modules (no credentials)."""
    if not _is_read_api():
        return response
    if request.method in READS:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag"
    elif request.method == "OPTIONS" and (
        request.headers.get("Access-Control-Request-Method") in READS
    ):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        response.headers["Access-Control-Allow-Headers"] = READ_HEADERS
        response.headers["Access-Control-Max-Age"] = "86400"
    return response


def init_app(app: Flask) -> None:
    """Set the security and CORS headers on every response."""
    app.after_request(set_security_headers)
    app.after_request(allow_cross_origin_reads)
