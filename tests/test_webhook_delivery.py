"""Webhook delivery under concurrency: late commits, stolen leases, drafts, idle endpoints."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select, update
from webhook_support import WAIT, Receiver, post, register

from liveblog import publishing
from liveblog.extensions import db
from liveblog.models import Event, Story, WebhookAttempt, WebhookEndpoint, as_utc, utcnow
from liveblog.webhooks import Deliverer, claim, deliver_endpoint
from liveblog.webhooks.lease import LEASE


@pytest.fixture
def stories(app, actions):
    """Two live stories, storm and flood, with the app allowed to call loopback; their ids."""
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    actions.create_story("storm")
    actions.create_story("flood", title="Flood watch")
    with app.app_context():
        return dict(db.session.execute(select(Story.slug, Story.id)).all())


def seqs_by_story(receiver: Receiver) -> dict[str, list[int]]:
    """The seqs each story's webhooks arrived with (answered 2xx), in arrival order."""
    arrived: dict[str, list[int]] = {}
    for event_body in receiver.events():
        arrived.setdefault(event_body["story"], []).append(event_body["seq"])
    return arrived


# SQLite lets one writer in at a time, so ids commit in order there.
@pytest.mark.databases("postgresql")
def test_an_event_that_commits_after_a_later_one_is_still_delivered(app, stories, receiver):
    register(app, receiver.url)
    with app.app_context():
        # The storm's transaction takes its seq and event id first but commits last: an
        # import of a thousand entries takes about a second between the two.
        late = db.engine.connect()
        try:
            seq = late.execute(update(Story).where(Story.id == stories["storm"])
                               .values(last_seq=Story.last_seq + 1)
                               .returning(Story.last_seq)).scalar_one()
            late.execute(insert(Event).values(
                story_id=stories["storm"], seq=seq, type="entry.created", created_at=utcnow(),
                payload=json.dumps({"type": "entry.created", "seq": seq})))
            post(app, stories["flood"], 1)  # a higher event id, committed first
            Deliverer(app).run_once(wait=True)
            assert seqs_by_story(receiver) == {"flood": [1]}
            late.commit()
        finally:
            late.close()
    Deliverer(app).run_once(wait=True)
    assert seqs_by_story(receiver) == {"flood": [1], "storm": [1]}


def test_a_deliverer_whose_lease_was_taken_over_stops_without_writing(app, stories, receiver):
    endpoint_id = register(app, receiver.url, story_id=stories["storm"])
    post(app, stories["storm"], 3)
    first_arrived, let_first_go = receiver.hold(1)
    second_arrived, let_second_go = receiver.hold(2)
    stalled = Deliverer(app)
    stalled_run = stalled.run_once()
    assert first_arrived.wait(WAIT)
    with app.app_context():
        # The first deliverer stalls past its lease (a long GC pause, a frozen VM).
        db.session.execute(update(WebhookEndpoint).values(lease_until=utcnow() - timedelta(1)))
        db.session.commit()
    second = Deliverer(app)
    second_run = second.run_once()
    assert second_arrived.wait(WAIT)  # the new holder delivered seq 1 and is posting seq 2
    let_first_go.set()
    [future.result(WAIT) for future in stalled_run]
    with app.app_context():
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        # The stale deliverer's release left the new holder's lease alone.
        assert endpoint.lease_until is not None
    let_second_go.set()
    [future.result(WAIT) for future in second_run]
    stalled.stop()
    second.stop()
    arrived = Counter(event_body["seq"] for event_body in receiver.events())
    # Seq 1 was in flight when the lease moved (a receiver dedupes it by id); nothing after it
    # was sent twice.
    assert arrived == {1: 2, 2: 1, 3: 1}
    with app.app_context():
        attempts = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
        assert [(a.event.seq, a.delivered) for a in attempts] == [(1, True), (2, True),
                                                                  (3, True)]
        assert db.session.get(WebhookEndpoint, endpoint_id).lease_until is None


