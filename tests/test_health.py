"""Liveness and readiness for load balancers."""

from __future__ import annotations

from liveblog.extensions import db


def test_healthz_says_alive(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_the_database(app, client, monkeypatch):
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json() == {"status": "ready", "checks": {"database": True}}

    def broken(*args, **kwargs):
        raise ConnectionError("database down")

    with app.app_context():
        monkeypatch.setattr(db.session, "execute", broken)
        down = client.get("/readyz")
    assert down.status_code == 503 and down.headers["Retry-After"] == "5"
    assert down.get_json()["checks"] == {"database": False}
