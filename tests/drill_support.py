"""The fault drill's load: a crowd of resuming readers on one event loop, and a steady writer."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fault_support import WAIT

# A frame's type and top-level seq: the server writes them first, in this order.
FRAME_HEAD = re.compile(rb'^\{"type": ?"([^"]+)", ?"seq": ?(\d+)')
# live.js backs off up to 30 s; the drill caps it at 2 s so that a recovery figure measures the
# servers, not how long a client chose to wait.
BACKOFF_CAP = 2.0
# A browser waits long for a handshake or an answer; a client that gives up sooner, in a storm,
# leaves the server handshakes nobody waits for and comes back to add more (a retry storm).
PATIENCE = 30.0


class CrowdReader:
    """One reader of the crowd: each data frame's seq and arrival time, and each connection."""

    def __init__(self, index: int, after: int):
        self.index = index
        self.last_seq = after
        self.seqs: list[int] = []
        self.arrivals: dict[int, float] = {}  # seq -> when it first arrived
        self.opens: list[tuple[float, int]] = []  # (when, server index)
        self.closes: list[tuple[float, int, int | None]] = []  # (when, server, code or None)
        self.server: int | None = None  # the server it is connected to now
        self.refusals = 0
        self.odd_frames: list[bytes] = []  # story.reset, or anything without a seq


class _CrowdSocket(asyncio.Protocol):
    """A minimal RFC 6455 client for one connection: handshake, then unmasked server frames."""

    def __init__(self, crowd: ReaderCrowd, reader: CrowdReader, request: bytes):
        loop = asyncio.get_running_loop()
        self.crowd, self.reader, self.request = crowd, reader, request
        self.opened, self.closed = loop.create_future(), loop.create_future()
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.code: int | None = None

    def connection_made(self, transport) -> None:
        """Send the upgrade request."""
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        """Parse the handshake answer, then every complete frame in the buffer."""
        now = time.monotonic()
        self.buffer += data
        if not self.opened.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[:self.buffer.find(b"\r\n")])
            del self.buffer[:end + 4]
            if b" 101 " not in status:  # 503 when full, 429: refused like a dead server
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()
                return
            self.opened.set_result(None)
        while (frame := self._next_frame()) is not None:
            opcode, payload = frame
            if opcode == 0x1:
                self.crowd.record(self.reader, payload, now)
            elif opcode == 0x9:
                self.transport.write(masked_frame(0xA, payload))
            elif opcode == 0x8:
                self.code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                self.goodbye(self.code if self.code != 1005 else 1000)
                return

    def _next_frame(self) -> tuple[int, bytes] | None:
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        opcode, size, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
        if size >= 126:
            width = 2 if size == 126 else 8
            if len(buffer) < 2 + width:
                return None
            size, start = int.from_bytes(buffer[2:2 + width], "big"), 2 + width
        if len(buffer) < start + size:
            return None
        payload = bytes(buffer[start:start + size])
        del buffer[:start + size]
        return opcode, payload

    def connection_lost(self, exc) -> None:
        """The connection ended: by a close frame (code kept), or abnormally (no code)."""
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(self.code)

    def goodbye(self, code: int = 1000) -> None:
        """Send a close frame and close the connection."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(0x8, code.to_bytes(2, "big")))
            self.transport.close()


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A short client-to-server frame; clients must mask, and a zero mask is a valid mask."""
    return bytes((0x80 | opcode, 0x80 | len(payload))) + bytes(4) + payload


