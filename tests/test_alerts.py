"""Web Push alerts against the stand-in push service: what is sent, in which order, and when not."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import urllib.request

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from push_support import PushService, unb64url, verify_vapid
from py_vapid import Vapid
from py_vapid.utils import b64urlencode
from servers import Gunicorn, seed
from sqlalchemy import func, select

from liveblog.alerts import Deliverer, vapid
from liveblog.alerts.keys import KEY_FILE
from liveblog.extensions import db
from liveblog.models import PushAlert, PushSubscription
from liveblog.ops.demo import DEMO_SLUG

SUBSCRIPTIONS = "/api/stories/storm/push-subscriptions"


@pytest.fixture
def push(app):
    """The stand-in push service, with the app allowed to reach it and retrying at once."""
    app.config.update(PUSH_ALLOW_LOCAL=True, PUSH_RETRY_SECONDS=0, PUSH_LIMIT="100000 per minute")
    service = PushService()
    yield service
    service.close()


def subscribe(client, subscription: dict, slug: str = "storm"):
    """POST a browser's subscription as the page's script does."""
    return client.post(f"/api/stories/{slug}/push-subscriptions", json=subscription)


def pin(client, actions, entry_id: int, pinned: bool = True, **fields) -> dict:
    """Mark an entry key (or not) through the API, as the desk's publishing path does."""
    response = client.patch(f"/api/stories/storm/entries/{entry_id}",
                            json={"pinned": pinned, **fields}, headers=actions.headers())
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def deliver(app) -> None:
    """One pass of the background loop, waited for."""
    Deliverer(app).run_once(wait=True)


