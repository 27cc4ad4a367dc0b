"""The contract liveblog/live/transport.py holds with simple-websocket, flask-sock and gevent.

The transport reaches into those libraries' insides (the socket a simple-websocket Server keeps,
its event, buffer and thread, the operating system's socket under gevent's). An upgrade that
moves any of them would show up far away: a slow fan-out, a frame cut by a pong, a worker that
blocks. Here the live route's body is replaced by `probe`, which makes each of the transport's
moves on the socket flask-sock hands over and writes down what it saw, while a hand-made client
plays its part on the wire; each assertion says which library's shape changed. It runs on a real
Werkzeug server, as the tests do, and in a gunicorn gevent worker, as production does.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import threading
import time
from importlib.metadata import version

import pytest
from servers import ROOT, SERVER_POLL_SECONDS, Gunicorn, seed
from werkzeug.serving import make_server

from liveblog import create_app
from liveblog.live import lane, stream, transport

WAIT = 5.0  # upper bound for anything that should happen in well under a second
RECORD = "LIVEBLOG_TRANSPORT_PROBE"  # the file `probe` writes its findings to, one JSON a line
LIBRARIES = ", ".join(f"{name} {version(name)}" for name in
                      ("simple-websocket", "flask-sock", "gevent", "wsproto"))
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


def _name(thing) -> str:
    kind = type(thing)
    return f"{kind.__module__}.{kind.__qualname__}"


def probe(connection: transport.Connection, slug: str, after: int | None, trace) -> None:
    """In place of the live route's body: the transport's moves, one by one, noted in RECORD."""
    with open(os.environ[RECORD], "a") as record:

        def note(**facts) -> None:
            record.write(json.dumps(facts) + "\n")
            record.flush()

        try:
            _probe(connection, note)
        except Exception as error:  # noted, so the test says where the probe stopped, and why
            note(step="failed", error=repr(error))
            raise


def _probe(connection: transport.Connection, note) -> None:
    ws = connection._ws  # the simple-websocket Server flask-sock made, to describe it
    note(step="shape", server=_name(ws), mode=getattr(ws, "mode", None), fast=connection.fast,
         socket=_name(connection._sock), connected=getattr(ws, "connected", None),
         event=_name(getattr(ws, "event", None)), wsproto=_name(getattr(ws, "ws", None)),
         input_buffer=_name(getattr(ws, "input_buffer", None)),
         handshake=_name(getattr(getattr(ws, "ws", None), "handshake", None)),
         thread=_name(getattr(ws, "thread", None)),
         pump={"receive_bytes": getattr(ws, "receive_bytes", None),
               "handle_events": callable(getattr(ws, "_handle_events", None))},
         # flask-sock passes SOCK_SERVER_OPTIONS (config.py) to the Server
         max_message_size=getattr(ws, "max_message_size", None),
         # Which Reader the live route makes: the hub writes without the lock only where every
         # writer is a greenlet of one thread.
         reader=_name(stream.reader_of(connection)))
    # The hub's write to a caught-up reader: one non-blocking send.
    with connection.lock:
        sent = connection.send_nowait(transport.encode_text_frame("fast"))
        if sent is None:  # so the dialogue goes on, and the finding says what went wrong
            connection.sendall(transport.encode_text_frame("fast"))
        connection.flush()
    note(step="fast", sent=sent)
    # A message from the reader ends the wait, and is thrown away.
    woken = connection.wait(WAIT)
    discarded = connection.discard_incoming()
    note(step="message", woken=woken, discarded=discarded, left=ws.receive(timeout=0))
    # simple-websocket's own writes (here a pong) wait while the lock is held.
    with connection.lock:
        connection.sendall(transport.encode_text_frame("locked"))
        connection.wait(WAIT)  # the reader's ping and a message after it, read together
        connection.sendall(transport.encode_text_frame("unlocking"))
    # The reader closes: the wait ends, and once settled the connection says so.
    deadline = time.monotonic() + WAIT
    woken = False
    while connection.connected and time.monotonic() < deadline:
        woken = connection.wait(max(0.0, deadline - time.monotonic()))
        connection.discard_incoming()  # "pinged", if it came apart from the ping
        if woken:
            connection.settle()
    raw = connection._raw

    def raw_closed() -> bool:
        return raw is not None and raw.fileno() == -1

    while ws.mode == "gunicorn" and not raw_closed() and time.monotonic() < deadline:
        time.sleep(0.01)  # gevent closes its OS socket from its loop, soon after
    note(step="close", woken=woken, connected=connection.connected,
         thread_alive=ws.thread.is_alive(), raw_closed=raw_closed())


class Client:
    """A hand-made WebSocket client, to see every frame in the order it came."""

    def __init__(self, port: int, path: str):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            .encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.head = head.decode("latin-1").lower()

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        assert chunk, "the server closed the connection"
        self.buffer += chunk

    def send(self, opcode: int, payload: bytes) -> None:
        """Send one masked frame, as a browser does."""
        self.sock.sendall(self.frame(opcode, payload))

    @staticmethod
    def frame(opcode: int, payload: bytes) -> bytes:
        """A final, masked client frame with a short payload."""
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        return bytes((0x80 | opcode, 0x80 | len(payload))) + mask + masked

    def receive(self) -> tuple[int, bytes]:
        """The next frame from the server: (opcode, payload)."""
        while len(self.buffer) < 2:
            self._read()
        size, start = self.buffer[1] & 0x7F, 2
        if size == 126:
            while len(self.buffer) < 4:
                self._read()
            size, start = struct.unpack("!H", self.buffer[2:4])[0], 4
        while len(self.buffer) < start + size:
            self._read()
        opcode, payload = self.buffer[0] & 0x0F, self.buffer[start:start + size]
        self.buffer = self.buffer[start + size:]
        return opcode, payload


def play_the_reader(port: int) -> list[tuple[int, bytes]]:
    """Connect to the probe and play the reader's part; every frame the server sent, in order.

    A frame that does not come ends the part there: the probe's findings then say why.
    """
    client = Client(port, "/api/stories/probe/live")
    seen: list[tuple[int, bytes]] = []
    try:
        assert client.head.startswith("http/1.1 101"), client.head
        # flask-sock builds the Server from the environ after the app's request hooks, and
        # simple-websocket takes the extensions offered from it: none must be agreed.
        assert "sec-websocket-extensions" not in client.head, (
            f"{LIBRARIES}: permessage-deflate was agreed although transport.refuse_compression "
            "took the offer out of the WSGI environ before the handshake")
        seen.append(client.receive())  # "fast"
        client.send(TEXT, b"hello")
        seen.append(client.receive())  # "locked"
        client.sock.sendall(client.frame(PING, b"p") + client.frame(TEXT, b"pinged"))
        seen.append(client.receive())  # "unlocking" and the pong, in some order
        seen.append(client.receive())
        client.send(CLOSE, struct.pack("!H", 1000))
        seen.append(client.receive())  # the echo of the close
    except TimeoutError:
        pass
    finally:
        client.sock.close()
    return seen


def findings(path) -> dict[str, dict]:
    """What the probe wrote down, by step, once it has written its last step (bounded)."""
    deadline = time.monotonic() + 4 * WAIT  # the probe waits at most WAIT for each of three
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        steps = {fact["step"]: fact for fact in map(json.loads, lines)}
        if "close" in steps or "failed" in steps:
            return steps
        assert time.monotonic() < deadline, (
            f"the probe stopped after {list(steps)}; a failure before it is in the server's log")
        time.sleep(0.02)  # another thread (or process) writes the file: nothing to wait on


def assert_the_contract_holds(seen: list[tuple[int, bytes]], steps: dict[str, dict]) -> None:
    """Each shape the transport relies on, with what changed if one does not hold."""
    shape = steps["shape"]
    # Through Flask, flask-sock's Server; through the lane (live/lane.py), the transport's own.
    assert shape["server"] in ("simple_websocket.ws.Server",
                               "liveblog.live.transport._AcceptedServer"), (
        f"{LIBRARIES}: the route was handed a {shape['server']}")
    assert shape["connected"] is True and shape["input_buffer"] == "builtins.list", (
        f"{LIBRARIES}: simple-websocket's Server has no `connected` flag or list "
        f"`input_buffer` (it has {shape['input_buffer']})")
    assert shape["event"] != "builtins.NoneType", f"{LIBRARIES}: simple-websocket has no `event`"
    assert shape["wsproto"] == "wsproto.WSConnection", (
        f"{LIBRARIES}: simple-websocket's `ws.ws` is a {shape['wsproto']}; "
        "web/socket_trace.py reads close codes from a wsproto WSConnection")
    assert shape["handshake"] == "liveblog.live.transport._Handshaken", (
        f"{LIBRARIES}: wsproto's WSConnection had no open `connection` when flask-sock handed "
        f"the socket over, so its finished handshake (h11) was kept: {shape['handshake']}")
    assert shape["max_message_size"] == 4096, (
        f"{LIBRARIES}: flask-sock no longer passes SOCK_SERVER_OPTIONS to the Server")
    assert shape["fast"] is True, (
        f"{LIBRARIES}: no operating-system socket found under simple-websocket's `ws.sock` "
        f"({shape['socket']}): the hub's non-blocking write is off for every reader")
    assert "failed" not in steps, f"{LIBRARIES}: the probe failed: {steps['failed']}"
    assert steps["fast"]["sent"] is True and seen[:1] == [(TEXT, b"fast")], (
        f"{LIBRARIES}: a non-blocking send on the socket under `ws.sock` did not reach the "
        f"reader whole: {steps['fast']}, then {seen[:1]}")
    message = steps["message"]
    assert message == {"step": "message", "woken": True, "discarded": 1, "left": None}, (
        f"{LIBRARIES}: a message no longer sets simple-websocket's `ws.event` and lands in "
        f"`ws.input_buffer`, where receive() reads it: {message}")
    assert seen[1:4] == [(TEXT, b"locked"), (TEXT, b"unlocking"), (PONG, b"p")], (
        f"{LIBRARIES}: simple-websocket wrote a pong while the transport held the lock, so "
        f"it no longer writes through `ws.sock`, and could cut into a frame: {seen[1:4]}")
    closed = steps["close"]
    assert seen[4:] == [(CLOSE, struct.pack("!H", 1000))], (
        f"{LIBRARIES}: the reader's close was not echoed: {seen[4:]}")
    assert closed["woken"] and not closed["connected"] and not closed["thread_alive"], (
        f"{LIBRARIES}: a close no longer sets `ws.event`, clears `ws.connected` and ends "
        f"`ws.thread` within Connection.settle: {closed}")


# Which way the probe's handshake goes: the lane (live/lane.py) takes every well-formed one, so
# for flask-sock's the lane is told to take none (`to_flask`), as for an unusual handshake.
WAYS = {"flask-sock": "simple_websocket.ws.Server",
        "lane": "liveblog.live.transport._AcceptedServer"}


def to_flask(lane, environ) -> None:
    """In place of LiveLane._common_case: no handshake is the lane's."""
    return None