class ReaderCrowd:
    """Hundreds of resuming readers of one story on one asyncio loop in a background thread.

    Like live.js behind a load balancer: each connection goes to a server picked at random, or
    to the next one after a refusal (as a balancer skips a dead backend); after any close a
    reader waits a jittered backoff and reconnects with after=<last seq>.
    """

    def __init__(self, bases: list[str], slug: str, after: int, count: int):
        self.addresses = [urlsplit(base) for base in bases]
        self.path = f"/api/stories/{slug}/live"
        self.readers = [CrowdReader(index, after) for index in range(count)]
        self.progress = threading.Condition()  # notified on connects and on reaching `target`
        self.target = 0
        self._behind: set[int] = set()
        self._sockets: dict[int, _CrowdSocket] = {}
        self._stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: list[asyncio.Task] = []

    def start(self, connects_per_second: float = 200) -> None:
        """Start the loop and open the readers at a steady pace; wait until all are connected."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open_all(connects_per_second), self._loop)
        self.wait_connected(3 * WAIT + len(self.readers) / connects_per_second)

    async def _open_all(self, rate: float) -> None:
        for reader in self.readers:
            self._tasks.append(asyncio.create_task(self._read(reader)))
            await asyncio.sleep(1 / rate)

    async def _read(self, reader: CrowdReader) -> None:
        refused_by, attempts = None, 0
        while not self._stopping:
            servers = len(self.addresses)
            server = (random.randrange(servers) if refused_by is None
                      else (refused_by + 1) % servers)
            connection = await self._connect(reader, server)
            refused_by = server if connection is None else None
            if connection is None:
                reader.refusals += 1
                attempts += 1
            else:
                attempts = 0
                code = await connection.closed
                self._sockets.pop(reader.index, None)
                reader.server = None
                if self._stopping:
                    return
                reader.closes.append((time.monotonic(), server, code))
                attempts = 1  # live.js: back off from the first step, a 1012 included
            await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP, 0.5 * 2 ** attempts)))

    async def _connect(self, reader: CrowdReader, server: int) -> _CrowdSocket | None:
        address = self.addresses[server]
        path = f"{self.path}?after={reader.last_seq}"
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: {address.netloc}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\n\r\n").encode()
        connection = None
        try:
            async with asyncio.timeout(PATIENCE):
                _, connection = await self._loop.create_connection(
                    lambda: _CrowdSocket(self, reader, request), address.hostname, address.port)
                await connection.opened
        except (OSError, TimeoutError):  # refused, reset, or an HTTP answer instead of 101
            if connection is not None:
                connection.transport.close()
            return None
        except asyncio.CancelledError:  # the crowd stops: leave no socket open behind
            if connection is not None:
                connection.transport.close()
            raise
        reader.opens.append((time.monotonic(), server))
        reader.server = server
        self._sockets[reader.index] = connection
        with self.progress:
            self.progress.notify_all()
        return connection

    def record(self, reader: CrowdReader, payload: bytes, now: float) -> None:
        """Account one text frame: a data frame's seq and arrival; heartbeats are ignored."""
        head = FRAME_HEAD.match(payload)
        if head is None or head[1] == b"story.reset":
            reader.odd_frames.append(payload[:200])
            return
        if head[1] == b"heartbeat":
            return
        seq = int(head[2])
        reader.seqs.append(seq)
        reader.arrivals.setdefault(seq, now)
        reader.last_seq = max(reader.last_seq, seq)
        if seq >= self.target:
            with self.progress:
                self._behind.discard(reader.index)
                if not self._behind:
                    self.progress.notify_all()

    def wait_caught_up(self, seq: int, timeout: float) -> None:
        """Wait (bounded) until every reader has received this seq or a later one."""
        with self.progress:
            self.target = max(self.target, seq)
            self._behind = {r.index for r in self.readers if r.last_seq < self.target}
            done = self.progress.wait_for(lambda: not self._behind, timeout)
        if not done:
            behind = [self.readers[i] for i in sorted(self._behind)]
            raise AssertionError(
                f"{len(behind)} readers did not reach seq {seq} in {timeout} s; e.g. reader "
                f"{behind[0].index}: last seq {behind[0].last_seq}, on server {behind[0].server}, "
                f"closes {behind[0].closes[-3:]}, refusals {behind[0].refusals}")

    def wait_connected(self, timeout: float) -> None:
        """Wait (bounded) until every reader holds an open connection."""
        with self.progress:
            done = self.progress.wait_for(
                lambda: all(r.server is not None for r in self.readers), timeout)
        assert done, (f"{sum(r.server is None for r in self.readers)} readers not connected "
                      f"after {timeout} s")

    def on_server(self, server: int) -> int:
        """How many readers are connected to this server now."""
        return sum(r.server == server for r in self.readers)

    def latest_arrival(self, seq: int) -> float:
        """When the last reader to get this seq got it."""
        return max(r.arrivals[seq] for r in self.readers)

    def stop(self) -> None:
        """Close every connection, end the readers and the loop."""
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(WAIT)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(WAIT)
        if not self._loop.is_closed():  # also when the crowd never started
            self._loop.close()

    async def _close_all(self) -> None:
        self._stopping = True
        for connection in list(self._sockets.values()):
            connection.goodbye()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await asyncio.sleep(0)  # let the closed transports finish closing


