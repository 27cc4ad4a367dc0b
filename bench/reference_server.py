"""The yardstick: our live protocol on a bare asyncio `websockets` server, no database, no Flask.

One process, one event loop (uvloop if installed). Readers open ws://HOST:PORT/api/stories/
<slug>/live?after=<seq>, are replayed every frame after that seq from an in-memory list, then get
each new frame through `websockets.broadcast` (the frame is serialised and encoded once, whatever
the audience). A second, tiny HTTP/1.1 listener on --http-port serves what bench/fanout.py uses:
create a story, read it, post an entry, and /metrics with the open-reader count.

Nothing here is durable or safe for strangers: it measures what the protocol costs at its
cheapest, so bench/versus.py can print our figures as ratios of its figures.

Example:
    .venv/bin/python bench/reference_server.py --port 5790 --http-port 5791 --token secret
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import broadcast, serve

try:
    import uvloop
except ImportError:  # the yardstick still runs, on a slower loop
    uvloop = None

MAX_BODY = 64 * 1024  # POST bodies above this are refused: the benchmark sends ~100 bytes


class Story:
    """A story's frames in seq order (frames[i] has seq i + 1) and its open readers."""

    def __init__(self, story_id: int, slug: str, title: str):
        self.id, self.slug, self.title = story_id, slug, title
        self.frames: list[bytes] = []
        self.readers: set = set()
        self.posted: dict[str, dict] = {}  # Idempotency-Key -> the answer given

    @property
    def last_seq(self) -> int:
        """The seq of the newest frame (0: none yet)."""
        return len(self.frames)

    def to_dict(self) -> dict:
        """The story as the API answers it (the fields the benchmark reads, and a few more)."""
        return {
            "id": self.id,
            "slug": self.slug,
            "title": self.title,
            "status": "live",
            "last_seq": self.last_seq,
            "readers": len(self.readers),
        }

    def add_entry(self, body: str) -> dict:
        """Append an entry.created frame shaped like ours, and broadcast it to every reader."""
        seq = self.last_seq + 1
        now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        author = {"id": 1, "name": "Demo Editor"}
        # Our entry's fields and the template partial's HTML, so the frame is as long as ours.
        entry = {
            "id": seq,
            "story": self.slug,
            "seq": seq,
            "status": "published",
            "published_at": now,
            "updated_at": now,
            "label": "ORIGINAL ENTRY",
            "label_override": None,
            "headline": None,
            "body_html": body,
            "pinned": False,
            "key_order": 0,
            "original": True,
            "version": 1,
            "author": author,
            "authors": [{**author, "role": None, "photo": None}],
            "correction": None,
            "poll": None,
        }
        html = (
            f'<article class="entry entry--original"\n         id="entry-{seq}"'
            f' data-entry-id="{seq}" data-seq="{seq}"\n         data-published="{now}"'
            f' aria-labelledby="entry-{seq}-label">\n  <header class="entry-meta">\n'
            f'    <h2 class="entry-label" id="entry-{seq}-label">'
            f'<a href="/stories/{self.slug}/entries/{seq}">ORIGINAL ENTRY</a></h2>\n'
            f'    <time class="entry-time" datetime="{now}">{now[:10]}</time>\n  </header>\n'
            f'  <div class="entry-body">{body}</div>\n  <p class="entry-byline">By '
            f'<span class="entry-author"><span class="entry-author-name">Demo Editor</span>'
            f"</span></p>\n</article>"
        )
        text = json.dumps(
            {"type": "entry.created", "seq": seq, "entry": entry, "html": html},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        frame = text.encode()
        self.frames.append(frame)
        broadcast(self.readers, frame, text=True)  # framed per socket, encoded once
        return {**entry, "html": html}


class Site:
    """Every story of this process, by slug."""

    def __init__(self, token: str | None):
        self.token = token
        self.stories: dict[str, Story] = {}

    def open_readers(self) -> int:
        """Readers connected over all stories."""
        return sum(len(story.readers) for story in self.stories.values())

    async def live(self, ws) -> None:
        """Replay frames after ?after=<seq>, then hold the reader for broadcasts until it goes."""
        url = urlsplit(ws.request.path)
        parts = url.path.strip("/").split("/")
        story = None
        if len(parts) == 4 and parts[:2] == ["api", "stories"] and parts[3] == "live":
            story = self.stories.get(parts[2])
        if story is None:
            await ws.close(4404, "No such story")
            return
        after = parse_qs(url.query).get("after", [""])[0]
        valid = after.isascii() and after.isdigit() and len(after) <= 15  # as ours: 1-15 digits
        after = int(after) if valid else story.last_seq
        if after > story.last_seq:
            broadcast([ws], json.dumps({"type": "story.reset", "seq": story.last_seq}))
        # No await between the replay and joining the readers: on one event loop no frame can
        # be broadcast in between, so each frame reaches the reader once and in order.
        for frame in story.frames[after:]:
            broadcast([ws], frame, text=True)
        story.readers.add(ws)
        try:
            async for _ in ws:  # readers send nothing we use; read to see the close
                pass
        finally:
            story.readers.discard(ws)

    async def heartbeats(self, every: float) -> None:
        """Tell every reader the story's seq now and then, as our server does when idle."""
        while True:
            await asyncio.sleep(every)
            for story in self.stories.values():
                beat = json.dumps({"type": "heartbeat", "seq": story.last_seq})
                broadcast(story.readers, beat)

    def route(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, object]:
        """Answer one HTTP request: (status, JSON-able body or a str for text/plain)."""
        if method == "GET" and path == "/metrics":
            lines = [
                f'liveblog_open_readers{{story="{s.id}"}} {len(s.readers)}'
                for s in self.stories.values()
            ]
            return 200, "\n".join(lines) + "\n"
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "A valid API token is required"}
        parts = path.strip("/").split("/")
        if parts[:2] != ["api", "stories"] or len(parts) > 4:
            return 404, {"error": "Not found"}
        try:
            data = json.loads(body) if body else {}
        except ValueError:
            return 400, {"error": "The body is not JSON"}
        if not isinstance(data, dict):
            return 400, {"error": "The body must be a JSON object"}
        if len(parts) == 2 and method == "POST":
            slug = str(data.get("slug") or f"story-{len(self.stories) + 1}")
            if slug in self.stories:
                return 409, {"error": "That slug is taken"}
            story = self.stories[slug] = Story(len(self.stories) + 1, slug, str(data.get("title")))
            return 201, story.to_dict()
        story = self.stories.get(parts[2]) if len(parts) > 2 else None
        if story is None:
            return 404, {"error": "No such story"}
        if len(parts) == 3 and method == "GET":
            return 200, story.to_dict()
        if len(parts) == 4 and parts[3] == "entries" and method == "POST":
            key = headers.get("idempotency-key")
            if key and key in story.posted:
                return 201, story.posted[key]  # a retried POST: the same answer, no new entry
            answer = story.add_entry(str(data.get("body", "")))
            if key:
                story.posted[key] = answer
            return 201, answer
        return 405, {"error": "Method not allowed"}

    async def http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve keep-alive HTTP/1.1 requests on one connection (Content-Length bodies only)."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length > MAX_BODY:
                    status, answer = 413, {"error": "Body too large"}
                else:
                    body = await reader.readexactly(length)
                    status, answer = self.route(method, urlsplit(target).path, headers, body)
                kind = "text/plain" if isinstance(answer, str) else "application/json"
                payload = (answer if isinstance(answer, str) else json.dumps(answer)).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: {kind}\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
                if length > MAX_BODY:
                    break
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass  # the client went, or sent something this yardstick does not speak
        finally:
            writer.close()


