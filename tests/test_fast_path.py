"""The hub's fast path: frames written straight to a caught-up reader's socket, never mixed up."""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace

import pytest

from liveblog.live.hub import Frame, Hub
from liveblog.live.stream import GreenletReader, Reader
from liveblog.live.transport import Connection, encode_text_frame


class FakeWebSocket:
    """What a Connection takes of a simple-websocket Server: its socket, its event, its
    wsproto connection (here one with no handshake left to drop) and its reading thread (here
    none: the test plays the reader's side itself).

    tests/test_transport.py pins them on the real one.
    """

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.event = threading.Event()
        self.ws = SimpleNamespace(connection=None)
        self.thread = None


@pytest.fixture(params=[Reader, GreenletReader], ids=["threads", "greenlets"])
def reader_on(request):
    """Make a Reader of a socket as the live route does, for writers that are threads (Werkzeug)
    or greenlets of one thread (gevent), whose hub writes without taking the lock."""

    def make(ws: FakeWebSocket, last_seq: int) -> Reader:
        return request.param(Connection(ws), last_seq)

    return make


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    # Small buffers so a big frame cannot be written in one go.
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.settimeout(5)
    yield server, client
    server.close()
    client.close()


def frame(seq: int, text: str | None = None) -> Frame:
    return Frame(1, seq, text or f'{{"type":"entry.created","seq":{seq}}}')


def read_frames(client: socket.socket, count: int) -> list[str]:
    """Read and decode `count` unmasked text frames from the socket."""
    buffer, texts = b"", []
    while len(texts) < count:
        buffer += client.recv(65536)
        while len(buffer) >= 2:
            length, start = buffer[1] & 0x7F, 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4]), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < start + length:
                break
            assert buffer[0] == 0x81  # final text frame: never a fragment of two frames mixed
            texts.append(buffer[start : start + length].decode())
            buffer = buffer[start + length :]
    return texts


# What simple-websocket answers a ping with: a pong with no payload.
PONG = bytes((0x8A, 0))


def collecting(client: socket.socket, received: bytearray, size: int) -> threading.Thread:
    """A thread (not started) that reads `size` bytes from the client's side into `received`."""

    def collect():
        while len(received) < size:
            received.extend(client.recv(65536))

    return threading.Thread(target=collect)


def test_a_caught_up_reader_is_written_to_without_being_woken(pair, reader_on):
    server, client = pair
    ws = FakeWebSocket(server)
    reader = reader_on(ws, last_seq=4)
    hub = Hub()
    subscription = hub.subscribe(1, wakeup=ws.event, write_now=reader.write_now)
    hub.dispatch(frame(5))
    assert read_frames(client, 1) == [frame(5).text]
    assert reader.last_seq == 5
    assert subscription.drain() == [] and not ws.event.is_set()


def test_a_reader_that_is_behind_is_left_to_its_own_loop(pair, reader_on):
    server, client = pair
    ws = FakeWebSocket(server)
    reader = reader_on(ws, last_seq=2)  # still replaying: seq 3 and 4 come from the log first
    subscription = Hub().subscribe(1, wakeup=ws.event, write_now=reader.write_now)
    subscription.offer(frame(5))
    assert [f.seq for f in subscription.drain()] == [5] and ws.event.is_set()
    client.settimeout(0.2)
    with pytest.raises(TimeoutError):
        client.recv(1)  # nothing was written out of order


def test_while_the_loop_writes_the_hub_queues_and_order_holds(pair, reader_on):
    server, client = pair
    ws = FakeWebSocket(server)
    reader = reader_on(ws, last_seq=0)
    subscription = Hub().subscribe(1, wakeup=ws.event, write_now=reader.write_now)
    with reader.connection.lock:  # the reader's loop is busy (a replay, a heartbeat)
        subscription.offer(frame(1))
    subscription.offer(frame(2))  # queued behind 1, though the socket is free now
    assert [f.seq for f in subscription.drain()] == [1, 2]


