"""Fan-out benchmark: N WebSocket readers of one story, M entries posted at a fixed rate.

Connects the readers (asyncio + websockets, no compression), waits until all are connected,
posts the entries over HTTP from a separate thread, then checks that every reader got every
entry exactly once and in seq order, and reports publish-to-delivery latency, the server's
memory and CPU, and this client's own CPU (it shares the machine with the server).

Exit status: 0 clean; 1 a frame was lost, duplicated or out of order; 2 the run itself was
incomplete (a reader failed to connect or dropped, or a POST failed) or could not start.

Example:
    .venv/bin/python bench/fanout.py --url http://127.0.0.1:5600 --create-story \\
        --readers 1000 --entries 50 --rate 5 --server-pid "$(cat /tmp/bench-gunicorn.pid)"
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import os
import re
import resource
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from common import (
    CLK_TCK,
    Api,
    SetupError,
    add_output_arguments,
    add_token_argument,
    benchmark_parser,
    finish,
    machine_cpu_seconds,
    ms,
    percentile,
    require_token,
    self_cpu_seconds,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

try:
    import uvloop
except ImportError:  # the benchmark still runs, with a slower client
    uvloop = None

# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = benchmark_parser(__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:5600", help="server base URL")
    parser.add_argument(
        "--publish-url",
        help="base URL of the HTTP API and /metrics if not --url's (bench/reference_server.py)",
    )
    add_token_argument(parser)
    story = parser.add_mutually_exclusive_group(required=True)
    story.add_argument("--story", help="slug of an existing live story")
    story.add_argument(
        "--create-story", action="store_true", help="create a fresh story for this run"
    )
    parser.add_argument("--readers", type=int, default=100, help="WebSocket readers (N)")
    parser.add_argument("--entries", type=int, default=20, help="entries to post (M)")
    parser.add_argument("--rate", type=float, default=5.0, help="entries posted per second")
    parser.add_argument("--connect-rate", type=float, default=500.0, help="readers opened per s")
    parser.add_argument(
        "--client",
        choices=("raw", "websockets"),
        default="raw",
        help="raw: a minimal RFC 6455 reader on uvloop (cheap, so the client's own queueing "
        "barely shows in the latencies); websockets: the websockets library",
    )
    parser.add_argument(
        "--open-timeout", type=float, default=30.0, help="seconds allowed per WebSocket handshake"
    )
    parser.add_argument(
        "--idle", type=float, default=0.0, help="seconds to sit idle after connecting (idle CPU)"
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="hard limit in seconds for the whole run"
    )
    parser.add_argument("--server-pid", type=int, help="gunicorn master or worker pid to measure")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if args.readers < 1 or args.entries < 1 or args.rate <= 0 or args.connect_rate <= 0:
        parser.error("--readers and --entries must be >= 1; rates must be > 0")
    if args.timeout <= 0 or args.timeout > 3600:
        parser.error("--timeout must be in (0, 3600]")
    require_token(parser, args)
    return args


def raise_fd_limit(needed: int) -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit and return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < needed:
        print(f"warning: RLIMIT_NOFILE hard limit {hard} < {needed} needed", file=sys.stderr)
    return hard


# ---------------------------------------------------------------------------------------------
# Server process metrics from /proc


def server_workers(pid: int) -> list[int]:
    """The pid's child processes (gunicorn workers), or the pid itself if it has none."""
    children: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children.extend(int(child) for child in handle.read().split())
        except OSError:
            pass
    return children or [pid]


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as handle:
        # The command name may contain spaces; fields after it start at ") ".
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_memory_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS since the process started) of a process, in MB."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values


