"""Structured logs: one JSON object per line, one record per request, a request id throughout."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import urllib.request

import pytest
from flask import g
from servers import free_port, wait_until_up

from liveblog import logging_setup

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
    assert made_up != given and len(made_up) == 32 and int(made_up, 16) >= 0
    (record,) = [r for r in caplog.records if r.name == "liveblog.requests"]
    assert record.request_id == made_up and record.status == 404


def test_an_engine_record_made_during_a_request_carries_its_id(app):
    formatter = logging_setup.JsonFormatter()
    with app.test_request_context("/"):
        logging_setup._start_request()
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            record = logging.getLogger("liveblog.hub").makeRecord(
                "liveblog.hub", logging.ERROR, __file__, 1, "delivering %s failed", ("x",),
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


@pytest.mark.slow
def test_gunicorn_writes_json_lines_for_itself_and_for_requests(tmp_path):
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance")}
    env.pop("LOG_FORMAT", None)  # json is gunicorn's default
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log_file:
        server = subprocess.Popen(
            [os.path.join(BIN, "gunicorn"), "-c", "python:liveblog.gunicorn_conf",
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
    (probe,) = [line for line in lines if line.get("request_id") == "probe-7"]
    assert probe["status"] == 200 and probe["path"] == "/healthz"
    assert REQUEST_FIELDS <= probe.keys()
