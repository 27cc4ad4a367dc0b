"""Webhooks against a real local receiver: signatures, order, outages, restarts, safety."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from webhook_support import WAIT, Receiver, post, register, verify

from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import Story, WebhookAttempt, WebhookEndpoint
from liveblog.webhooks import HEADER, Deliverer, backoff, register_endpoint


@pytest.fixture
def hooks(app, actions):
    """A story, its editor, and the app allowed to call a receiver on loopback."""
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    actions.create_story()
    with app.app_context():
        story_id = db.session.scalar(select(Story.id))
    return story_id


def test_events_arrive_signed_in_order_with_their_seq(app, hooks, receiver):
    register(app, receiver.url)
    post(app, hooks, 5)
    Deliverer(app).run_once(wait=True)
    events = receiver.wait_for(5)
    assert [e["seq"] for e in events] == [1, 2, 3, 4, 5]
    assert all(e["type"] == "entry.created" and e["story"] == "storm" for e in events)
    assert events[0]["data"]["entry"]["body_html"] == "<p>Entry 0</p>"
    for headers, body in receiver.requests:
        assert verify("s3cret-s3cret-s3cret", body, headers[HEADER])
        assert not verify("wrong secret", body, headers[HEADER])
        assert not verify("s3cret-s3cret-s3cret", body + b" ", headers[HEADER])


def test_only_chosen_stories_and_types_are_sent(app, hooks, receiver, actions, client):
    register(app, receiver.url, story_id=hooks, types=["entry.deleted"])
    actions.create_story(slug="other")
    entry = actions.post_entry(slug="storm")
    actions.post_entry(slug="other")
    client.delete(f"/api/stories/storm/entries/{entry['id']}", headers=actions.headers())
    Deliverer(app).run_once(wait=True)
    assert [(e["story"], e["type"]) for e in receiver.wait_for(1)] == [("storm", "entry.deleted")]


def test_a_receiver_that_was_down_gets_everything_in_order_after_a_restart(app, hooks):
    down = Receiver()
    port = down.port
    register(app, down.url)
    down.stop()  # the receiver is down while the newsroom keeps publishing
    post(app, hooks, 3)
    Deliverer(app).run_once(wait=True)
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        assert endpoint.failures == 1 and endpoint.next_attempt_at is not None
        attempts = db.session.scalars(select(WebhookAttempt)).all()
        assert [a.delivered for a in attempts] == [False]
        # The backoff has passed; a restarted server (a new Deliverer) picks up from the log.
        db.session.execute(update(WebhookEndpoint).values(next_attempt_at=None))
        db.session.commit()
    post(app, hooks, 2, start=3)
    back = Receiver(port)
    try:
        Deliverer(app).run_once(wait=True)
        assert [e["seq"] for e in back.wait_for(5)] == [1, 2, 3, 4, 5]
    finally:
        back.stop()


def test_a_slow_endpoint_does_not_hold_up_another(app, hooks, receiver):
    slow = Receiver()
    reached, let_go = slow.hold(1)  # the slow receiver sits on its first webhook
    register(app, slow.url)  # registered first, so it is handed out first
    register(app, receiver.url)
    post(app, hooks, 2)
    deliverer = Deliverer(app)
    running = deliverer.run_once()
    try:
        assert reached.wait(WAIT)
        # Both events reach the other endpoint while the slow one still holds its first.
        assert [e["seq"] for e in receiver.wait_for(2)] == [1, 2]
        assert slow.requests == []
    finally:
        let_go.set()
        [future.result(WAIT) for future in running]
        deliverer.stop()
        slow.stop()
    assert [e["seq"] for e in slow.events()] == [1, 2]


def test_publishing_does_not_wait_for_webhooks(app, hooks, receiver, actions):
    register(app, receiver.url)
    reached, let_go = receiver.hold(1)
    deliverer = Deliverer(app, interval=0.05).start()  # as in every server process
    try:
        assert actions.post_entry()["seq"] == 1  # answered while the webhook is not
        assert reached.wait(WAIT)  # the deliverer, not the request, sends it
        with app.app_context():
            # Still held: had the request waited for the receiver, the attempt would be here.
            assert db.session.scalars(select(WebhookAttempt)).all() == []
        let_go.set()
        assert [e["seq"] for e in receiver.wait_for(1)] == [1]
    finally:
        let_go.set()
        deliverer.stop()


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff(40) == timedelta(hours=1)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.8/hook",
    "http://169.254.169.254/latest/meta-data", "http://[::1]/hook", "ftp://example.org/hook",
    "javascript:alert(1)", "http://user:pass@example.org/hook",
])
def test_internal_and_odd_addresses_are_refused_unless_allowed(app, hooks, url):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    with app.app_context(), pytest.raises(Invalid):
        register_endpoint(url, None, [])


def test_the_desk_page_lists_attempts_and_resends(app, hooks, receiver, actions):
    from desk_support import log_in, post_form

    from liveblog.models import Role

    actions.create_user("admin@example.org", Role.ADMIN)
    admin = app.test_client()
    log_in(admin, "admin@example.org")
    post_form(admin, "/admin/webhooks", {"url": receiver.url, "secret": "chosen-by-the-admin",
                                         "event_types": ["entry.created"]})
    with app.app_context():
        endpoint = db.session.scalar(select(WebhookEndpoint))
        endpoint_id = endpoint.id
        assert (endpoint.secret, endpoint.event_types) == ("chosen-by-the-admin", "entry.created")
    post(app, hooks, 2)
    Deliverer(app).run_once(wait=True)
    receiver.wait_for(2)
    headers, body = receiver.requests[0]
    assert verify("chosen-by-the-admin", body, headers[HEADER])
    page = admin.get("/admin/webhooks").get_data(as_text=True)
    assert receiver.url in page and page.count("delivered (204)") == 2
    with app.app_context():
        first = db.session.scalar(select(WebhookAttempt).order_by(WebhookAttempt.id))
    post_form(admin, f"/admin/webhooks/{endpoint_id}/resend/{first.event_id}")
    Deliverer(app).run_once(wait=True)
    assert [e["seq"] for e in receiver.wait_for(4)] == [1, 2, 1, 2]