class ServerProbe:
    """Samples the server workers' RSS in the background and their CPU at phase marks."""

    def __init__(self, pid: int | None):
        self.pids = server_workers(pid) if pid else []
        self.peak_rss_mb = 0.0
        self.marks: dict[str, float] = {}
        self.rss_marks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        """Start sampling RSS every 0.25 s."""
        if self.pids:
            self._thread.start()

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            try:
                rss = sum(proc_memory_mb(pid)["VmRSS"] for pid in self.pids)
            except OSError:
                return
            self.peak_rss_mb = max(self.peak_rss_mb, rss)

    def mark(self, name: str) -> None:
        """Record the workers' total CPU seconds and RSS at a phase boundary."""
        if self.pids:
            self.marks[name] = sum(proc_cpu_seconds(pid) for pid in self.pids)
            rss = sum(proc_memory_mb(pid)["VmRSS"] for pid in self.pids)
            self.rss_marks[name] = rss
            self.peak_rss_mb = max(self.peak_rss_mb, rss)

    def vmhwm_mb(self) -> float | None:
        """Sum of the workers' VmHWM (peak RSS over each worker's whole life)."""
        if not self.pids:
            return None
        return sum(proc_memory_mb(pid)["VmHWM"] for pid in self.pids)


# ---------------------------------------------------------------------------------------------
# HTTP: story setup and the publisher thread


@dataclass
class Post:
    """One entry POST: when it was sent, how long it took, and the seq the server gave it."""

    index: int
    sent_at: float = 0.0
    duration: float = 0.0
    status: int = 0
    seq: int | None = None
    error: str | None = None


def publish_entries(api: Api, slug: str, count: int, rate: float, deadline: float) -> list[Post]:
    """Post count entries at a fixed rate on an absolute schedule, stopping at the deadline."""
    posts: list[Post] = []
    run_id = uuid.uuid4().hex[:8]
    start = time.monotonic()
    for index in range(count):
        due = start + index / rate
        if due >= deadline:
            break
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        post = Post(index)
        body = {"body": f"<p>Bench entry {index + 1} of {count}, run {run_id}.</p>"}
        headers = {"Idempotency-Key": f"bench-{run_id}-{index}"}
        post.sent_at = time.monotonic()
        try:
            post.status, data = api.request("POST", f"/api/stories/{slug}/entries", body, headers)
            if post.status in (200, 201):
                post.seq = data["seq"]
            else:
                post.error = f"HTTP {post.status}: {data.get('error') or data}"[:200]
        except (OSError, http.client.HTTPException, ValueError) as error:
            post.error = f"{type(error).__name__}: {error}"[:200]
            api.close()
        post.duration = time.monotonic() - post.sent_at
        posts.append(post)
    return posts


def prepare_story(api: Api, args: argparse.Namespace) -> tuple[str, int]:
    """Create or look up the story; return its slug and current last seq."""
    if args.create_story:
        slug = f"bench-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        body = {"slug": slug, "title": f"Fan-out bench: {args.readers} readers"}
        status, data = api.request("POST", "/api/stories", body)
        if status != 201:
            raise SetupError(f"creating story failed: HTTP {status} {data}")
        return slug, data["last_seq"]
    status, data = api.request("GET", f"/api/stories/{args.story}")
    if status != 200:
        raise SetupError(f"story {args.story!r}: HTTP {status} {data}")
    return args.story, data["last_seq"]


# ---------------------------------------------------------------------------------------------
# Readers


@dataclass
class Reader:
    """One WebSocket reader's state and what it received."""

    index: int
    connected: bool = False
    failed: str | None = None
    dropped: str | None = None
    handshake: float = 0.0
    received: dict[int, float] = field(default_factory=dict)  # seq -> receive time
    duplicates: int = 0
    out_of_order: int = 0
    other_frames: int = 0
    last_seq: int = 0


class Run:
    """Shared state of the readers: counters the main task polls."""

    def __init__(self, total: int, after: int):
        self.readers = [Reader(i) for i in range(total)]
        self.after = after
        self.connected = 0
        self.failed = 0
        self.live = 0  # connected and not dropped
        self.frames = 0  # distinct entry frames held by live readers
        self.stop = asyncio.Event()
        self.sockets: list = []