async def main(args: argparse.Namespace) -> None:
    """Serve WebSockets and HTTP until SIGTERM or SIGINT."""
    site = Site(args.token)
    stop = asyncio.get_running_loop().create_future()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.cancel)
    http = await asyncio.start_server(site.http, "127.0.0.1", args.http_port)
    beats = asyncio.create_task(site.heartbeats(args.heartbeat))
    # As ours: no compression, no server pings (heartbeat frames instead), tiny inbound frames.
    async with serve(
        site.live,
        "127.0.0.1",
        args.port,
        compression=None,
        ping_interval=None,
        max_size=4096,
        backlog=args.backlog,
    ):
        print(
            f"reference server: ws 127.0.0.1:{args.port}, http 127.0.0.1:{args.http_port}",
            flush=True,
        )
        try:
            await stop
        except asyncio.CancelledError:
            pass
        beats.cancel()
        http.close()
    started = time.monotonic()
    await http.wait_closed()
    print(f"reference server stopped ({time.monotonic() - started:.1f} s to close)", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5790, help="WebSocket port")
    parser.add_argument("--http-port", type=int, default=5791, help="HTTP API port")
    parser.add_argument("--token", help="API token the POSTs must carry (default: none)")
    parser.add_argument("--heartbeat", type=float, default=25.0, help="seconds between beats")
    parser.add_argument("--backlog", type=int, default=2048, help="listen backlog (gunicorn's)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    (uvloop.run if uvloop is not None else asyncio.run)(main(arguments))
