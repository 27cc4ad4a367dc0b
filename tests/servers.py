"""Helpers for tests of real servers: a free port, a seeded gunicorn, a raw WebSocket."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from werkzeug.security import generate_password_hash

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
# The suite's users share one hash of one password, and a cheap one: the app's scrypt takes
# ~100 ms a hash, and checking it again at every log-in took a third of the desk tests' time.
# The app still hashes with scrypt (models.User.set_password, tested where users are made).
PASSWORD_HASH = generate_password_hash("correct horse battery", method="pbkdf2:sha256:1")
# How often a test server looks for shutdown: werkzeug's 0.5 s would end every test that
# stops a server with half a second of waiting.
SERVER_POLL_SECONDS = 0.01


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    """Wait (bounded) until a starting server answers HTTP."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)  # polling a starting server; nothing to wait on instead
    raise AssertionError(f"{url} did not answer within {timeout} s")


def websocket_handshake(sock: socket.socket, path: str) -> None:
    """Open a WebSocket on a connected socket by hand, reading not one byte past the handshake."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        f"Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        # Byte by byte: the frames that follow stay in the socket for the test to read.
        byte = sock.recv(1)
        assert byte, f"the server closed during the handshake: {head!r}"
        head += byte
    assert head.startswith(b"HTTP/1.1 101"), head


# `flask db upgrade` then `flask demo`, as `make run` does, in one interpreter: importing the
# app costs more than either command.
SEED = """
import sys
from app import app
runner = app.test_cli_runner()
for args in (["db", "upgrade"], ["demo"]):
    result = runner.invoke(args=args)
    sys.stdout.write(result.output)
    if result.exit_code:
        raise SystemExit(f"flask {' '.join(args)} failed: {result.exception!r}")
"""


def seed(env: dict) -> str:
    """Migrate and seed the demo story in the environment's database; return the API token."""
    seeded = subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    return next(line.split()[-1] for line in seeded.stdout.splitlines() if "API token" in line)


class Gunicorn:
    """A gunicorn master with gevent workers, whose workers a test may kill; always stopped."""

    def __init__(self, env: dict, log_path: str, workers: int = 1, config: str | None = None,
                 preexec_fn=None, port: int | None = None, new_session: bool = False):
        # A restarted server comes back on its old port; a new session lets a test kill -9 the
        # master and its workers together (kill_whole_server) without touching pytest.
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "w")  # noqa: SIM115  (closed in stop)
        self.process = subprocess.Popen(
            [os.path.join(BIN, "gunicorn"), "-c", config or "python:liveblog.ops.gunicorn_conf",
             "--workers", str(workers), "--bind", f"127.0.0.1:{self.port}", "app:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
            start_new_session=new_session,
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


def _established_inodes(port: int, state: str = "01") -> set[str]:
    # /proc/net/tcp: local address as hex ip:port, state 01 = ESTABLISHED (0A = LISTEN), inode
    # in column 10.
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                rows = [line.split() for line in lines][1:]
        except OSError:
            continue
        for row in rows:
            if int(row[1].rsplit(":", 1)[1], 16) == port and row[3] == state:
                inodes.add(row[9])
    return inodes


def kill_whole_server(server: Gunicorn) -> None:
    """kill -9 a master and its workers at once (it must run in its own session), and reap it."""
    workers = server.worker_pids()
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers):  # orphans: not ours to reap, only to await
        assert time.monotonic() < deadline, "the killed server's workers are still running"
        time.sleep(0.05)  # polling another process's state; nothing to wait on


def _running(pid: int) -> bool:
    # A zombie has closed its sockets already; only its exit status is left.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def reload_workers(server: Gunicorn, timeout: float = 30) -> None:
    """Gracefully restart a master's workers (SIGHUP) and wait until only new ones remain."""
    before = server.worker_pids()
    os.kill(server.process.pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while (now := server.worker_pids()) & before or not now:
        assert time.monotonic() < deadline, "gunicorn did not replace its workers after SIGHUP"
        time.sleep(0.05)  # polling another process's children; nothing to wait on


def cpu_seconds(server: Gunicorn) -> float:
    """CPU time a master and its workers have used: live workers, and the ones it has reaped."""
    def used(pid: int, reaped: bool) -> float:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0  # it exited while we looked
        # utime, stime (and cutime, cstime: children waited for) in clock ticks.
        ticks = fields[11:15] if reaped else fields[11:13]
        return sum(map(int, ticks)) / os.sysconf("SC_CLK_TCK")

    if server.process.poll() is not None:
        return 0.0
    return used(server.process.pid, True) + sum(used(pid, False) for pid in server.worker_pids())


def serving_workers(server: Gunicorn) -> set[int]:
    """The master's workers that accept connections: booted, their event loop on the listener."""
    listeners = _established_inodes(server.port, state="0A")
    serving = set()
    for pid in server.worker_pids():
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            links = {fd: os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds}
            listening = {fd for fd, link in links.items()
                         if link.startswith("socket:[") and link[8:-1] in listeners}
            watched = set()
            for fd, link in links.items():
                if link == "anon_inode:[eventpoll]":  # "tfd: <fd>" per watched descriptor
                    with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                        watched |= {line.split()[1] for line in info if line.startswith("tfd:")}
        except OSError:
            continue  # it exited, or a descriptor closed while we looked
        if listening & watched:
            serving.add(pid)
    return serving


def wait_until_serving(server: Gunicorn, workers: int, timeout: float = 60) -> None:
    """Wait (bounded) until `workers` of the master's workers accept connections."""
    deadline = time.monotonic() + timeout
    while len(serving_workers(server)) < workers:
        assert time.monotonic() < deadline, f"{workers} workers not serving after {timeout} s"
        time.sleep(0.05)  # polling another process's state; nothing to wait on