async def read_story(run: Run, reader: Reader, uri: str, open_timeout: float) -> None:
    """Open one reader's WebSocket and record each frame's receive time by seq."""
    reader.last_seq = run.after
    started = time.monotonic()
    try:
        ws = await connect(
            uri,
            compression=None,
            open_timeout=open_timeout,
            ping_interval=None,  # the server sends heartbeats; client pings would add load
            close_timeout=5,
            max_queue=64,
        )
    except Exception as error:  # every failure is counted and reported by kind
        refused(run, reader, error)
        return
    opened(run, reader, started, ws)
    try:
        async for message in ws:
            now = time.monotonic()
            frame = json.loads(message)
            seq = frame.get("seq")
            record_frame(run, reader, frame.get("type"), seq if isinstance(seq, int) else None, now)
        # `async for` ends quietly on a normal close (1000/1001): still a drop mid-run.
        if not run.stop.is_set():
            drop(run, reader, f"closed {ws.close_code}")
    except ConnectionClosed as closed:
        if not run.stop.is_set():
            drop(run, reader, f"closed {closed.rcvd.code if closed.rcvd else 'abnormally'}")
    except Exception as error:
        if not run.stop.is_set():
            drop(run, reader, f"{type(error).__name__}: {error}"[:160])


def refused(run: Run, reader: Reader, error: Exception) -> None:
    """Count a reader whose WebSocket could not be opened."""
    reader.failed = f"{type(error).__name__}: {error}"[:160]
    run.failed += 1


def opened(run: Run, reader: Reader, started: float, connection) -> None:
    """Count a reader whose handshake completed, and keep its connection for the teardown."""
    reader.handshake = time.monotonic() - started
    reader.connected = True
    run.connected += 1
    run.live += 1
    run.sockets.append(connection)


def drop(run: Run, reader: Reader, reason: str) -> None:
    """Count a reader the server (or the network) closed before the run ended."""
    reader.dropped = reason
    run.live -= 1
    run.frames -= len(reader.received)


# A frame's type and top-level seq: the server writes them first, in this order.
FRAME_HEAD = re.compile(rb'^\{"type": ?"([^"]+)", ?"seq": ?(\d+)')


def record_frame(run: Run, reader: Reader, kind: str | None, seq: int | None, now: float) -> None:
    """Account one received text frame: entries by seq, heartbeats ignored, the rest counted."""
    if kind == "heartbeat":
        return
    if kind != "entry.created" or seq is None:
        reader.other_frames += 1
        return
    if seq in reader.received:
        reader.duplicates += 1
        return
    if seq < reader.last_seq:
        reader.out_of_order += 1
    reader.last_seq = max(reader.last_seq, seq)
    reader.received[seq] = now
    run.frames += 1


class RawReaderProtocol(asyncio.Protocol):
    """A minimal WebSocket reader (RFC 6455): handshake, then unmasked server frames.

    It does only what a reader of the live endpoint needs (text, ping, close; no extensions)
    and reads each frame's type and seq from its first bytes instead of parsing the JSON, so
    one frame costs the client a few microseconds and the server's timing shows through.
    """

    def __init__(self, run: Run, reader: Reader, request: bytes, upgraded: asyncio.Future):
        self.run, self.reader, self.request, self.upgraded = run, reader, request, upgraded
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.close_code: int | None = None

    def connection_made(self, transport) -> None:
        """Send the upgrade request."""
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        """Parse the handshake answer, then every complete frame in the buffer."""
        now = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            del buffer[: end + 4]
            if b" 101 " not in status:
                self.upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()
                return
            self.upgraded.set_result(None)
        while len(buffer) >= 2:
            opcode, length, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if length == 126:
                if len(buffer) < 4:
                    return
                length, start = int.from_bytes(buffer[2:4]), 4
            elif length == 127:
                if len(buffer) < 10:
                    return
                length, start = int.from_bytes(buffer[2:10]), 10
            if len(buffer) < start + length:
                return
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 0x1:
                head = FRAME_HEAD.match(payload)
                if head is None:
                    self.reader.other_frames += 1
                else:
                    record_frame(self.run, self.reader, head[1].decode(), int(head[2]), now)
            elif opcode == 0x9:
                self.transport.write(masked_frame(0xA, payload))
            elif opcode == 0x8:
                self.close_code = int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005
                self.transport.close()
                return

    def connection_lost(self, exc) -> None:
        """A close before the run ended is a drop."""
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("closed during handshake"))
        elif self.reader.connected and not self.run.stop.is_set() and not self.reader.dropped:
            drop(self.run, self.reader, f"closed {self.close_code or 'abnormally'}")

    def close(self) -> None:
        """Say goodbye (a masked close frame) and close the connection."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(masked_frame(0x8, (1000).to_bytes(2)))
            self.transport.close()


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A short client-to-server frame; clients must mask, and a zero mask is a valid mask."""
    return bytes((0x80 | opcode, 0x80 | len(payload))) + bytes(4) + payload


