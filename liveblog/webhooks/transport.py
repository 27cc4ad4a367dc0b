"""One webhook POST, to the address that was checked, never following a redirect.

urllib would resolve the host again when it connects (a name can answer a public address to the
check and 127.0.0.1 to the connect) and would follow a 3xx to wherever it points, signature
header included. These connections take the checked address instead of resolving, while the
Host header, TLS SNI and the certificate check keep using the host name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from http import HTTPStatus

from liveblog.webhooks.targets import Target

TIMEOUT_SECONDS = 5  # to connect, and for each read
# A receiver that trickles its answer a byte at a time is cut off here, so an attempt always
# ends well within the deliverer's lease.
DEADLINE_SECONDS = 3 * TIMEOUT_SECONDS


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a fixed IP address, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float = TIMEOUT_SECONDS):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        """Connect to the checked address; the host name is only for the Host header."""
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PinnedHTTPSConnection(PinnedHTTPConnection):
    """An HTTPS connection to a fixed IP address whose certificate must match the host name."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, address: str, timeout: float = TIMEOUT_SECONDS,
                 context: ssl.SSLContext | None = None):
        super().__init__(host, port, address, timeout)
        self.ssl_context = context or ssl.create_default_context()

    def connect(self) -> None:
        """Connect to the checked address, then speak TLS to the host name (SNI, certificate)."""
        super().connect()
        self.sock = self.ssl_context.wrap_socket(self.sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str]) -> tuple[int | None, str | None]:
    """POST the body once; return (status, error), error None only for a 2xx answer."""
    last_error = "no address to connect to"
    for address in target.addresses:
        kind = PinnedHTTPSConnection if target.scheme == "https" else PinnedHTTPConnection
        connection = kind(target.host, target.port, address)
        # The deadline closes the socket under a read that would otherwise go on and on.
        watchdog = threading.Timer(DEADLINE_SECONDS, _cut, (connection,))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request("POST", target.path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, _refusal(response)
        except ConnectionRefusedError as error:  # another address of the host may answer
            last_error = str(error) or "connection refused"
        except (OSError, http.client.HTTPException, ValueError) as error:
            return None, (str(error) or type(error).__name__)[:500]
        finally:
            watchdog.cancel()
            connection.close()
    return None, last_error[:500]


def _cut(connection: http.client.HTTPConnection) -> None:
    # shutdown, not close: closing a socket does not wake a thread blocked reading it.
    sock = connection.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _refusal(response: http.client.HTTPResponse) -> str | None:
    # Only a 2xx is a delivery. A redirect is a failure like any other: following it would send
    # the signed event (or a GET carrying its signature) wherever the receiver points.
    if 200 <= response.status < 300:
        return None
    if 300 <= response.status < 400:
        location = response.getheader("Location") or "nowhere"
        return f"a redirect, not followed (to {location})"[:500]
    try:
        return HTTPStatus(response.status).phrase
    except ValueError:
        return f"HTTP {response.status}"
