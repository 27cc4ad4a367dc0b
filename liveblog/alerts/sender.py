"""One Web Push message: encrypted for the browser (RFC 8291), signed with VAPID (RFC 8292)."""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from py_vapid import Vapid

TIMEOUT_SECONDS = 5


@functools.cache
def _push_library():
    # Imported on the first alert, not at start: pywebpush brings aiohttp and requests (0.7 s),
    # which every gunicorn worker would pay at boot, delaying a restart's readers, for a
    # feature most stories never use.
    import requests
    from pywebpush import WebPusher

    class NoRedirects(requests.Session):
        """A session that never follows a redirect: the push service answers, nobody else."""

        def post(self, url, **kwargs):
            """POST once; a 3xx is an answer like any other."""
            kwargs["allow_redirects"] = False
            return super().post(url, **kwargs)

    return requests, WebPusher, NoRedirects


def send(endpoint: str, p256dh: str, auth: str, payload: bytes, key: Vapid, subject: str,
         ttl: int) -> tuple[int | None, str | None]:
    """POST one message; return (status, error), with the status None when none came back."""
    parts = urlsplit(endpoint)
    # RFC 8292 allows at most 24 hours; push services refuse a token past that, and py_vapid's
    # default is exactly 24, which a clock a second ahead overshoots. 12, as pywebpush uses.
    claims = {"sub": subject, "aud": f"{parts.scheme}://{parts.netloc}",
              "exp": int(time.time()) + 12 * 3600}
    headers = {**key.sign(claims), "Urgency": "high"}
    requests, WebPusher, NoRedirects = _push_library()  # noqa: N806 - a module and classes
    with NoRedirects() as session:
        pusher = WebPusher({"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
                           requests_session=session)
        try:
            response = pusher.send(payload, headers, ttl=ttl, content_encoding="aes128gcm",
                                   timeout=TIMEOUT_SECONDS)
        except (requests.RequestException, OSError, ValueError) as error:
            return None, (str(error) or type(error).__name__)[:300]
    return response.status_code, None if 200 <= response.status_code < 300 else response.reason