def upgrade_request(host: str, path: str) -> bytes:
    """The HTTP request that opens a WebSocket, offering no extensions."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()


async def read_story_raw(run: Run, reader: Reader, uri: str, open_timeout: float) -> None:
    """Open one reader with the raw protocol; frames are recorded as they arrive."""
    reader.last_seq = run.after
    parts = urlsplit(uri)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    loop = asyncio.get_running_loop()
    upgraded = loop.create_future()
    started = time.monotonic()
    try:
        async with asyncio.timeout(open_timeout):
            _, protocol = await loop.create_connection(
                lambda: RawReaderProtocol(
                    run, reader, upgrade_request(parts.netloc, path), upgraded
                ),
                parts.hostname,
                parts.port or 80,
            )
            await upgraded
    except Exception as error:  # every failure is counted and reported by kind
        refused(run, reader, error)
        return
    opened(run, reader, started, protocol)


async def open_readers(run: Run, uri: str, rate: float, open_timeout: float, client: str) -> list:
    """Start one reader task every 1/rate seconds on an absolute schedule."""
    tasks = []
    start = time.monotonic()
    for reader in run.readers:
        pause = start + reader.index / rate - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        read = read_story_raw if client == "raw" else read_story
        tasks.append(asyncio.create_task(read(run, reader, uri, open_timeout)))
    return tasks


async def watch_loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    """Measure how late a 50 ms sleep wakes: the client's own event-loop saturation."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(0.05)
        samples.append(time.monotonic() - before - 0.05)


OPEN_READERS = re.compile(r"^liveblog_open_readers\{[^}]*\} ([0-9.e+]+)$", re.MULTILINE)


def server_open_readers(api: Api) -> int | None:
    """Readers the server holds over all stories and processes, from /metrics (None: no metrics).

    A reader counts once the server has subscribed it, which is after its handshake completed
    on the client: publishing before then would time the server's connect backlog, not fan-out.
    """
    try:
        api.close()  # /metrics is plain text, not JSON: use a one-off connection
        conn = http.client.HTTPConnection(api.host, api.port, timeout=api.timeout)
        conn.request("GET", api.prefix + "/metrics")
        response = conn.getresponse()
        text = response.read().decode()
        conn.close()
    except (OSError, http.client.HTTPException):
        return None
    if response.status != 200:
        return None
    return int(sum(float(value) for value in OPEN_READERS.findall(text)))


async def wait_until(predicate, deadline: float, step: float = 0.1) -> bool:
    """Poll predicate until it holds or the deadline passes."""
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(step)
    return True


# ---------------------------------------------------------------------------------------------
# The run


