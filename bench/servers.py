"""Throwaway servers for the publish and page benchmarks: PostgreSQL, an instance, gunicorn.

Everything binds 127.0.0.1, lives under a temp dir and is stopped by the caller (use the
context managers). PostgreSQL comes from Debian's binaries (/usr/lib/postgresql/*/bin), run as
the postgres user when we are root, as tests/pg_support.py does; unlike the test suite's server
it keeps fsync and synchronous_commit on by default, as a production server would.
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from common import CLK_TCK

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")


# ---------------------------------------------------------------------------------------------
# Process CPU, from /proc (the machine's is common.machine_cpu_seconds)


def process_tree(pid: int) -> list[int]:
    """The pid and all its descendants (gunicorn master and workers; postgres backends)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for task in _listdir(f"/proc/{current}/task"):
            try:
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
            except OSError:
                pass
    return found


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def cpu_by_process(pid: int | None) -> dict[int, float]:
    """utime + stime of a process and each of its live descendants, by pid."""
    found = {}
    for member in process_tree(pid) if pid else []:
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[member] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return found


def tree_cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process and its live descendants (exited children are not counted)."""
    if not pid:
        return 0.0
    total = 0.0
    for member in process_tree(pid):
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def free_port(low: int = 5700, high: int = 5799) -> int:
    """A port in our benchmark range that nothing on 127.0.0.1 listens on right now."""
    for port in range(low, high + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# ---------------------------------------------------------------------------------------------
# PostgreSQL


class Postgres:
    """One PostgreSQL cluster in a temp dir, trust auth over TCP on 127.0.0.1."""

    def __init__(self, port: int, durable: bool = True):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not found and not os.environ.get("LIVEBLOG_PG_BINDIR"):
            raise RuntimeError("No PostgreSQL server binaries: apt-get install postgresql")
        self.bindir = os.environ.get("LIVEBLOG_PG_BINDIR") or found[-1]
        self.port, self.durable = port, durable
        self.root = tempfile.mkdtemp(prefix="liveblog-bench-pg-")
        self.data = os.path.join(self.root, "data")
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            account = pwd.getpwnam("postgres")
            os.chown(self.root, account.pw_uid, account.pw_gid)

    def _run(self, *args: str) -> str:
        command = [*self.as_user, os.path.join(self.bindir, args[0]), *args[1:]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(self) -> Postgres:
        """initdb, start, create the database `liveblog`."""
        self._run(
            "initdb",
            "-D",
            self.data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-instructions",
        )
        options = [
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c max_connections=200 -c shared_buffers=128MB",
        ]
        if not self.durable:
            options.append("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run(
            "pg_ctl",
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            self.data,
            "-l",
            os.path.join(self.root, "server.log"),
            "-o",
            f"-p {self.port} {' '.join(options)}",
        )
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "liveblog")
        return self

    @property
    def pid(self) -> int | None:
        """The postmaster's pid."""
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as handle:
                return int(handle.readline())
        except (OSError, ValueError):
            return None

    @property
    def version(self) -> str:
        """The server's version string, e.g. 15.10."""
        return self._run("postgres", "--version").split()[-1]

    def url(self) -> str:
        """The SQLAlchemy URL of the database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/liveblog"

    def stop(self) -> None:
        """Stop the server and remove its files."""
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self._run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def postgres(durable: bool = True) -> Iterator[Postgres]:
    """A started throwaway PostgreSQL server, stopped and removed afterwards."""
    server = Postgres(free_port(5780, 5799), durable)
    try:
        yield server.start()
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# The application: a private instance, migrations, the demo token, gunicorn


def app_environment(instance: str, database_url: str | None) -> dict[str, str]:
    """The environment of every flask and gunicorn process of one benchmark setup."""
    # Per-client rate limits off: every benchmark client is 127.0.0.1 with one token, and the
    # API's 120 writes a minute would answer most posts with 429.
    env = {**os.environ, "LIVEBLOG_INSTANCE": instance, "RATELIMIT_ENABLED": "0"}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def prepare_instance(instance: str, database_url: str | None) -> str:
    """Migrate the database and seed the demo editor; return the demo API token."""
    os.makedirs(instance, exist_ok=True)
    env = app_environment(instance, database_url)
    flask = [os.path.join(VENV_BIN, "flask"), "--app", "app"]
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [*flask, *command], cwd=ROOT, env=env, check=True, timeout=300, capture_output=True
        )
    with open(os.path.join(instance, "demo-token.txt")) as handle:
        return handle.read().strip()


class Gunicorn:
    """gunicorn as `make serve` runs it (gevent, liveblog.ops.gunicorn_conf), on 127.0.0.1."""

    def __init__(self, instance: str, database_url: str | None, workers: int, port: int):
        self.env = app_environment(instance, database_url)
        self.workers, self.port = workers, port
        self.log = os.path.join(instance, f"gunicorn-{port}.log")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gunicorn:
        """Start the server and wait until it accepts connections."""
        command = [
            os.path.join(VENV_BIN, "gunicorn"),
            "-c",
            "python:liveblog.ops.gunicorn_conf",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "app:app",
        ]
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port)
        # Every worker up, so the first requests measure the app, not a worker booting.
        deadline = time.monotonic() + 30
        while len(process_tree(self.process.pid)) < self.workers + 1:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        return self

    @property
    def pid(self) -> int | None:
        """The master's pid."""
        return self.process.pid if self.process else None

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then kill if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@contextmanager
def gunicorn(instance: str, database_url: str | None, workers: int) -> Iterator[Gunicorn]:
    """A started gunicorn on a free port in 5700-5779, stopped afterwards."""
    server = Gunicorn(instance, database_url, workers, free_port(5700, 5779))
    try:
        yield server.start()
    finally:
        server.stop()


@contextmanager
def database(kind: str, instance: str, durable: bool = True) -> Iterator[tuple[str | None, dict]]:
    """(DATABASE_URL or None for the instance's SQLite file, facts to record) for kind."""
    if kind == "sqlite":
        yield None, {"database": "sqlite", "pid": None}
        return
    with postgres(durable) as server:
        yield (
            server.url(),
            {
                "database": "postgresql",
                "version": server.version,
                "durable": durable,
                "pid": server.pid,
            },
        )


def versions() -> dict[str, str]:
    """Versions of what the benchmarks exercise."""
    from importlib.metadata import version

    found = {"python": sys.version.split()[0]}
    for name in ("flask", "gunicorn", "gevent", "sqlalchemy", "psycopg"):
        try:
            found[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing package is just not reported
            pass
    found["sqlite"] = __import__("sqlite3").sqlite_version
    return found


def add_target_arguments(parser: argparse.ArgumentParser, url_help: str) -> None:
    """Add --url of a running server or --spawn of throwaway ones, and --workers for those."""
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--url", help=url_help)
    target.add_argument(
        "--spawn",
        choices=("sqlite", "postgresql"),
        help="start a private instance, database and gunicorn for this run, then stop them",
    )
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers (--spawn)")


def fresh_instance(prefix: str) -> str:
    """A new private LIVEBLOG_INSTANCE directory under /tmp."""
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")
