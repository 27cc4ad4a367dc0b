"""What a reader's socket leaves behind: its close code, how long it lasted, the last seq sent.

flask-sock answers the handshake with 101 and gives the view a socket; the Response the view
returns is a placeholder (200) that never reaches the wire. `watch` notes the first close frame
the server builds on the socket, whoever asked for it: the live view (4404, 1012, 1013, …),
simple-websocket itself (1009), or the echo of the reader's own close (1000, 1001). A socket that
ended with no close frame at all dropped: 1006. The request's log line (logging_setup) then says
101 with that code, and the code is counted in `liveblog_websocket_disconnects_total{code}`.
"""

from __future__ import annotations

from wsproto.events import CloseConnection

from liveblog import metrics

DROPPED = 1006  # RFC 6455's "abnormal closure": the connection ended without a close frame


class Trace:
    """One live socket's close code and reader, filled in while it is open."""

    def __init__(self):
        self.close_code: int | None = None
        self.reader = None  # the live view's Reader, once the story is known: its last seq
        self.watched = None  # the wsproto connection whose `send` is wrapped, until `finish`


def watch(ws) -> Trace:
    """Start noting what the socket ends with; the request's log line reads it."""
    trace = Trace()
    # simple-websocket builds every frame it writes with its wsproto connection's send().
    connection = ws.ws
    build = connection.send

    def send(event):
        if isinstance(event, CloseConnection) and trace.close_code is None:
            trace.close_code = int(event.code)
        return build(event)

    connection.send = send
    trace.watched = connection
    return trace


def finish(trace: Trace) -> dict:
    """Count a traced socket's close and return its fields for the request's log line."""
    if trace.watched is not None:
        # Back to wsproto's own send: the wrapper and the connection held each other, which
        # only a full garbage collection would have freed.
        vars(trace.watched).pop("send", None)
        trace.watched = None
    code = trace.close_code or DROPPED
    metrics.socket_closed(code)
    fields = {"status": 101, "close_code": code}
    if trace.reader is not None:
        fields["last_seq"] = trace.reader.last_seq
    return fields