@pytest.fixture(params=list(WAYS))
def werkzeug_probe(request, tmp_path, monkeypatch):
    """The app on a real threaded Werkzeug server, with the probe as the live route's body."""
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv(RECORD, str(tmp_path / "probe.jsonl"))
    monkeypatch.setattr(stream, "_serve", probe)
    if request.param == "flask-sock":
        monkeypatch.setattr(lane.LiveLane, "_common_case", to_flask)
    app = create_app({"TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'probe.sqlite3'}"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(SERVER_POLL_SECONDS,),
                              daemon=True)
    thread.start()
    yield server.server_port, tmp_path / "probe.jsonl", WAYS[request.param]
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def test_the_transport_contract_holds_on_werkzeug(werkzeug_probe):
    port, record, server = werkzeug_probe
    seen = play_the_reader(port)
    steps = findings(record)
    assert steps["shape"]["server"] == server
    assert steps["shape"]["mode"] == "werkzeug" and steps["shape"]["socket"] == "socket.socket"
    assert steps["shape"]["thread"] == "threading.Thread"  # no gevent here: a real thread
    assert steps["shape"]["reader"] == "liveblog.live.stream.Reader"  # which takes the lock
    assert_the_contract_holds(seen, steps)


GEVENT_PROBE_CONFIG = """\
from liveblog.ops import gunicorn_conf
from liveblog.ops.gunicorn_conf import *  # noqa: F403


def post_worker_init(worker):
    # In the worker, after gevent has patched it: the probe as the live route's body.
    import sys

    sys.path.insert(0, {tests!r})
    import test_transport
    from liveblog.live import stream

    gunicorn_conf.post_worker_init(worker)
    stream._serve = test_transport.probe
    if {to_flask!r}:
        from liveblog.live import lane

        lane.LiveLane._common_case = test_transport.to_flask
"""


@pytest.mark.slow
@pytest.mark.parametrize("way", list(WAYS))
def test_the_transport_contract_holds_in_a_gunicorn_gevent_worker(tmp_path, way):
    config = tmp_path / "gunicorn_probe.py"
    config.write_text(GEVENT_PROBE_CONFIG.format(tests=os.path.join(ROOT, "tests"),
                                                 to_flask=way == "flask-sock"))
    record = tmp_path / "probe.jsonl"
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"), RECORD: str(record)}
    env.pop("DATABASE_URL", None)  # the instance folder's SQLite file
    env.pop("REDIS_URL", None)
    seed(env)
    with Gunicorn(env, str(tmp_path / "gunicorn.log"), config=str(config)) as server:
        seen = play_the_reader(server.port)
        steps = findings(record)
    shape = steps["shape"]
    assert shape["server"] == WAYS[way] and shape["mode"] == "gunicorn", shape
    assert shape["socket"] == "gevent._socket3.socket", (
        f"{LIBRARIES}: gunicorn's gevent worker handed simple-websocket a {shape['socket']}")
    assert shape["event"].startswith("gevent."), (
        f"{LIBRARIES}: simple-websocket's `ws.event` is a {shape['event']}, not gevent's: "
        "the reader's wait would block the whole worker")
    assert shape["thread"] == "liveblog.live.transport.SocketWatch", (
        f"{LIBRARIES}: simple-websocket no longer builds its reading thread with the "
        f"`thread_class` flask-sock passes from SOCK_SERVER_OPTIONS: {shape['thread']}")
    assert shape["reader"] == "liveblog.live.stream.GreenletReader", shape["reader"]
    # What SocketWatch.pump does in the thread's place: read receive_bytes at a time and hand
    # them to wsproto and simple-websocket's own event handling.
    assert shape["pump"] == {"receive_bytes": 4096, "handle_events": True}, (
        f"{LIBRARIES}: simple-websocket's reading step moved: {shape['pump']}")
    assert_the_contract_holds(seen, steps)
    assert steps["close"]["raw_closed"], (
        f"{LIBRARIES}: closing gevent's socket left the OS socket under it (`_sock`) open; "
        "the hub could write to a descriptor reused by another connection")
    assert "Traceback" not in (tmp_path / "gunicorn.log").read_text()