async def run_benchmark(args: argparse.Namespace) -> dict:
    """Connect, publish, collect and summarise one benchmark run."""
    t_start = time.monotonic()
    deadline = t_start + args.timeout
    fd_limit = raise_fd_limit(args.readers + 64)
    api = Api(args.publish_url or args.url, args.token, timeout=10.0)
    slug, after = await asyncio.to_thread(prepare_story, api, args)
    base = urlsplit(args.url)
    uri = f"ws://{base.netloc}{base.path.rstrip('/')}/api/stories/{slug}/live?after={after}"

    probe = ServerProbe(args.server_pid)
    probe.start()
    run = Run(args.readers, after)
    lag: list[float] = []
    lag_task = asyncio.create_task(watch_loop_lag(lag, run.stop))
    cpu = {"start": self_cpu_seconds()}
    machine = {"start": machine_cpu_seconds(), "load_start": os.getloadavg()[0]}
    baseline = await asyncio.to_thread(server_open_readers, api)
    probe.mark("start")

    # Phase 1: connect every reader (or see it fail), then wait until the server holds them.
    opening_started = time.monotonic()
    opener = asyncio.create_task(
        open_readers(run, uri, args.connect_rate, args.open_timeout, args.client)
    )
    all_in = await wait_until(lambda: run.connected + run.failed == args.readers, deadline)
    connect_seconds = time.monotonic() - t_start
    subscribed = None
    if baseline is not None and all_in:
        target = baseline + run.connected
        while time.monotonic() < deadline:
            subscribed = await asyncio.to_thread(server_open_readers, api)
            if subscribed is None or subscribed >= target:
                break
            await asyncio.sleep(0.2)
    subscribe_seconds = time.monotonic() - t_start
    open_seconds = time.monotonic() - opening_started
    cpu["connected"] = self_cpu_seconds()
    probe.mark("connected")

    # Phase 2 (optional): sit idle, to see what N idle readers cost the server.
    if args.idle > 0 and all_in:
        await asyncio.sleep(min(args.idle, max(0.0, deadline - time.monotonic())))
    cpu["idle_end"] = self_cpu_seconds()
    probe.mark("idle_end")

    # Phase 3: publish, then wait for every connected reader to hold every posted seq.
    posts: list[Post] = []
    publish_started = time.monotonic()
    if all_in:
        posts = await asyncio.to_thread(
            publish_entries, api, slug, args.entries, args.rate, deadline
        )
    publish_seconds = posts[-1].sent_at - posts[0].sent_at if posts else 0.0
    seqs = {post.seq for post in posts if post.seq is not None}

    def delivered() -> bool:
        """Whether every live reader holds every posted entry; O(1), as it runs 20 times a s."""
        return run.frames >= run.live * len(seqs)

    await wait_until(delivered, deadline, step=0.05)
    cpu["delivered"] = self_cpu_seconds()
    deliver_seconds = time.monotonic() - publish_started
    machine["end"] = machine_cpu_seconds()
    machine["load_end"] = os.getloadavg()[0]
    probe.mark("delivered")
    timed_out = time.monotonic() >= deadline

    # Tear down: stop readers, close sockets politely but within a bound.
    run.stop.set()
    opener.cancel()
    closers = []
    for connection in run.sockets:
        if isinstance(connection, RawReaderProtocol):
            connection.close()
        else:
            closers.append(asyncio.create_task(connection.close()))
    if closers:
        await asyncio.wait(closers, timeout=15)
    for task in closers:
        task.cancel()
    await asyncio.gather(lag_task, return_exceptions=True)
    api.close()
    probe.stop()
    return summarise(
        args,
        run,
        posts,
        seqs,
        cpu,
        probe,
        lag,
        {
            "slug": slug,
            "after": after,
            "fd_limit": fd_limit,
            "connect_seconds": round(connect_seconds, 2),
            # Until /metrics showed every reader subscribed (= connect_seconds without metrics).
            "subscribe_seconds": round(subscribe_seconds, 2),
            "server_open_readers": subscribed,
            # The same end, from the first reader opened (story setup left out).
            "open_seconds": round(open_seconds, 2),
            "publish_seconds": round(publish_seconds, 2),
            # From the first POST until every live reader held every entry (or the deadline).
            "deliver_seconds": round(deliver_seconds, 2),
            "wall_seconds": round(time.monotonic() - t_start, 2),
            "machine": machine,
            "timed_out": timed_out,
        },
    )


