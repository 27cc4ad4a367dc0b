"""Logs: JSON lines for collectors, text for a terminal, one record per request, a request id."""

from __future__ import annotations

import json
import logging
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from flask import g
from prometheus_client import REGISTRY
from servers import Gunicorn, free_port, wait_until_up
from sqlalchemy.exc import OperationalError
from test_live import close_code, raw_websocket, receive_frames, ws_url
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from liveblog.live.hub import Hub
from liveblog.live.relay import Relay
from liveblog.publishing.scheduler import Scheduler
from liveblog.web import logs as logging_setup
from liveblog.webhooks import Deliverer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(os.path.abspath(sys.executable))
REQUEST_FIELDS = {"method", "path", "status", "duration_ms", "request_id", "remote_addr"}


@pytest.fixture
def root_logger():
    """The root logger, with its handlers and level put back after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_request_is_logged_once_with_its_fields_and_id(client, caplog):
    with caplog.at_level(logging.INFO, logger="liveblog.requests"):
        response = client.get("/healthz?probe=1", headers={"X-Request-ID": "edge-42"})
    (record,) = [r for r in caplog.records if r.name == "liveblog.requests"]
    assert response.headers["X-Request-ID"] == "edge-42"
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    assert record.request_id == "edge-42" and record.remote_addr == "127.0.0.1"
    assert 0 <= record.duration_ms < 5000
    line = json.loads(logging_setup.JsonFormatter().format(record))
    assert REQUEST_FIELDS | {"timestamp", "level", "logger", "message"} <= line.keys()
    assert line["level"] == "INFO" and line["message"] == "GET /healthz 200"


@pytest.mark.parametrize("given", ["", "two words", "x" * 129, '{"level":"ERROR"}'])
def test_an_unusable_request_id_is_replaced(client, caplog, given):
    with caplog.at_level(logging.INFO, logger="liveblog.requests"):
        response = client.get("/missing-page", headers={"X-Request-ID": given})
    made_up = response.headers["X-Request-ID"]
    assert made_up != given and re.fullmatch(r"[0-9a-f]{32}", made_up)
    (record,) = [r for r in caplog.records if r.name == "liveblog.requests"]
    assert record.request_id == made_up and record.status == 404


def test_an_engine_record_made_during_a_request_carries_its_id(app):
    formatter = logging_setup.JsonFormatter()
    with app.test_request_context("/"):
        logging_setup._start_request()
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            record = logging.getLogger("liveblog.live.hub").makeRecord(
                "liveblog.live.hub", logging.ERROR, __file__, 1, "delivering %s failed", ("x",),
                exc_info=sys.exc_info())
        line = json.loads(formatter.format(record))
        assert line["request_id"] == g.request_id
    assert line["message"] == "delivering x failed" and line["level"] == "ERROR"
    assert "RuntimeError: boom" in line["exception"]


def test_configure_installs_one_handler_however_many_apps(root_logger):
    before = len(root_logger.handlers)
    for log_format in ("json", "json", "text"):
        logging_setup.configure(log_format)
    assert len(root_logger.handlers) == before + 1
    assert isinstance(root_logger.handlers[-1].formatter, logging_setup.TextFormatter)
    with pytest.raises(ValueError, match="json or text"):
        logging_setup.formatter("xml")


@pytest.mark.parametrize(("setting", "terminal", "chosen"), [
    (None, True, "text"), (None, False, "json"),  # a person watching; a file or a collector
    ("json", True, "json"), ("text", False, "text"),  # LOG_FORMAT decides when it is set
])
def test_the_format_follows_who_reads_stderr_unless_log_format_says(setting, terminal, chosen):
    reader, writer = pty.openpty() if terminal else os.pipe()
    with open(writer, "w") as stream:
        try:
            assert logging_setup.chosen_format(setting, stream) == chosen
        finally:
            os.close(reader)


@pytest.mark.slow
def test_gunicorn_at_a_terminal_writes_text_lines_without_alembic_noise(tmp_path):
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance")}
    env.pop("LOG_FORMAT", None)  # as `make run` starts it
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    terminal, worker_side = pty.openpty()
    server = subprocess.Popen(
        [os.path.join(BIN, "gunicorn"), "-c", "python:liveblog.ops.gunicorn_conf",
         "--bind", f"127.0.0.1:{port}", "app:app"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=worker_side, stderr=worker_side)
    os.close(worker_side)
    output = b""
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz",
                                         headers={"X-Request-ID": "probe-8"})
        with urllib.request.urlopen(request, timeout=5):
            pass
        deadline = time.monotonic() + 10
        while b"GET /healthz 200" not in output:
            assert time.monotonic() < deadline, output.decode(errors="replace")
            if select.select([terminal], [], [], 0.5)[0]:
                output += os.read(terminal, 65536)
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.close(terminal)
    lines = [line for line in output.decode().splitlines() if line.strip()]
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert any(re.match(rf"{stamp} INFO gunicorn\.error: Listening at: ", line) for line in lines)
    assert any(re.match(rf"{stamp} INFO liveblog\.requests: GET /healthz 200$", line.rstrip())
               for line in lines), lines
    assert not [line for line in lines if line.startswith("{")]
    assert not [line for line in lines if "alembic" in line], lines


@pytest.mark.slow
def test_gunicorn_writes_json_lines_for_itself_and_for_requests(tmp_path):
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance")}
    env.pop("LOG_FORMAT", None)  # JSON, as stderr goes to a file
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log_file:
        server = subprocess.Popen(
            [os.path.join(BIN, "gunicorn"), "-c", "python:liveblog.ops.gunicorn_conf",
             "--bind", f"127.0.0.1:{port}", "app:app"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/healthz", server)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz",
                                             headers={"X-Request-ID": "probe-7"})
            with urllib.request.urlopen(request, timeout=5):
                pass
        finally:
            server.terminate()
            server.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    assert any(line["logger"].startswith("gunicorn") for line in lines)
    assert not [line for line in lines if line["logger"].startswith("alembic")]
    (probe,) = [line for line in lines if line.get("request_id") == "probe-7"]
    assert probe["status"] == 200 and probe["path"] == "/healthz"
    assert REQUEST_FIELDS <= probe.keys()


def wait_for(condition, timeout: float = 5.0):
    """Wait (bounded) until condition() is true; a server thread writes what it checks."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.02)  # another thread logs or counts: there is no event to wait on
    return result