def test_a_draft_storys_events_wait_until_it_goes_live(app, stories, actions, receiver):
    own = Receiver()  # this story's own endpoint, beside one for every story
    try:
        register(app, receiver.url)
        actions.create_story("embargo", title="Embargoed", status="draft")
        with app.app_context():
            draft_id = db.session.scalar(select(Story.id).filter_by(slug="embargo"))
        register(app, own.url, story_id=draft_id)
        post(app, draft_id, 2)
        post(app, stories["storm"], 1)
        Deliverer(app).run_once(wait=True)
        assert (seqs_by_story(receiver), own.arrivals) == ({"storm": [1]}, [])
        with app.app_context():
            publishing.update_story(draft_id, {"status": "live"})
        Deliverer(app).run_once(wait=True)
        # Both get the story as its readers now see it, the entries written under embargo too.
        assert seqs_by_story(receiver) == {"storm": [1], "embargo": [1, 2, 3]}
        assert seqs_by_story(own) == {"embargo": [1, 2, 3]}
        with app.app_context():
            publishing.update_story(draft_id, {"status": "draft"})  # pulled again
        post(app, draft_id, 1)
        Deliverer(app).run_once(wait=True)
        assert seqs_by_story(own) == {"embargo": [1, 2, 3]}
        with app.app_context():
            publishing.update_story(draft_id, {"status": "ended"})
        Deliverer(app).run_once(wait=True)
        # An ended story is public: what changed while it was a draft goes out now, in order.
        assert seqs_by_story(own) == {"embargo": [1, 2, 3, 4, 5, 6]}
        assert seqs_by_story(receiver)["embargo"] == [1, 2, 3, 4, 5, 6]
    finally:
        own.stop()


def test_a_draft_that_stays_a_draft_sends_nothing(app, stories, actions, receiver):
    register(app, receiver.url)
    actions.create_story("embargo", title="Embargoed", status="draft")
    with app.app_context():
        draft_id = db.session.scalar(select(Story.id).filter_by(slug="embargo"))
        publishing.update_story(draft_id, {"title": "Still embargoed"})
    post(app, draft_id, 3)
    Deliverer(app).run_once(wait=True)
    assert receiver.arrivals == []


def test_an_idle_endpoint_costs_no_write_while_other_stories_move(app, stories, receiver):
    register(app, receiver.url, story_id=stories["storm"])
    register(app, receiver.url, types=["entry.deleted"])
    post(app, stories["storm"], 1)
    deliverer = Deliverer(app)
    deliverer.run_once(wait=True)
    assert len(receiver.wait_for(1)) == 1
    post(app, stories["flood"], 3)  # news elsewhere, and none of it deleted
    writes = []

    def count_writes(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count_writes)
    try:
        for _ in range(5):
            deliverer.run_once(wait=True)
    finally:
        event.remove(engine, "before_cursor_execute", count_writes)
    deliverer.stop()
    assert writes == []
    assert len(receiver.requests) == 1


def test_the_lease_is_renewed_before_every_attempt(app, stories, receiver):
    endpoint_id = register(app, receiver.url, story_id=stories["storm"])
    post(app, stories["storm"], 2)
    second_arrived, let_second_go = receiver.hold(2)
    with app.app_context():
        lease = claim(endpoint_id)
        # Nearly run out, as after a long first attempt.
        db.session.execute(update(WebhookEndpoint).values(lease_until=utcnow() + timedelta(0, 1)))
        db.session.commit()

    def deliver() -> None:
        with app.app_context():
            deliver_endpoint(lease)

    delivering = threading.Thread(target=deliver)
    delivering.start()
    try:
        assert second_arrived.wait(WAIT)
        with app.app_context():
            endpoint = db.session.get(WebhookEndpoint, endpoint_id)
            assert endpoint.lease_owner == lease.owner
            assert as_utc(endpoint.lease_until) - utcnow() > LEASE / 2
    finally:
        let_second_go.set()
        delivering.join(WAIT)
    assert [event_body["seq"] for event_body in receiver.events()] == [1, 2]


def test_a_deliverer_that_paused_past_its_lease_posts_nothing(app, stories, receiver):
    endpoint_id = register(app, receiver.url, story_id=stories["storm"])
    post(app, stories["storm"], 2)
    with app.app_context():
        paused = claim(endpoint_id)
        # It froze for longer than the lease; another process took the endpoint over.
        db.session.execute(update(WebhookEndpoint).values(lease_until=utcnow() - timedelta(1)))
        db.session.commit()
        paused.renewed -= LEASE.total_seconds()
        successor = claim(endpoint_id)
        assert successor is not None
        assert deliver_endpoint(paused) == 0
        assert receiver.arrivals == []
        assert db.session.scalars(select(WebhookAttempt)).all() == []
        endpoint = db.session.get(WebhookEndpoint, endpoint_id)
        assert endpoint.lease_owner == successor.owner
        assert deliver_endpoint(successor) == 2
    assert [event_body["seq"] for event_body in receiver.events()] == [1, 2]
