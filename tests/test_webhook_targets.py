"""Where a webhook may go: no redirects followed, and only to the address that was checked."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
from sqlalchemy import select
from webhook_support import Receiver, post, register

from liveblog.extensions import db
from liveblog.models import Role, Story, WebhookAttempt
from liveblog.webhooks import Deliverer
from liveblog.webhooks.transport import PinnedHTTPSConnection

PUBLIC = "93.184.215.14"  # a global address nothing in the test may reach


@pytest.fixture
def story_id(app, actions):
    """A live story, with the app allowed to call loopback."""
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    actions.create_story()
    with app.app_context():
        return db.session.scalar(select(Story.id))


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(app, story_id, actions):
    from desk_support import log_in

    inside = Receiver()  # stands for 169.254.169.254 or an admin port on loopback
    outside = Receiver(answer=lambda method, path, body: (302, {"Location": inside.url}))
    try:
        register(app, outside.url)
        post(app, story_id, 1)
        Deliverer(app).run_once(wait=True)
        assert [(a.method, a.status) for a in outside.arrivals] == [("POST", 302)]
        assert inside.arrivals == []
    finally:
        inside.stop()
        outside.stop()
    with app.app_context():
        attempt = db.session.scalar(select(WebhookAttempt))
        assert (attempt.delivered, attempt.status_code) == (False, 302)
    actions.create_user("admin@example.org", Role.ADMIN)
    admin = app.test_client()
    log_in(admin, "admin@example.org")
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert "failed (302): a redirect, not followed" in page


class Rebinding:
    """A DNS server that answers a public address for the check and loopback after it."""

    def __init__(self, monkeypatch, public_answers: int):
        self.public_answers = public_answers
        self.lookups = 0
        self.connected_to: list[tuple[str, int]] = []
        real_getaddrinfo = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host != "hooks.example":
                return real_getaddrinfo(host, port, *args, **kwargs)
            self.lookups += 1
            address = PUBLIC if self.lookups <= self.public_answers else "127.0.0.1"
            return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                     (address, port))]

        def create_connection(address, *args, **kwargs):
            host, port = address[:2]
            if host == "hooks.example":  # what a connection by name would reach
                host = getaddrinfo(host, port)[0][4][0]
            self.connected_to.append((host, port))
            raise ConnectionRefusedError(111, "refused by the test")

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", create_connection)


def test_the_connection_goes_to_the_address_that_was_checked(app, story_id, monkeypatch):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    # Public for the registration and for the check before the delivery, loopback afterwards.
    dns = Rebinding(monkeypatch, public_answers=2)
    register(app, "http://hooks.example:8080/hook")
    post(app, story_id, 1)
    Deliverer(app).run_once(wait=True)
    assert dns.connected_to == [(PUBLIC, 8080)]
    assert dns.lookups == 2  # one at registration, one for the delivery
    with app.app_context():
        attempt = db.session.scalar(select(WebhookAttempt))
        assert attempt.delivered is False and "refused" in attempt.error


def test_a_host_that_turns_internal_is_refused_before_connecting(app, story_id, monkeypatch):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    dns = Rebinding(monkeypatch, public_answers=1)  # loopback from the delivery's lookup on
    register(app, "http://hooks.example/hook")
    post(app, story_id, 1)
    Deliverer(app).run_once(wait=True)
    assert dns.connected_to == []
    with app.app_context():
        attempt = db.session.scalar(select(WebhookAttempt))
        assert attempt.delivered is False and "internal address" in attempt.error


@pytest.fixture
def tls_receiver(tmp_path):
    """An HTTPS server on 127.0.0.1 whose certificate names hooks.example; (port, CA context)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=hooks.example", "-addext", "subjectAltName=DNS:hooks.example",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    receiver = Receiver()
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    receiver.server.socket = server_context.wrap_socket(receiver.server.socket, server_side=True)
    client_context = ssl.create_default_context(cafile=str(cert))
    yield receiver, client_context
    receiver.stop()


def test_https_goes_to_the_checked_address_and_checks_the_certificate_by_name(tls_receiver):
    receiver, context = tls_receiver
    # hooks.example resolves nowhere: the connection can only reach the address it was given.
    connection = PinnedHTTPSConnection("hooks.example", receiver.port, "127.0.0.1",
                                       context=context)
    connection.request("POST", "/hook", body=b'{"seq": 1}',
                       headers={"Content-Type": "application/json"})
    assert connection.getresponse().status == 204
    connection.close()
    assert receiver.arrivals[0].headers["Host"] == f"hooks.example:{receiver.port}"
    wrong_name = PinnedHTTPSConnection("other.example", receiver.port, "127.0.0.1",
                                       context=context)
    with pytest.raises(ssl.SSLCertVerificationError):
        wrong_name.request("POST", "/hook", body=b"{}")
    wrong_name.close()