def failures(component: str, dependency: str = "database") -> float:
    """How many failures of a dependency a component has counted in this process."""
    return REGISTRY.get_sample_value("liveblog_dependency_failures_total",
                                     {"component": component, "dependency": dependency}) or 0.0


@pytest.mark.parametrize(("loop", "component", "logger"), [
    (Scheduler, "scheduler", "liveblog.publishing.scheduler"),
    (Deliverer, "webhooks", "liveblog.webhooks.delivery"),
])
def test_an_outage_logs_one_line_when_it_starts_and_one_when_it_ends(
        app, caplog, loop, component, logger):
    passes, failing = 0, 5
    recovered = threading.Event()

    def flaky_pass(*args, **kwargs):
        nonlocal passes
        passes += 1
        if passes <= failing:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
        if passes == failing + 3:
            recovered.set()
        return 0 if loop is Scheduler else []

    before = failures(component)
    worker = loop(app, interval=0.01)
    worker.run_once = flaky_pass  # the loop's pass, as a database that is down then back
    if loop is Scheduler:
        # Its idle pass is one question instead (falsy here: no full pass follows); a database
        # that is down fails that as well.
        worker.anything_due = flaky_pass
    caplog.set_level(logging.INFO, logger=logger)
    worker.start()
    try:
        assert recovered.wait(5), "the loop stopped running passes"
    finally:
        worker.stop()
    lines = [r for r in caplog.records if r.name == logger and r.levelno >= logging.WARNING]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.WARNING], [
        r.getMessage() for r in lines]
    went, back = (r.getMessage() for r in lines)
    assert "database" in went and "connection refused" in went and "back" in back
    assert all(r.exc_info is None for r in lines)  # no traceback, however long the outage
    assert failures(component) - before == failing


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
@pytest.mark.slow
def test_under_gunicorn_one_request_makes_one_access_line(tmp_path, empty_database_url):
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": empty_database_url, "LOG_FORMAT": "json"}
    log_path = tmp_path / "gunicorn.log"
    with Gunicorn(env, str(log_path)) as server:
        request = urllib.request.Request(f"{server.base}/no-such-page-17",
                                         headers={"X-Request-ID": "probe-17"})
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(request, timeout=5)
        missing.value.close()
        assert missing.value.code == 404
    lines = [line for line in log_path.read_text().splitlines() if "no-such-page-17" in line]
    (line,) = lines  # ours, not gunicorn's access log beside it
    record = json.loads(line)
    assert record["request_id"] == "probe-17" and record["status"] == 404


