"""Limits that protect the service: API writes, live connects, readers per process, proxies."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import pytest
from servers import free_port
from sqlalchemy import func, select
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from liveblog import create_app
from liveblog.extensions import db
from liveblog.models import Entry

WAIT = 5.0


def ws_url(live_server: str, slug: str = "storm") -> str:
    return live_server.replace("http://", "ws://") + f"/api/stories/{slug}/live?after=0"


def post(client, token: str | None = None, **headers):
    """POST an entry to the storm story, with the token if one is given."""
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.post("/api/stories/storm/entries", json={"body": "<p>x</p>"}, headers=headers)


def refused_handshake(url: str) -> InvalidStatus:
    """Open a WebSocket that the server must refuse before the upgrade; return the refusal."""
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=WAIT)
    return refused.value


def test_api_writes_are_limited_per_token(app, client, actions):
    actions.create_story()
    app.config["API_WRITE_LIMIT"] = "3 per minute"
    assert [post(client, actions.token).status_code for _ in range(3)] == [201] * 3
    refused = post(client, actions.token)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many API writes" in refused.get_json()["error"]["message"]
    # Every write method draws on the same budget; reads are never counted.
    assert client.delete("/api/stories/storm/entries/1",
                         headers=actions.headers()).status_code == 429
    assert client.get("/api/stories/storm/entries").status_code == 200
    # Another journalist's token has its own budget.
    _, other = actions.create_user("other@example.org")
    assert post(client, other).status_code == 201
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Entry)) == 4


def test_api_writes_without_a_token_are_limited_per_address(app, client, actions):
    actions.create_story()
    app.config["API_WRITE_LIMIT"] = "2 per minute"
    assert [post(client).status_code for _ in range(3)] == [401, 401, 429]
    # A token's budget is apart from its address's.
    assert post(client, actions.token).status_code == 201


def test_limits_can_be_turned_off(tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "RATELIMIT_ENABLED": False, "API_WRITE_LIMIT": "1 per minute"})
    try:
        with app.app_context():
            db.create_all()
        client = app.test_client()
        assert [post(client).status_code for _ in range(3)] == [401] * 3
    finally:
        with app.app_context():
            db.engine.dispose()


def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_budget(
        tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    statuses = {}
    for hops in (0, 1):
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                          "TRUSTED_PROXIES": hops, "API_WRITE_LIMIT": "1 per minute"})
        try:
            with app.app_context():
                db.create_all()
            client = app.test_client()
            statuses[hops] = [post(client, **{"X-Forwarded-For": address}).status_code
                              for address in ("203.0.113.7", "198.51.100.9")]
        finally:
            with app.app_context():
                db.engine.dispose()
    assert statuses[0] == [401, 429]  # without a trusted proxy the header is the client's word
    assert statuses[1] == [401, 401]


def test_an_unreachable_limit_store_neither_fails_writes_nor_lifts_limits(
        tmp_path, monkeypatch, database_url):
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "instance"))
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "RATELIMIT_STORAGE_URI": dead_redis, "API_WRITE_LIMIT": "2 per minute"})
    try:
        with app.app_context():
            db.create_all()
        client = app.test_client()
        # Counted in memory meanwhile: requests are answered, and the limit still holds.
        assert [post(client).status_code for _ in range(3)] == [401, 401, 429]
    finally:
        with app.app_context():
            db.engine.dispose()


def test_live_connects_are_limited_per_address_before_the_upgrade(app, live_server, actions):
    actions.create_story()
    app.config["LIVE_CONNECT_LIMIT"] = "2 per minute"
    for _ in range(2):
        with connect(ws_url(live_server), open_timeout=WAIT):
            pass
    refused = refused_handshake(ws_url(live_server))
    assert refused.response.status_code == 429
    assert int(refused.response.headers["Retry-After"]) > 0
    assert b"Too many live connections" in refused.response.body


def test_a_full_process_refuses_readers_with_503_until_one_leaves(app, live_server, actions):
    actions.create_story()
    app.config["MAX_READERS_PER_PROCESS"] = 2
    slots = app.extensions["liveblog.reader_slots"]  # what the cap counts
    with ExitStack() as stack:
        first = stack.enter_context(connect(ws_url(live_server), open_timeout=WAIT))
        stack.enter_context(connect(ws_url(live_server), open_timeout=WAIT))
        wait_for(lambda: slots.taken == 2)
        refused = refused_handshake(ws_url(live_server))
        assert refused.response.status_code == 503
        assert 2 <= int(refused.response.headers["Retry-After"]) <= 6
        assert b"as many readers as it can" in refused.response.body
        first.close()
        wait_for(lambda: slots.taken == 1)
        with connect(ws_url(live_server), open_timeout=WAIT) as ws:
            actions.post_entry()
            assert json.loads(ws.recv(timeout=WAIT))["seq"] == 1


def wait_for(condition, timeout: float = WAIT) -> None:
    """Wait (bounded) for a condition another thread makes true; nothing to wait on instead."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true in time"
        time.sleep(0.01)