@dataclass
class Post:
    """One entry the writer published, however many attempts it took."""

    index: int
    key: str
    sent_at: float  # the first attempt
    done_at: float = 0.0  # the answer that published it
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    status: int = 0
    entry_id: int | None = None
    seq: int | None = None
    repeated: bool = False  # sent again after its answer, as by a client that lost the answer


class SteadyWriter(threading.Thread):
    """Publishes entries at a steady rate through the servers in turn, as a load balancer would.

    Each entry keeps one Idempotency-Key through all its attempts: a refused connection, a cut
    one or a 502/503/504 is retried on the next server, which must not create a second entry.
    Every few entries are also sent again after their answer, on the other server: the answer
    must be the same entry (200), as for a client whose first answer was lost.
    """

    RETRIED = (502, 503, 504)
    REPEAT_EVERY = 3

    def __init__(self, bases: list[str], token: str, slug: str, rate: float):
        super().__init__(daemon=True)
        self.bases, self.token, self.slug, self.rate = bases, token, slug, rate
        self.posts: list[Post] = []
        self.progress = threading.Condition()
        self.error: BaseException | None = None
        self._turn = 0
        self._stopping = threading.Event()

    def run(self) -> None:
        """Post until stopped, one entry every 1/rate seconds (no burst after an outage)."""
        try:
            due = time.monotonic()
            while not self._stopping.wait(max(0.0, due - time.monotonic())):
                post = Post(len(self.posts), uuid.uuid4().hex, time.monotonic())
                post.status, post.entry_id, post.seq = self._send(post)
                post.done_at = time.monotonic()
                with self.progress:
                    self.posts.append(post)
                    self.progress.notify_all()
                if post.index % self.REPEAT_EVERY == 0:
                    again = self._send(post, count=False)
                    assert again == (200, post.entry_id, post.seq), (post, again)
                    post.repeated = True
                due = max(due + 1 / self.rate, time.monotonic())
        except BaseException as error:  # surfaced by first_post_after and by the test
            self.error = error
            with self.progress:
                self.progress.notify_all()

    def _send(self, post: Post, count: bool = True) -> tuple[int, int, int]:
        """POST the entry until a server answers it; (status, entry id, seq)."""
        deadline = time.monotonic() + 2 * PATIENCE
        while True:
            base = self.bases[self._turn % len(self.bases)]
            self._turn += 1
            post.attempts += count
            request = urllib.request.Request(
                f"{base}/api/stories/{self.slug}/entries", method="POST",
                data=json.dumps({"body": f"<p>Drill entry {post.index}</p>"}).encode(),
                headers={"Authorization": f"Bearer {self.token}", "Idempotency-Key": post.key,
                         "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=PATIENCE) as response:
                    answer = json.load(response)
                return response.status, answer["id"], answer["seq"]
            except urllib.error.HTTPError as error:
                if error.code not in self.RETRIED:
                    raise AssertionError(f"post {post.index} got HTTP {error.code}: "
                                         f"{error.read()[:300]!r}") from None
                post.failures.append(f"HTTP {error.code} from {base}")
            except OSError as error:
                post.failures.append(f"{type(error).__name__} from {base}")
            assert time.monotonic() < deadline, f"post {post.index} failed: {post.failures}"
            time.sleep(0.1)  # a server is down or restarting; nothing to wait on but time

    def first_post_after(self, moment: float, timeout: float) -> Post:
        """Wait (bounded) for the first entry whose first attempt began after `moment`."""

        def found() -> Post | None:
            return next((p for p in self.posts if p.sent_at > moment), None)

        with self.progress:
            self.progress.wait_for(lambda: found() is not None or self.error is not None,
                                   timeout)
            post = found()
        assert self.error is None, f"the writer failed: {self.error!r}"
        assert post is not None, (f"no entry was published within {timeout} s; the last: "
                                  f"{self.posts[-1] if self.posts else None}")
        return post

    def stop(self) -> None:
        """Stop after the entry under way, and wait for the thread to end."""
        self._stopping.set()
        self.join(timeout=3 * PATIENCE)


def reconnect_delays(readers: list[CrowdReader], since: float) -> list[float]:
    """For every close after `since`: seconds until that reader's next connection opened."""
    delays = []
    for reader in readers:
        for closed, _, _ in reader.closes:
            if closed >= since:
                reopened = next((when for when, _ in reader.opens if when >= closed), None)
                if reopened is not None:
                    delays.append(reopened - closed)
    return sorted(delays)