def live_lines(caplog) -> list[logging.LogRecord]:
    """The request log's lines for live sockets so far."""
    return [r for r in caplog.records
            if r.name == "liveblog.requests" and r.path.endswith("/live")]


def disconnects(code: str) -> float:
    """Live sockets closed with this code, as this process counted them."""
    return REGISTRY.get_sample_value("liveblog_websocket_disconnects_total",
                                     {"code": code}) or 0.0


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
def test_a_socket_leaves_its_close_code_duration_and_last_seq(app, live_server, actions,
                                                              caplog):
    caplog.set_level(logging.INFO, logger="liveblog.requests")
    actions.create_story()
    for number in range(3):
        actions.post_entry(body=f"<p>Update {number}</p>")
    counted = {code: disconnects(code) for code in ("4404", "1000", "1012")}

    with raw_websocket(live_server, "/api/stories/nowhere/live") as raw:
        assert close_code(raw.recv(4096)) == 4404
    unknown = wait_for(lambda: live_lines(caplog))[-1]
    assert (unknown.status, unknown.close_code) == (101, 4404)
    assert unknown.getMessage() == "GET /api/stories/nowhere/live 101 closed 4404"

    with connect(ws_url(live_server, after=1)) as ws:
        receive_frames(ws, 2)  # seq 2 and 3
    left = wait_for(lambda: len(live_lines(caplog)) == 2 and live_lines(caplog))[-1]
    assert (left.status, left.close_code, left.last_seq) == (101, 1000, 3)

    with connect(ws_url(live_server, after=0)) as ws:
        receive_frames(ws, 3)
        app.extensions["liveblog.hub"].close_all()  # the process is stopping
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1012
    sent_away = wait_for(lambda: len(live_lines(caplog)) == 3 and live_lines(caplog))[-1]
    assert (sent_away.status, sent_away.close_code, sent_away.last_seq) == (101, 1012, 3)
    assert sent_away.duration_ms > 0

    line = json.loads(logging_setup.JsonFormatter().format(sent_away))
    assert {"close_code", "last_seq", "duration_ms", "request_id"} <= line.keys()
    for code in ("4404", "1000", "1012"):
        wait_for(lambda code=code: disconnects(code) == counted[code] + 1)


def test_the_relay_logs_a_database_outage_once_each_way(app, caplog):
    hub = Hub()
    relay = Relay(app, hub, "redis://127.0.0.1:1/0")  # never connects: only its log reads run
    subscription = hub.subscribe(9002)  # a reader, so there is a story to read the log for
    passes, failing = 0, 4

    def newest_undelivered(stories):
        nonlocal passes
        passes += 1
        if passes <= failing:
            raise OperationalError("SELECT", {}, ConnectionRefusedError("connection refused"))
        return []

    relay._newest_undelivered = newest_undelivered
    before = failures("relay")
    polls = REGISTRY.get_sample_value("liveblog_redis_polls_total") or 0.0
    caplog.set_level(logging.INFO, logger="liveblog.live.relay")
    for _ in range(failing + 2):
        relay._poll()  # what the relay does every second while Redis is unreachable
    hub.unsubscribe(subscription)
    lines = [r for r in caplog.records if r.name == "liveblog.live.relay"]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.WARNING]
    assert "database" in lines[0].getMessage() and "back" in lines[1].getMessage()
    assert all(r.exc_info is None for r in lines)
    assert failures("relay") - before == failing
    assert REGISTRY.get_sample_value("liveblog_redis_polls_total") - polls == 2  # the two after