def subscriptions(app) -> int:
    """How many subscriptions are stored."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(PushSubscription))


def test_an_entry_marked_key_sends_its_title_and_link_once(app, client, actions, push):
    actions.create_story()
    entry = actions.post_entry(body="<p>The river is <b>over</b> its banks.</p>",
                               headline="Flood warning")
    browser = push.subscription()
    assert subscribe(client, browser).status_code == 201
    deliver(app)
    assert push.messages == []  # nothing is key yet
    pin(client, actions, entry["id"])
    pin(client, actions, entry["id"], headline="Flood warning for the valley")  # still key
    deliver(app)
    deliver(app)
    [message] = push.wait_for(1)
    assert message.status == 201 and message.path == browser["endpoint"].removeprefix(push.origin)
    assert message.json() == {"title": "Flood warning", "body": "The river is over its banks.",
                              "url": f"/stories/storm/entries/{entry['id']}"}
    assert int(message.headers["ttl"]) == 3600 and message.headers["urgency"] == "high"


def test_alerts_come_in_seq_order_after_a_500_and_a_timeout_free_retry(app, client, actions, push):
    actions.create_story()
    first, second = actions.post_entry(headline="One"), actions.post_entry(headline="Two")
    browser = push.subscription()
    subscribe(client, browser)
    push.answer(browser["endpoint"], 500)
    pin(client, actions, first["id"])
    pin(client, actions, second["id"])
    actions.post_entry(headline="Three", pinned=True)
    deliver(app)  # "One" is refused with 500: the subscription backs off and keeps its place
    assert [m.status for m in push.wait_for(1)] == [500]
    deliver(app)
    messages = push.wait_for(4)
    assert [(m.status, m.json()["title"]) for m in messages] == [
        (500, "One"), (201, "One"), (201, "Two"), (201, "Three")]


def test_another_subscriber_is_not_held_up_by_one_that_fails(app, client, actions, push):
    actions.create_story()
    entry = actions.post_entry(headline="Key")
    failing, working = push.subscription(), push.subscription()
    subscribe(client, failing)
    subscribe(client, working)
    push.answer(failing["endpoint"], 503, 503)
    pin(client, actions, entry["id"])
    deliver(app)
    sent = {(m.path, m.status) for m in push.wait_for(2)}
    assert sent == {(failing["endpoint"].removeprefix(push.origin), 503),
                    (working["endpoint"].removeprefix(push.origin), 201)}


def test_every_subscriber_of_a_story_gets_the_alert_once(app, client, actions, push):
    actions.create_story()
    browsers = [push.subscription() for _ in range(12)]  # more than one pass's eight senders
    for browser in browsers:
        subscribe(client, browser)
    actions.post_entry(headline="Key", pinned=True)
    deliver(app)
    deliver(app)
    messages = push.wait_for(12)
    assert sorted(m.path for m in messages) == sorted(
        b["endpoint"].removeprefix(push.origin) for b in browsers)
    assert {m.json()["title"] for m in messages} == {"Key"}


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_service_calls_gone_is_removed(app, client, actions, push, status):
    actions.create_story()
    entry = actions.post_entry(headline="Key")
    browser = push.subscription()
    subscribe(client, browser)
    push.answer(browser["endpoint"], status)
    pin(client, actions, entry["id"])
    deliver(app)
    assert [m.status for m in push.wait_for(1)] == [status]
    assert subscriptions(app) == 0
    actions.post_entry(headline="Another", pinned=True)
    deliver(app)
    assert len(push.messages) == 1  # nobody left to tell


@pytest.mark.parametrize("status", [400, 413])
def test_a_message_the_service_refuses_is_dropped_and_the_next_goes(app, client, actions, push,
                                                                     status):
    actions.create_story()
    browser = push.subscription()
    subscribe(client, browser)
    push.answer(browser["endpoint"], status)
    actions.post_entry(headline="Refused", pinned=True)
    actions.post_entry(headline="Taken", pinned=True)
    deliver(app)
    assert [(m.status, m.json()["title"]) for m in push.wait_for(2)] == [
        (status, "Refused"), (201, "Taken")]
    deliver(app)
    assert len(push.messages) == 2 and subscriptions(app) == 1


def test_a_new_subscriber_gets_no_past_alert_and_unsubscribing_stops_them(app, client, actions,
                                                                          push):
    actions.create_story()
    actions.post_entry(headline="Old news", pinned=True)
    early = push.subscription()
    subscribe(client, early)
    deliver(app)
    late = push.subscription()
    subscribe(client, late)
    deliver(app)
    assert push.messages == []
    response = client.delete(SUBSCRIPTIONS, json={"endpoint": early["endpoint"]})
    assert response.status_code == 204
    assert client.delete(SUBSCRIPTIONS, json={"endpoint": early["endpoint"]}).status_code == 204
    actions.post_entry(headline="New", pinned=True)
    deliver(app)
    [message] = push.wait_for(1)
    assert message.path == late["endpoint"].removeprefix(push.origin)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PushAlert)) == 1


def test_two_processes_send_each_alert_once(app, client, actions, push):
    actions.create_story()
    subscribe(client, push.subscription())
    actions.post_entry(headline="Key", pinned=True)
    one, two = Deliverer(app), Deliverer(app)
    futures = one.run_once() + two.run_once()
    for future in futures:
        future.result(timeout=10)
    deliver(app)
    assert len(push.wait_for(1)) == 1


def test_an_archived_story_forgets_its_subscriptions(app, client, actions, push):
    actions.create_story()
    subscribe(client, push.subscription())
    actions.post_entry(headline="Key", pinned=True)
    for change in ({"status": "ended"}, {"archived": True}):
        response = client.patch("/api/stories/storm", json=change, headers=actions.headers())
        assert response.status_code == 200, response.get_json()
    deliver(app)
    assert subscriptions(app) == 0 and push.messages == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PushAlert)) == 0


def _keys(push: PushService) -> dict:
    return push.subscription()["keys"]


BAD_SUBSCRIPTIONS = [
    ("no endpoint", lambda push: {"keys": _keys(push)}, "endpoint"),
    ("endpoint too long", lambda push: {"endpoint": push.origin + "/" + "a" * 1000,
                                        "keys": _keys(push)}, "endpoint"),
    ("http endpoint", lambda push: {"endpoint": "http://fcm.googleapis.com/x",
                                    "keys": _keys(push)}, "endpoint"),
    ("unknown push service", lambda push: {"endpoint": "https://10.0.0.1/x",
                                           "keys": _keys(push)}, "endpoint"),
    ("a user in the URL", lambda push: {"endpoint": "https://a@fcm.googleapis.com/x",
                                        "keys": _keys(push)}, "endpoint"),
    ("short auth", lambda push: {"endpoint": push.origin + "/p",
                                 "keys": {**_keys(push), "auth": "abc"}}, "keys.auth"),
    ("p256dh not on the curve", lambda push: {"endpoint": push.origin + "/p",
                                              "keys": {**_keys(push), "p256dh": "B" * 87}},
     "keys.p256dh"),
    ("p256dh not base64url", lambda push: {"endpoint": push.origin + "/p",
                                           "keys": {**_keys(push), "p256dh": "+" * 87}},
     "keys.p256dh"),
    ("no keys", lambda push: {"endpoint": push.origin + "/p"}, "keys"),
    ("another field", lambda push: {**push.subscription(), "name": "Ann"}, "name"),
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_SUBSCRIPTIONS,
                         ids=[case for case, *_ in BAD_SUBSCRIPTIONS])
def test_a_bad_subscription_is_a_422_naming_the_field(app, client, actions, push, case, body,
                                                      field):
    actions.create_story()
    response = subscribe(client, body(push))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert subscriptions(app) == 0


def test_bodies_that_are_not_subscriptions_are_refused(app, client, actions, push):
    actions.create_story()
    assert client.post(SUBSCRIPTIONS, data="[1]").status_code == 400
    assert client.post(SUBSCRIPTIONS, data=b"\xff").status_code == 400
    assert client.post(SUBSCRIPTIONS, data="x" * 5000).status_code == 413
    assert subscribe(client, push.subscription(), slug="nowhere").status_code == 404
    actions.create_story("quiet", status="draft")
    assert subscribe(client, push.subscription(), slug="quiet").status_code == 404


def test_an_ended_story_takes_no_subscription(app, client, actions, push):
    actions.create_story()
    client.patch("/api/stories/storm", json={"status": "ended"}, headers=actions.headers())
    assert subscribe(client, push.subscription()).status_code == 409


def test_production_refuses_a_local_endpoint(app, client, actions, push):
    actions.create_story()
    app.config["PUSH_ALLOW_LOCAL"] = False
    response = subscribe(client, push.subscription())
    assert response.status_code == 422 and "endpoint" in response.get_json()["error"]["fields"]


def test_only_known_push_services_are_taken_and_the_list_can_be_set(app, client, actions, push):
    actions.create_story()
    keys = push.subscription()["keys"]
    mozilla = {"endpoint": "https://updates.push.services.mozilla.com/wpush/v2/gAAAA", "keys": keys}
    assert subscribe(client, mozilla).status_code == 201
    app.config["PUSH_SERVICE_HOSTS"] = ("push.example.net",)
    assert subscribe(client, mozilla).status_code == 422
    own = {"endpoint": "https://push.example.net/s/1", "keys": keys}
    assert subscribe(client, own).status_code == 201
    assert subscriptions(app) == 2


def test_subscribing_is_limited_per_address(app, client, actions, push):
    actions.create_story()
    app.config["PUSH_LIMIT"] = "2 per minute"
    statuses = [subscribe(client, push.subscription()).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    assert subscriptions(app) == 2


def test_the_vapid_key_is_made_once_and_kept_private(app, client):
    first = client.get("/api/push/key").get_json()["key"]
    assert client.get("/api/push/key").get_json()["key"] == first
    point = unb64url(first)
    assert len(point) == 65 and point[0] == 4
    path = os.path.join(app.instance_path, KEY_FILE)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert vapid(app.instance_path).private_key is not None


# A process that makes the key on a slow disk: private_pem() is what it writes, so the window
# between the file being named and being full lasts as long as it sleeps.
RACER = """
import os, sys, time
from py_vapid import Vapid
from py_vapid.utils import b64urlencode
from liveblog.alerts.keys import public_key

