"""Brotli and gzip for text answers (pages, JSON, feeds, CSS, JS), never for the WebSocket."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_compress import Compress

SETTINGS = {
    # Register our hook instead, so the WebSocket handshake is left alone.
    "COMPRESS_REGISTER": False,
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    # Static files are streamed from disk; flask-compress leaves gzip out of its streaming list
    # by default, but a client that only speaks gzip should get smaller CSS and JS too.
    "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
    "COMPRESS_MIMETYPES": [
        "text/html",
        "text/css",
        "text/plain",
        "text/xml",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/feed+json",
        "application/xml",
        "application/atom+xml",
        "image/svg+xml",
    ],
}


def init_app(app: Flask) -> None:
    """Compress text answers; call it before the other hooks so that it runs after them."""
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    compress = Compress(app)

    def compress_response(response: Response) -> Response:
        """Compress the answer if it is text and the client accepts br or gzip."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return response
        body = response.response
        response = compress.after_request(response)
        # A streamed static file is wrapped in a compressing generator, which never closes the
        # file it reads from: close it with the response.
        if response.response is not body and hasattr(body, "close"):
            response.call_on_close(body.close)
        return response

    app.after_request(compress_response)
