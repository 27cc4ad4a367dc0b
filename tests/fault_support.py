"""Helpers for fault tests: gunicorn with workers to kill, readers that resume, patient writers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

from servers import free_port, wait_until_up
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
WAIT = 10.0  # upper bound for a step that takes well under a second when all is well


def seed(env: dict) -> str:
    """Migrate and seed the demo story in the environment's database; return the API token."""
    flask = [os.path.join(BIN, "flask"), "--app", "app"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=60)
    seeded = subprocess.run([*flask, "demo"], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True, timeout=60)
    return next(line.split()[-1] for line in seeded.stdout.splitlines() if "API token" in line)


class Gunicorn:
    """A gunicorn master with gevent workers, whose workers a test may kill; always stopped."""

    def __init__(self, env: dict, log_path: str, workers: int = 1, config: str | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [os.path.join(BIN, "gunicorn"), "-c", config or "python:liveblog.gunicorn_conf",
             "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", "app:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> Gunicorn:
        try:
            wait_until_up(f"{self.base}/healthz", self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the master (and so its workers); kill it if it does not go in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()

    def worker_pids(self) -> set[int]:
        """The master's live worker processes."""
        pids = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it exited while we looked
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                pids.add(int(entry))
        return pids

    def readers_per_worker(self) -> dict[int, int]:
        """How many established connections to the server port each worker holds."""
        established = _established_inodes(self.port)
        counts = {}
        for pid in self.worker_pids():
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds]
            except OSError:
                continue
            counts[pid] = sum(link.removeprefix("socket:[").rstrip("]") in established
                              for link in links if link.startswith("socket:["))
        return counts

    def kill_worker(self, pid: int) -> None:
        """kill -9 one worker, then wait (bounded) until the master has started its successor."""
        before = self.worker_pids()
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (self.worker_pids() - before) or pid in self.worker_pids():
            assert time.monotonic() < deadline, "gunicorn did not replace the killed worker"
            time.sleep(0.05)  # polling another process's children; nothing to wait on


def _established_inodes(port: int) -> set[str]:
    # /proc/net/tcp: local address as hex ip:port, state 01 = ESTABLISHED, inode in column 10.
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                rows = [line.split() for line in lines][1:]
        except OSError:
            continue
        for row in rows:
            if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == "01":
                inodes.add(row[9])
    return inodes


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