def test_a_partly_written_frame_is_finished_before_anything_else(pair, reader_on):
    server, client = pair
    ws = FakeWebSocket(server)
    reader = reader_on(ws, last_seq=0)
    big = frame(1, "x" * 200_000)
    assert reader.write_now(big) is False  # the socket took only part of it
    assert reader.connection.unsent and reader.last_seq == 1
    received: list[str] = []
    collector = threading.Thread(target=lambda: received.extend(read_frames(client, 3)))
    collector.start()
    with reader.connection.lock:  # what the reader's loop does when woken
        reader.connection.flush()
        reader.send(big)  # already sent (in part): not sent twice
        reader.send(frame(2))
        reader.send_json({"type": "heartbeat", "seq": 2})
    collector.join(timeout=10)
    assert received == [big.text, frame(2).text, '{"type": "heartbeat", "seq": 2}']


def test_a_full_socket_makes_the_hub_fall_back_to_the_queue(pair, reader_on):
    server, client = pair
    ws = FakeWebSocket(server)
    reader = reader_on(ws, last_seq=0)
    server.setblocking(False)
    try:  # fill the socket as a reader that stopped reading would
        while True:
            server.send(b"\0" * 4096)
    except BlockingIOError:
        pass
    server.setblocking(True)
    subscription = Hub().subscribe(1, wakeup=ws.event, write_now=reader.write_now)
    subscription.offer(frame(1))
    assert reader.last_seq == 0 and not reader.connection.unsent
    assert [f.seq for f in subscription.drain()] == [1] and ws.event.is_set()


def test_a_closed_socket_is_not_an_error_for_the_hub(pair, reader_on):
    server, client = pair
    reader = reader_on(FakeWebSocket(server), last_seq=0)
    client.close()
    server.shutdown(socket.SHUT_RDWR)
    assert reader.write_now(frame(1)) is False


def test_frames_are_encoded_once_for_every_reader(reader_on):
    shared = frame(1)
    readers = []
    for _ in range(3):
        server, client = socket.socketpair()
        readers.append((reader_on(FakeWebSocket(server), 0), server, client))
    try:
        for reader, _, _ in readers:
            assert reader.write_now(shared)
        wire = shared.wire
        assert wire == encode_text_frame(shared.text)
        for _, _, client in readers:
            assert client.recv(65536) == wire
    finally:
        for _, server, client in readers:
            server.close()
            client.close()


def partly_written(pair, reader_on):
    """A reader whose socket took only part of a big frame: (its socket, reader, frame, client)."""
    server, client = pair
    ws = FakeWebSocket(server)
    reader = reader_on(ws, last_seq=0)
    big = frame(1, "y" * 200_000)
    assert reader.write_now(big) is False and reader.connection.unsent
    return ws, reader, big, client


def test_the_websocket_librarys_own_writes_wait_for_a_frame_in_parts(pair, reader_on):
    ws, reader, big, client = partly_written(pair, reader_on)
    answered = threading.Thread(target=lambda: ws.sock.send(PONG))
    received = bytearray()
    collector = collecting(client, received, len(big.wire) + len(PONG))
    with reader.connection.lock:  # the reader's loop, woken to finish the frame
        answered.start()
        collector.start()
        answered.join(timeout=0.2)
        assert answered.is_alive()  # the pong waits...
        reader.connection.flush()
    answered.join(timeout=5)
    collector.join(timeout=10)
    assert bytes(received) == big.wire + PONG  # ...until the frame is whole on the wire


def test_a_pong_sent_before_the_loop_wakes_waits_for_the_frame_in_parts(pair, reader_on):
    ws, reader, big, client = partly_written(pair, reader_on)
    received = bytearray()
    collector = collecting(client, received, len(big.wire) + len(PONG))
    collector.start()
    # A reader's ping is answered at once, by simple-websocket's thread (or, under gevent, by
    # the reader's loop reading first): the lock is free, and the rest of the frame not out yet.
    ws.sock.send(PONG)
    collector.join(timeout=10)
    assert bytes(received) == big.wire + PONG


def test_the_hubs_fan_out_queues_behind_a_frame_already_queued(pair, reader_on):
    server, client = pair
    ws = FakeWebSocket(server)
    reader = reader_on(ws, last_seq=0)
    hub = Hub()
    subscription = hub.subscribe(1, wakeup=ws.event, write_now=reader.write_now)
    with reader.connection.lock:  # the reader's loop is busy
        hub.dispatch(frame(1))
    hub.dispatch(frame(2))  # the socket is free now, but 1 waits in the queue
    assert [f.seq for f in subscription.drain()] == [1, 2] and reader.last_seq == 0
    client.settimeout(0.2)
    with pytest.raises(TimeoutError):
        client.recv(1)  # nothing went ahead of seq 1
