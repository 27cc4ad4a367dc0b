"""Liveness and readiness: a shared dependency's outage is reported, not fatal."""

from __future__ import annotations

import logging

from prometheus_client import REGISTRY

from liveblog.extensions import db
from liveblog.live import shutdown

# The fixtures: redis_server, two_processes.
pytest_plugins = ["redis_support"]


def sample(name: str, **labels: str) -> float:
    """A sample of this process's metrics (0 if it has not been written yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_healthz_says_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_a_lost_database_is_reported_but_leaves_the_process_in_the_pool(
        app, client, monkeypatch, caplog):
    ready = client.get("/readyz")

    def broken(*args, **kwargs):
        raise ConnectionError("database down")

    with app.app_context(), caplog.at_level(logging.INFO, logger="liveblog"):
        monkeypatch.setattr(db.session, "execute", broken)
        answers = [client.get("/readyz") for _ in range(3)]
    # Every node shares the database: unready everywhere would turn a failed write into a
    # failed page for every reader too (docs/deploy.md, "Readiness").
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": "up"}}
    for answer in answers:
        assert answer.get_json() == {"status": "degraded", "checks": {"database": "down"}}
    assert sample("liveblog_dependency_up", dependency="database") == 0
    (went,) = [r for r in caplog.records if r.name.startswith("liveblog.ops.health")]
    assert went.levelno == logging.WARNING and went.exc_info is None
    assert "database" in went.getMessage() and "database down" in went.getMessage()


def test_readiness_rides_out_a_redis_outage_and_reports_it(two_processes, redis_server, caplog):
    (process, _), _ = two_processes
    probe = process.app.test_client()
    up = probe.get("/readyz")
    assert up.status_code == 200
    failures = sample("liveblog_dependency_failures_total", component="readiness",
                      dependency="redis")

    redis_server.stop()
    with caplog.at_level(logging.INFO, logger="liveblog.ops.health"):
        answers = [probe.get("/readyz") for _ in range(4)]
        # Readers are fed from the event log meanwhile: this process still serves.
        assert [answer.status_code for answer in answers] == [200] * 4
        assert up.get_json() == {"status": "ready",
                                 "checks": {"database": "up", "redis": "up"}}
        for answer in answers:
            assert answer.get_json() == {"status": "degraded",
                                         "checks": {"database": "up", "redis": "down"}}
        assert sample("liveblog_dependency_up", dependency="redis") == 0
        assert sample("liveblog_dependency_failures_total", component="readiness",
                      dependency="redis") == failures + 4
        redis_server.start()
        back = probe.get("/readyz")
    assert back.status_code == 200 and back.get_json()["status"] == "ready"
    assert sample("liveblog_dependency_up", dependency="redis") == 1
    # One line when Redis went, one when it came back, however many probes came between.
    lines = [r for r in caplog.records if r.name == "liveblog.ops.health"]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.WARNING]
    assert "redis" in lines[0].getMessage().lower() and "back" in lines[1].getMessage()
    assert all(r.exc_info is None for r in lines)


def test_a_stopping_process_is_not_ready(app, client):
    assert client.get("/readyz").status_code == 200
    shutdown.begin(app)  # what a worker does on SIGTERM
    answer = client.get("/readyz")
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
    assert answer.get_json()["status"] == "stopping"
    assert client.get("/healthz").status_code == 200  # alive: it is finishing its work