def summarise(args, run: Run, posts, seqs, cpu, probe: ServerProbe, lag, info) -> dict:
    """Turn the raw timings into the result record."""
    sent_at = {post.seq: post.sent_at for post in posts if post.seq is not None}
    connected = [r for r in run.readers if r.connected]
    latencies: list[float] = []
    first: dict[int, float] = {}
    last: dict[int, float] = {}
    lost = lost_by_dropped = 0
    for reader in connected:
        for seq in seqs:
            received = reader.received.get(seq)
            if received is None:
                lost += 1
                lost_by_dropped += reader.dropped is not None
                continue
            latencies.append(received - sent_at[seq])
            first[seq] = min(first.get(seq, received), received)
            last[seq] = max(last.get(seq, received), received)
    latencies.sort()
    spreads = sorted(last[seq] - first[seq] for seq in first)
    failures = Counter(r.failed.split(":")[0] for r in run.readers if r.failed)
    drops = Counter(r.dropped for r in run.readers if r.dropped)
    handshakes = sorted(r.handshake for r in connected)
    delivered = len(latencies)
    marks = probe.marks
    server_cpu = {
        name: round(marks[end] - marks[begin], 2)
        for name, begin, end in (
            ("connect", "start", "connected"),
            ("idle", "connected", "idle_end"),
            ("publish", "idle_end", "delivered"),
            ("total", "start", "delivered"),
        )
        if begin in marks and end in marks
    }
    client_cpu = {
        "connect": round(cpu["connected"] - cpu["start"], 2),
        "idle": round(cpu["idle_end"] - cpu["connected"], 2),
        "publish": round(cpu["delivered"] - cpu["idle_end"], 2),
        "total": round(cpu["delivered"] - cpu["start"], 2),
    }
    lag.sort()
    durations = sorted(post.duration for post in posts)
    result = {
        "params": {
            "url": args.url,
            "publish_url": args.publish_url,
            "readers": args.readers,
            "entries": args.entries,
            "rate": args.rate,
            "connect_rate": args.connect_rate,
            "open_timeout": args.open_timeout,
            "idle": args.idle,
            "timeout": args.timeout,
            "client": args.client,
        },
        "run": info,
        "connected": len(connected),
        "connect_failures": sum(failures.values()),
        "connect_failure_kinds": dict(failures),
        "first_failure": next((r.failed for r in run.readers if r.failed), None),
        "dropped": sum(drops.values()),
        "drop_kinds": dict(drops),
        "handshake_ms": {
            "p50": ms(percentile(handshakes, 0.5)),
            "p99": ms(percentile(handshakes, 0.99)),
            "max": ms(handshakes[-1] if handshakes else None),
        },
        "posts_sent": len(posts),
        "post_failures": sum(1 for post in posts if post.seq is None),
        "first_post_error": next((post.error for post in posts if post.error), None),
        "post_ms": {
            "p50": ms(percentile(durations, 0.5)),
            "max": ms(max(durations, default=None)),
        },
        "expected_frames": len(connected) * len(seqs),
        "delivered_frames": delivered,
        "lost": lost,
        "lost_by_dropped_readers": lost_by_dropped,  # included in lost
        "duplicated": sum(r.duplicates for r in run.readers),
        "out_of_order": sum(r.out_of_order for r in run.readers),
        "other_frames": sum(r.other_frames for r in run.readers),
        "latency_ms": {
            "p50": ms(percentile(latencies, 0.5)),
            "p99": ms(percentile(latencies, 0.99)),
            "max": ms(latencies[-1] if latencies else None),
        },
        "fanout_spread_ms": {
            "p50": ms(percentile(spreads, 0.5)),
            "max": ms(spreads[-1] if spreads else None),
        },
        "client_loop_lag_ms": {
            "p99": ms(percentile(lag, 0.99)),
            "max": ms(lag[-1] if lag else None),
        },
        "client_cpu_s": client_cpu,
        "client_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "server": None,
    }
    machine = info.pop("machine")
    busy = machine["end"] - machine["start"]
    result["machine"] = {
        "cores": os.cpu_count(),
        "busy_cpu_s": round(busy, 2),
        # Whatever else ran on the machine meanwhile: the run is only clean if this is small.
        "other_cpu_s": round(busy - client_cpu["total"] - server_cpu.get("total", 0.0), 2),
        "loadavg_1m": [round(machine["load_start"], 2), round(machine["load_end"], 2)],
    }
    if probe.pids:
        publish_cpu = server_cpu.get("publish")
        result["server"] = {
            "pids": probe.pids,
            "cpu_s": server_cpu,
            "rss_mb": {k: round(v, 1) for k, v in probe.rss_marks.items()},
            "peak_rss_sampled_mb": round(probe.peak_rss_mb, 1),
            "vmhwm_mb": round(probe.vmhwm_mb() or 0.0, 1),
            "cpu_us_per_frame": (
                round(publish_cpu / delivered * 1e6, 1) if delivered and publish_cpu else None
            ),
        }
    return result


