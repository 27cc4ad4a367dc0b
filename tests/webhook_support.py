"""A real webhook receiver for the tests: records what arrives, answers as told, holds on demand."""

from __future__ import annotations

import json
import pathlib
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from liveblog import publishing
from liveblog.extensions import db
from liveblog.models import User
from liveblog.webhooks import register_endpoint

WAIT = 10  # seconds any test waits for a webhook at most
SECRET = "s3cret-s3cret-s3cret"
DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs" / "webhooks.md"


def _receivers_verify():
    # The check docs/webhooks.md gives receivers, run as written there: the engine has none of
    # its own, and the tests find out whether the documented code accepts what we send.
    source = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    namespace: dict = {}
    exec(source, namespace)
    return namespace["verify"]


verify = _receivers_verify()


@dataclass
class Arrival:
    """One request as the receiver saw it, with the status it answered."""

    method: str
    path: str
    headers: dict
    body: bytes
    status: int
    client_port: int
    sender: object = None  # what the receiver's identify hook said about the client

    def event(self) -> dict:
        """The webhook's JSON body."""
        return json.loads(self.body)


class Receiver:
    """A webhook receiver on 127.0.0.1.

    `requests` holds the (headers, body) of the POSTs it answered 2xx; `arrivals` every request
    of any method. `failing` makes it answer 500, `answer` picks a status (and headers) per
    request, and `hold(seq)` keeps the first request for that seq waiting until released.
    """

    def __init__(self, port: int = 0, answer=None, identify=None):
        self.requests: list[tuple[dict, bytes]] = []
        self.arrivals: list[Arrival] = []
        self.failing = False
        self.answer = answer  # (method, path, body) -> (status, extra headers)
        self.identify = identify  # client port -> who sent it, asked while the client waits
        self.arrived = threading.Condition()
        self._holds: dict[int, tuple[threading.Event, threading.Event]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                receiver._handle(self)

            def do_GET(self):  # noqa: N802
                receiver._handle(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        self._wait_if_held(body)
        status, extra = 204, {}
        port = request.client_address[1]
        sender = self.identify(port) if self.identify else None
        if self.failing:
            status = 500
        elif self.answer is not None:
            status, extra = self.answer(request.command, request.path, body)
        with self.arrived:
            self.arrivals.append(Arrival(request.command, request.path, dict(request.headers),
                                         body, status, port, sender))
            if request.command == "POST" and 200 <= status < 300:
                self.requests.append((dict(request.headers), body))
            self.arrived.notify_all()
        request.send_response(status)
        for name, value in extra.items():
            request.send_header(name, value)
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _wait_if_held(self, body: bytes) -> None:
        try:
            seq = json.loads(body)["seq"]
        except (ValueError, KeyError, TypeError):
            return
        with self.arrived:
            hold = self._holds.pop(seq, None)  # only the first request for that seq waits
        if hold is not None:
            reached, release = hold
            reached.set()
            assert release.wait(WAIT), "a held webhook was never released"

    def hold(self, seq: int) -> tuple[threading.Event, threading.Event]:
        """Hold the first request for this seq: (set when it arrives, set it to let it go)."""
        hold = (threading.Event(), threading.Event())
        self._holds[seq] = hold
        return hold

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[dict]:
        """The bodies of the webhooks answered 2xx, in the order they arrived."""
        return [json.loads(body) for _, body in self.requests]

    def wait_for(self, count: int, timeout: float = WAIT) -> list[dict]:
        """Wait (bounded) until count webhooks were answered 2xx; return them all."""
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.requests) >= count, timeout), \
                f"{len(self.requests)} of {count} webhooks arrived"
        return self.events()

    def stop(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()


def post(app, story_id: int, count: int, start: int = 0) -> None:
    """Publish count entries in the story as its first user, one transaction each."""
    with app.app_context():
        editor = db.session.scalar(select(User).order_by(User.id))
        for n in range(start, start + count):
            publishing.create_entry(story_id, editor, {"body": f"<p>Entry {n}</p>"})


def register(app, url: str, story_id: int | None = None, types: list[str] | None = None) -> int:
    """Register an endpoint with a known secret; return its id."""
    with app.app_context():
        return register_endpoint(url, story_id, types or [], secret=SECRET).id


@pytest.fixture
def receiver():
    """A webhook receiver on loopback, stopped after the test."""
    running = Receiver()
    yield running
    running.stop()
