"""Helpers for fault tests: readers that resume, writers that retry through a dying server."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

WAIT = 10.0  # upper bound for a step that takes well under a second when all is well


def post_entry(base: str, token: str, slug: str, body: str, timeout: float = 30) -> int:
    """Publish an entry exactly once, retrying through a dying server with one Idempotency-Key.

    Returns the entry id. A POST cut off mid-flight may or may not have been committed; the
    same key makes the retry return that entry instead of publishing a second one.
    """
    key = uuid.uuid4().hex
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(
            f"{base}/api/stories/{slug}/entries", data=json.dumps({"body": body}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                     "Idempotency-Key": key},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=WAIT) as response:
                assert response.status in (200, 201)
                return json.load(response)["id"]
        except urllib.error.HTTPError:
            raise  # the server answered: a refusal is a failure, not a fault to ride out
        except OSError:
            assert time.monotonic() < deadline, f"could not publish {body!r} in {timeout} s"
            time.sleep(0.1)  # the server is restarting; nothing to wait on but time


class ResumingReader(threading.Thread):
    """A reader that does what live.js does: on any drop, reconnect with after=<last seq>.

    Every data frame's seq is recorded in arrival order, so a test can check it got each seq
    exactly once. `frames_seen` is set whenever a frame arrives, for bounded waits.
    """

    def __init__(self, base: str, slug: str, after: int):
        super().__init__(daemon=True)
        self.url = base.replace("http://", "ws://") + f"/api/stories/{slug}/live"
        self.last_seq = after
        self.seqs: list[int] = []
        self.connects = 0
        self.connected = threading.Event()
        self.progress = threading.Condition()
        self._stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        """Read until stopped, reconnecting after every drop."""
        try:
            while not self._stopping.is_set():
                try:
                    self._read_once()
                except (ConnectionClosed, InvalidHandshake, InvalidStatus, OSError, TimeoutError):
                    self._stopping.wait(0.1)  # back off a little, as live.js does (without jitter)
        except BaseException as error:  # surfaced by wait_for_seq, so the test fails clearly
            self.error = error

    def _read_once(self) -> None:
        with connect(f"{self.url}?after={self.last_seq}", open_timeout=WAIT) as ws:
            self.connects += 1
            self.connected.set()
            while not self._stopping.is_set():
                try:
                    frame = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue  # look at the stop flag again
                if frame["type"] == "heartbeat":
                    continue
                with self.progress:
                    self.seqs.append(frame["seq"])
                    self.last_seq = max(self.last_seq, frame["seq"])
                    self.progress.notify_all()

    def wait_for_seq(self, seq: int, timeout: float = 30) -> None:
        """Wait (bounded) until a frame with this seq or a later one has arrived."""
        with self.progress:
            arrived = self.progress.wait_for(
                lambda: self.last_seq >= seq or self.error is not None, timeout)
        assert self.error is None, f"the reader failed: {self.error!r}"
        assert arrived, f"seq {seq} did not arrive; got {self.seqs}"

    def stop(self) -> None:
        """Stop reading and wait for the thread to end."""
        self._stopping.set()
        self.join(timeout=WAIT)
