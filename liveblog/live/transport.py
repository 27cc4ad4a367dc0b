"""A reader's socket: every reach into simple-websocket, flask-sock and gevent insides, here only.

flask-sock hands the live route a simple-websocket `Server`, whose own thread keeps reading the
socket: it answers pings, echoes a close, and queues what the reader sends. Under gevent there is
no such thread: the live route's own loop reads (SocketWatch), so a flask-sock route must read
through a Connection, never `ws.receive`. simple-websocket's public `send` builds a wsproto
event per frame per reader; the live route instead writes one pre-encoded frame to every socket
itself, and the hub writes straight to the operating system's socket of a caught-up reader
without waiting; once open, the wsproto connection drops its finished handshake. What that
takes of the libraries' insides is below, and pinned by tests/test_transport.py, so an upgrade
that changes any of it fails there, naming what changed.
"""

from __future__ import annotations

import _socket
import base64
import hashlib
import logging
import socket
import ssl
import struct
import threading
import time

import gevent
from gevent import monkey
from gevent.event import Event
from gevent.lock import BoundedSemaphore
from gevent.socket import wait_read
from simple_websocket import Server
from wsproto import ConnectionType
from wsproto.connection import Connection as OpenConnection
from wsproto.utilities import LocalProtocolError

log = logging.getLogger(__name__)

