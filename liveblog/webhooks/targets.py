"""Where webhooks may go: http(s) only, and no private, loopback or link-local addresses."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from liveblog.errors import Invalid


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart, with the addresses its host resolved to when it was checked."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def check_target(url: str, allow_private: bool = False) -> Target:
    """Resolve the URL's host once and refuse it if any of its addresses is internal.

    Checked when an endpoint is registered and before every delivery, which then connects to
    these very addresses: a name that resolves again could answer differently the second time.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("A webhook URL must be an http:// or https:// address.", {"url": "invalid"})
    if parts.username or parts.password:
        raise Invalid("Put no user name or password in a webhook URL.", {"url": "invalid"})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        answers = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM,
                                     proto=socket.IPPROTO_TCP)
    except (OSError, ValueError, UnicodeError):
        raise Invalid("The webhook's host name does not resolve.",
                      {"url": "unknown host"}) from None
    addresses = tuple(dict.fromkeys(sockaddr[0] for *_, sockaddr in answers))
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not (allow_private or address.is_global):
            raise Invalid(
                f"The webhook's host resolves to an internal address ({address}); an admin can "
                "allow internal receivers with WEBHOOKS_ALLOW_PRIVATE=1.",
                {"url": "internal address"},
            )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses)
