"""Where webhooks may go: http(s) only, and no private, loopback or link-local addresses."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ..errors import Invalid


def check_target(url: str, allow_private: bool = False) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to an internal address.

    Checked when an endpoint is registered and again before every delivery, because DNS can
    change its answer between the two.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("A webhook URL must be an http:// or https:// address.", {"url": "invalid"})
    if parts.username or parts.password:
        raise Invalid("Put no user name or password in a webhook URL.", {"url": "invalid"})
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        answers = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, ValueError):
        raise Invalid("The webhook's host name does not resolve.",
                      {"url": "unknown host"}) from None
    for *_, sockaddr in answers:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if not address.is_global:
            raise Invalid(
                f"The webhook's host resolves to an internal address ({address}); an admin can "
                "allow internal receivers with WEBHOOKS_ALLOW_PRIVATE=1.",
                {"url": "internal address"},
            )