# How long to let simple-websocket's thread finish a close it has begun (see `settle`).
SETTLE_SECONDS = 0.05
# How long a reader we sent a close has to answer it before the connection is ended anyway.
CLOSE_ANSWER_SECONDS = 2.0
# Reads of up to simple-websocket's receive_bytes (4 KB) per wake-up of a reader's loop.
READS_PER_PUMP = 16
# RFC 6455 section 1.3: the server proves it read the client's key by hashing it with this.
WEBSOCKET_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_token(key: str) -> str:
    """Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1(key.encode() + WEBSOCKET_GUID).digest()).decode()


def accept(environ: dict, token: str, headers: dict[str, str], options: dict):
    """Answer a handshake already checked (lane.py) with 101; its simple-websocket Server.

    flask-sock's Server has wsproto parse the request again from the environ and build the
    answer through h11, which a reconnect storm pays thousands of times; this writes the
    answer and starts the open connection, with no extension (see `refuse_compression`).
    """
    return _AcceptedServer(environ, token, headers, **options)


class _AcceptedServer(Server):
    """A simple-websocket Server whose handshake is a written 101, not a parsed request."""

    def __init__(self, environ: dict, token: str, headers: dict[str, str], **options):
        lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Accept: {token}",
                 *(f"{name}: {value}" for name, value in headers.items())]
        self._answer = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        super().__init__(environ, **options)

    def handshake(self) -> None:
        """Write the 101 and open the connection (Base.__init__ calls this)."""
        self.ws.connection = OpenConnection(ConnectionType.SERVER)
        self.sock.sendall(self._answer)
        self.connected = True


def close_quietly(ws) -> None:
    """Close the socket if it is open, as flask-sock does once its view returns."""
    try:
        ws.close()
    except Exception:  # closed already, or the reader is gone
        pass


def refuse_compression(environ: dict) -> None:
    """Leave permessage-deflate out of the handshake flask-sock is about to answer.

    It costs ~250 KB and one compression per reader per frame, and would make each reader's
    bytes differ; without it one encoded frame is written to every socket. simple-websocket
    reads the offer from the WSGI environ when flask-sock builds it, after the request's hooks.
    """
    environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)


def reader_thread(target):
    """simple-websocket's reading thread: none under gevent (a watch), a thread otherwise.

    Passed to simple-websocket as its `thread_class` (SOCK_SERVER_OPTIONS). Under gevent a
    threading.Thread is a Thread object, its locks and a gevent Greenlet with its stack, about
    7 KB a reader kept for as long as the reader stays. A SocketWatch instead lets the reader's
    own loop do the reading; over TLS (no operating system's socket to read around gevent's), a
    bare greenlet does the thread's job.
    """
    if not monkey.is_module_patched("threading"):
        return threading.Thread(target=target)
    server = getattr(target, "__self__", None)
    raw = raw_socket(server.sock) if server is not None else None
    if raw is None:
        return BareGreenlet(target)
    return SocketWatch(server, raw)


class SocketWatch:
    """In place of simple-websocket's reading thread under gevent: a watch, not a greenlet.

    An io watcher wakes the reader's loop (the server's event) when the reader has sent
    something; the loop then reads it with `pump`, which does what simple-websocket's thread
    would (answer a ping, answer or finish a close, queue a message) through the server's own
    event handling. The watcher fires once per `arm`, so bytes the loop has not read yet cost a
    wake-up per turn of the loop, never a spinning hub.
    """

    __slots__ = ("name", "_server", "_raw", "_watcher", "_done")

    def __init__(self, server, raw: _socket.socket):
        self.name = "simple_websocket.Base._thread"
        self._server = server
        self._raw = raw
        self._watcher = None
        self._done = False

    def start(self) -> None:
        """Watch the socket for the reader's bytes."""
        self._watcher = gevent.get_hub().loop.io(self._raw.fileno(), 1)  # 1: readable
        self.arm()

    def arm(self) -> None:
        """Wake the loop once when the reader's bytes are there (at once if some are)."""
        if not self._done and not self._watcher.active:
            self._watcher.start(self._readable)

    def _readable(self) -> None:
        # In the hub's loop: no blocking here, only a wake-up.
        self._watcher.stop()
        self._server.event.set()

    def pump(self) -> None:
        """Read and handle what the reader sent, as simple-websocket's thread does per read."""
        server = self._server
        for _ in range(READS_PER_PUMP):  # a reader that floods waits for the loop's next turn
            if self._done:
                return
            try:
                data = self._raw.recv(server.receive_bytes, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            try:
                if not data:
                    raise ConnectionResetError("the reader hung up")
                server.ws.receive_data(data)
                server.connected = server._handle_events()
            except (OSError, LocalProtocolError):
                server.connected = False
            if not server.connected:
                self.end()

    def end(self) -> None:
        """Stop watching and close the socket, as the thread does when its loop ends."""
        if self._done:
            return
        server = self._server
        self.stop_watching()
        server.event.set()
        server.sock.close()

    def stop_watching(self) -> None:
        """Let go of the watcher and the server (the request is over; the server closes it)."""
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher.close()
            self._watcher = None
        self._done = True
        # The server holds this as its `thread`: without the cycle, reference counting frees
        # a departed reader at once, instead of the next full garbage collection.
        self._server = None

    def join(self, timeout: float | None = None) -> None:
        """Read until the connection's end (a close answered, a hang-up), at most `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done:
            self.pump()
            left = None if deadline is None else deadline - time.monotonic()
            if self._done or (left is not None and left <= 0):
                return
            try:
                wait_read(self._raw.fileno(), timeout=left)
            except (TimeoutError, OSError):
                return

    def is_alive(self) -> bool:
        """Whether the connection has not ended yet."""
        return not self._done


class BareGreenlet:
    """The little of threading.Thread that simple-websocket and this module use."""

    __slots__ = ("name", "_target", "_done")

    def __init__(self, target):
        self.name = "simple_websocket.Base._thread"
        self._target = target
        self._done = Event()

    def start(self) -> None:
        """Run the target in a greenlet of its own."""
        gevent.spawn_raw(self._run)

    def _run(self) -> None:
        try:
            self._target()
        except Exception:  # as a thread's would be: logged, and only this reader ends
            log.exception("a live socket's reading greenlet failed")
        finally:
            self._done.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the target has returned, at most `timeout`."""
        self._done.wait(timeout)

    def is_alive(self) -> bool:
        """Whether the target is still running."""
        return not self._done.is_set()


def encode_text_frame(text: str) -> bytes:
    """Encode a final, unmasked WebSocket text frame (RFC 6455 section 5.2)."""
    data = text.encode()
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 65536:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + data


def wire_of(frame) -> bytes:
    """A hub frame as bytes on the wire, encoded once and shared by every reader."""
    if frame.wire is None:
        frame.wire = encode_text_frame(frame.text)
    return frame.wire


def writers_are_greenlets() -> bool:
    """Whether every writer of a socket is a greenlet of one thread (gevent's worker)."""
    return monkey.is_module_patched("threading")


def writers_lock() -> threading.Lock | BoundedSemaphore:
    """The lock a connection's writers take turns with: gevent's own when threads are greenlets."""
    # Monkey-patched, threading.Lock is gevent's semaphore behind a Python wrapper for waits
    # from other operating-system threads, which never write here.
    if writers_are_greenlets():
        return BoundedSemaphore(1)
    return threading.Lock()


class Connection:
    """A simple-websocket connection that the live route and the hub also write to, in turn.

    Three parties write: the reader's loop, the hub (`send_nowait`, for a caught-up reader) and
    simple-websocket's thread. Whoever holds `lock` writes, so frames never interleave.
    """

    __slots__ = ("lock", "unsent", "wakeup", "_ws", "_sock", "_raw", "_watch")

    def __init__(self, ws):
        self.lock = writers_lock()
        # The rest of a frame `send_nowait` could only partly write. Shared with the writes
        # simple-websocket makes (a pong, a close), which must finish it first.
        self.unsent = bytearray()
        # Set by simple-websocket when a message or a close arrives, and by the hub when it
        # queues a frame, so one wait covers all three.
        self.wakeup: threading.Event = ws.event
        self._ws = ws
        self._sock = ws.sock  # written to only with the lock held, so not through the wrapper
        forget_handshake(ws.ws)
        self._raw = raw_socket(ws.sock)
        # Under gevent nobody reads the socket but this connection's loop (SocketWatch).
        self._watch = ws.thread if isinstance(ws.thread, SocketWatch) else None
        # simple-websocket writes through `ws.sock` (pongs, closes): through the lock as well,
        # and after the rest of a frame that went out in parts, so a pong never lands inside it.
        ws.sock = LockedWrites(ws.sock, self.lock, self.unsent)

    @property
    def connected(self) -> bool:
        """Whether neither side has closed the connection."""
        return self._ws.connected

    @property
    def fast(self) -> bool:
        """Whether the hub may write to this socket without waiting (not over TLS)."""
        return self._raw is not None

    def sendall(self, data: bytes) -> None:
        """Write a part frame left over, then `data`, waiting for room; hold `lock`."""
        self.flush()
        self._sock.sendall(data)

    def flush(self) -> None:
        """Finish writing a frame `send_nowait` started; hold `lock`."""
        finish_frame(self._sock, self.unsent)

    def send_nowait(self, data: bytes) -> bool | None:
        """Write what the socket takes at once, with one non-blocking send; hold `lock`.

        True: all of it went. False: part of it went, and the rest waits in `unsent` for a
        `flush`. None: nothing went (the socket is full or gone, or this is TLS). Under gevent
        the hub may call it with `lock` free instead of held (stream.GreenletReader): it never
        waits, so no other writer runs before it returns.
        """
        if self._raw is None:
            return None
        try:
            # On the operating system's socket: gevent's would park this greenlet when full.
            sent = self._raw.send(data, socket.MSG_DONTWAIT)
        except OSError:  # full (EAGAIN) or gone: the reader's loop queues or sees the close
            return None
        if sent < len(data):
            self.unsent += memoryview(data)[sent:]
            return False
        return True

    def wait(self, timeout: float) -> bool:
        """Wait for a frame, a message or a close, at most `timeout`; whether one came."""
        if self._watch is not None:
            self._watch.arm()
        woken = self.wakeup.wait(timeout=timeout)
        self.wakeup.clear()
        return woken

    def discard_incoming(self) -> int:
        """Throw away what the reader sent (readers have nothing to say); return how much.

        Straight from simple-websocket's buffer: receive(timeout=0) would cost a timer per
        frame per reader under gevent.
        """
        if self._watch is not None:
            self._watch.pump()  # no thread has read it: read it now
        incoming = self._ws.input_buffer
        count = len(incoming)
        incoming.clear()
        return count

    def settle(self) -> None:
        """Let simple-websocket's thread finish a close it has begun.

        It sets the event just before it marks a closing socket as closed; without this, a
        loop woken by a close could find the socket still `connected`, and wait again.
        """
        self._ws.thread.join(timeout=SETTLE_SECONDS)

    def close(self, code: int, reason: str) -> None:
        """Send a close frame with this code, wait for the answer, and end the connection.

        Does nothing if the connection is closed already. RFC 6455 has the server end the TCP
        connection once both closes are exchanged, and clients wait for that. simple-websocket's
        thread reads the answer and closes the socket, unless the server's own request thread
        reads it first: Werkzeug's, after the route, reads whatever is left of a request until
        the client hangs up, which a client waiting for us never does.
        """
        if not self._ws.connected:
            return
        self._ws.close(code, reason)
        self._ws.thread.join(timeout=CLOSE_ANSWER_SECONDS)
        # No answer in time (or taken by the server's thread): end it for both of them.
        self.cut_off()

    def release(self) -> None:
        """The request is over: stop watching the socket (the server closes it)."""
        if self._watch is not None:
            self._watch.stop_watching()

    def cut_off(self) -> None:
        """Drop the connection at once, with no close frame (a reader too far behind)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _Handshaken:
    """A wsproto handshake that is over: it has no more events to give."""

    __slots__ = ()

    def events(self):
        """Nothing: every event now comes from the open connection."""
        return iter(())


HANDSHAKEN = _Handshaken()


def forget_handshake(connection) -> bool:
    """Let a wsproto WSConnection drop its finished handshake; whether it could.

    Once open, a WSConnection sends and receives through its `connection` and only asks its
    `handshake` for events, which it has no more of; the handshake keeps the h11 connection
    and the request it parsed (about 3 KB a reader, for as long as the reader stays).
    """
    if connection.connection is None:
        return False
    connection.handshake = HANDSHAKEN
    return True


def finish_frame(sock, unsent: bytearray) -> None:
    """Write the rest of a frame that went out in parts, if any; hold the writers' lock."""
    if unsent:
        rest = bytes(unsent)
        unsent.clear()
        sock.sendall(rest)


class LockedWrites:
    """A socket whose writes wait for the lock and a part-written frame; the rest goes through."""

    def __init__(self, sock, lock: threading.Lock, unsent: bytearray):
        self._wrapped = sock
        self._lock = lock
        # The connection's own buffer, not the connection: no cycle through the server.
        self._unsent = unsent

    def send(self, data, *args) -> int:
        """Send once the lock is free and the frame in parts is whole."""
        with self._lock:
            finish_frame(self._wrapped, self._unsent)
            return self._wrapped.send(data, *args)

    def sendall(self, data, *args) -> None:
        """Send everything once the lock is free and the frame in parts is whole."""
        with self._lock:
            finish_frame(self._wrapped, self._unsent)
            self._wrapped.sendall(data, *args)

    def __getattr__(self, name: str):
        return getattr(self._wrapped, name)


def raw_socket(sock) -> _socket.socket | None:
    """The operating system's socket under a server's socket, or None where none may be used.

    gevent's cooperative socket wraps it in `_sock`; a plain socket (Werkzeug's) is its own. A
    TLS socket must never be written around, so it has none.
    """
    if isinstance(sock, ssl.SSLSocket):
        return None
    raw = getattr(sock, "_sock", sock)
    return raw if isinstance(raw, _socket.socket) else None