def print_report(result: dict) -> None:
    """Print a short human-readable report."""
    p, run, server = result["params"], result["run"], result["server"]
    lat, cpu = result["latency_ms"], result["client_cpu_s"]
    print(f"story {run['slug']}: {p['readers']} readers x {p['entries']} entries at {p['rate']}/s")
    print(
        f"  connected {result['connected']} in {run['connect_seconds']} s "
        f"(handshake p50/p99/max {result['handshake_ms']['p50']}/"
        f"{result['handshake_ms']['p99']}/{result['handshake_ms']['max']} ms); "
        f"server held {run['server_open_readers']} after {run['subscribe_seconds']} s"
    )
    print(f"  connect failures {result['connect_failures']} {result['connect_failure_kinds']}")
    if result["first_failure"]:
        print(f"    first: {result['first_failure']}")
    print(f"  dropped mid-run {result['dropped']} {result['drop_kinds']}")
    print(
        f"  posts {result['posts_sent']} in {run['publish_seconds']} s, all delivered after "
        f"{run['deliver_seconds']} s (failed {result['post_failures']}), "
        f"POST p50/max {result['post_ms']['p50']}/{result['post_ms']['max']} ms"
    )
    print(
        f"  frames expected {result['expected_frames']} delivered {result['delivered_frames']}"
        f" lost {result['lost']} (by dropped readers {result['lost_by_dropped_readers']})"
        f" duplicated {result['duplicated']}"
        f" out of order {result['out_of_order']}"
    )
    print(
        f"  latency p50/p99/max {lat['p50']}/{lat['p99']}/{lat['max']} ms; fan-out spread "
        f"p50/max {result['fanout_spread_ms']['p50']}/{result['fanout_spread_ms']['max']} ms"
    )
    print(
        f"  client CPU s {cpu}; loop lag p99/max {result['client_loop_lag_ms']['p99']}/"
        f"{result['client_loop_lag_ms']['max']} ms; RSS {result['client_peak_rss_mb']} MB"
    )
    machine = result["machine"]
    print(
        f"  machine: {machine['busy_cpu_s']} CPU s busy, of which other processes "
        f"{machine['other_cpu_s']} s; load {machine['loadavg_1m']}"
    )
    if server:
        busy = server["cpu_s"].get("publish", 0.0) / max(run["deliver_seconds"], 1e-9)
        print(
            f"  server CPU s {server['cpu_s']}; {server['cpu_us_per_frame']} us/frame; "
            f"{busy:.0%} of a core while publishing"
        )
        print(
            f"  server RSS MB {server['rss_mb']}; sampled peak {server['peak_rss_sampled_mb']};"
            f" VmHWM {server['vmhwm_mb']}"
        )
    if run["timed_out"]:
        print("  TIMED OUT before every frame arrived")


def exit_status(result: dict) -> int:
    """0 clean, 1 frame integrity broken, 2 the run was incomplete."""
    if result["lost"] or result["duplicated"] or result["out_of_order"]:
        return 1
    if result["connect_failures"] or result["dropped"] or result["post_failures"]:
        return 2
    if result["posts_sent"] < result["params"]["entries"]:
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    args = parse_args(argv)
    try:
        runner = uvloop.run if uvloop is not None and args.client == "raw" else asyncio.run
        result = runner(asyncio.wait_for(run_benchmark(args), args.timeout + 30))
    except TimeoutError:
        print("benchmark exceeded its hard timeout", file=sys.stderr)
        return 2
    except (SetupError, OSError) as error:
        print(f"cannot start: {error}", file=sys.stderr)
        return 2
    return finish(result, args, print_report, exit_status)


if __name__ == "__main__":
    sys.exit(main())