pem = Vapid.private_pem
def slow_pem(self):
    time.sleep(0.5)
    return pem(self)
Vapid.private_pem = slow_pem

instance, go = sys.argv[1:]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
print(public_key(instance), flush=True)
"""


def test_processes_racing_to_make_the_vapid_key_all_get_the_same_whole_key(tmp_path):
    """Workers starting together agree on one key, and none of them reads a half-written file."""
    instance, go = tmp_path / "instance", tmp_path / "go"
    instance.mkdir()
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(instance), str(go)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(4)]
    try:
        for racer in racers:
            assert racer.stdout.readline() == "ready\n", racer.stderr.read()
        go.touch()
        seen = set()  # what another process would read whenever it found the file
        while any(racer.poll() is None for racer in racers):
            try:
                seen.add((instance / KEY_FILE).read_bytes())
            except FileNotFoundError:
                pass
            time.sleep(0.001)
        answers = [racer.communicate(timeout=30) for racer in racers]
    finally:
        for racer in racers:
            racer.kill()
            racer.wait()
    assert [racer.returncode for racer in racers] == [0] * 4, [err for _, err in answers]
    final = (instance / KEY_FILE).read_bytes()
    assert seen == {final}  # never empty or partial, and never replaced
    assert {out.strip() for out, _ in answers} == {public_key_of(final)}
    assert os.listdir(instance) == [KEY_FILE]  # no temporary file left behind
    assert stat.S_IMODE(os.stat(instance / KEY_FILE).st_mode) == 0o600


def public_key_of(pem: bytes) -> str:
    """The browser's form of a PEM private key's public half."""
    point = Vapid.from_pem(pem).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64urlencode(point)


def test_the_stand_in_refuses_a_forged_or_foreign_vapid_token():
    # The stand-in's checks are what the end-to-end tests rest on: they must be able to fail.
    key = Vapid()
    key.generate_keys()
    origin = "http://127.0.0.1:1"
    header = key.sign({"sub": "mailto:desk@example.org", "aud": origin})["Authorization"]
    assert verify_vapid(header, origin)["sub"] == "mailto:desk@example.org"
    other = Vapid()
    other.generate_keys()
    forged = header.split(",k=")[0] + ",k=" + other.sign(
        {"sub": "mailto:x@example.org", "aud": origin})["Authorization"].split(",k=")[1]
    with pytest.raises(InvalidSignature):
        verify_vapid(forged, origin)
    with pytest.raises(AssertionError):
        verify_vapid(header, "http://127.0.0.1:2")


def test_the_service_worker_is_served_for_the_whole_site(client):
    response = client.get("/alerts-sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert b"notificationclick" in response.data


def test_the_push_settings_come_from_the_environment(monkeypatch, tmp_path):
    from liveblog.config import from_environment

    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("PUSH_SENDERS", "3")
    monkeypatch.setenv("PUSH_SERVICE_HOSTS", "push.example.net, .push.example.org")
    monkeypatch.setenv("PUSH_VAPID_SUBJECT", "mailto:alerts@news.example")
    config = from_environment(str(tmp_path))
    assert config["PUSH_SENDERS"] == 3
    assert config["PUSH_SERVICE_HOSTS"] == ("push.example.net", ".push.example.org")
    assert config["PUSH_VAPID_SUBJECT"] == "mailto:alerts@news.example"
    monkeypatch.delenv("PUSH_SENDERS")
    assert from_environment(str(tmp_path))["PUSH_SENDERS"] == 8  # subscriptions sent at once


# One engine: the subject is the server process (`make run`'s gunicorn and its gevent worker),
# not the database.
@pytest.mark.databases("sqlite")
@pytest.mark.slow
def test_a_gunicorn_worker_sends_the_alert_outside_the_request(tmp_path, empty_database_url):
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": empty_database_url, "PUSH_ALLOW_LOCAL": "1"}
    token = seed(env)
    service = PushService()
    try:
        with Gunicorn(env, str(tmp_path / "gunicorn.log")) as server:
            def call(path: str, body: dict, token: str | None = None) -> int:
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["Authorization"] = f"Bearer {token}"
                request = urllib.request.Request(server.base + path, method="POST",
                                                 data=json.dumps(body).encode(), headers=headers)
                with urllib.request.urlopen(request, timeout=10) as answer:
                    return answer.status

            assert call(f"/api/stories/{DEMO_SLUG}/push-subscriptions",
                        service.subscription()) == 201
            assert call(f"/api/stories/{DEMO_SLUG}/entries",
                        {"headline": "Bridge closed", "body": "<p>Both lanes.</p>",
                         "pinned": True}, token) == 201
            # The worker's own background loop sends it: no test code runs a pass.
            [message] = service.wait_for(1, timeout=20)
            assert message.status == 201 and message.json()["title"] == "Bridge closed"
            assert message.json()["url"].startswith(f"/stories/{DEMO_SLUG}/entries/")
        # The server made its VAPID key in its instance folder, private to it.
        key = tmp_path / "instance" / KEY_FILE
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    finally:
        service.close()
