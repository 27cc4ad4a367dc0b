"""A story's schedule: a draft opens at opens_at (its page says when until then), a live story
ends at closes_at, and one quiet for archive_after_hours is ended and archived; each by the
scheduler, through the story lock, told to readers as story.updated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from test_live import WAIT, assert_silent, receive_frames, ws_url
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from liveblog import publishing
from liveblog.extensions import db
from liveblog.models import Event, Story, User, as_utc, utcnow
from liveblog.publishing.scheduler import Scheduler
from liveblog.publishing.story_schedule import run_story_schedules

OPENS = datetime(2030, 1, 2, 9, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def story_row(app, slug: str = "storm") -> Story:
    with app.app_context():
        story = db.session.scalar(db.select(Story).filter_by(slug=slug))
        db.session.expunge(story)
        return story


def run(app, now: datetime) -> int:
    with app.app_context():
        try:
            return run_story_schedules(now)
        finally:
            db.session.remove()


def events(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(Event.type).order_by(Event.seq)))


def test_a_scheduled_story_says_when_it_starts_then_opens(app, client, actions):
    story = actions.create_story(status="draft", opens_at="2030-01-02T10:00:00+01:00",
                                 timezone="Europe/Paris")
    assert story["opens_at"] == "2030-01-02T09:00:00.000000Z" and story["status"] == "draft"
    page = client.get("/stories/storm")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "This live blog starts at" in text and "10:00 CET, 02 Jan 2030" in text
    assert 'id="entries"' not in text and "live.js" not in text
    # Cacheable until it opens, within the bound a takedown keeps.
    assert page.headers["Cache-Control"] == "public, max-age=240"
    assert client.get("/stories/storm/feed.atom").status_code == 404
    assert client.get("/api/stories/storm").status_code == 404  # no token: still a draft

    assert run(app, OPENS - timedelta(seconds=1)) == 0
    assert story_row(app).status == "draft"
    assert run(app, OPENS) == 1
    opened = story_row(app)
    assert (opened.status, opened.opens_at) == ("live", None)
    assert events(app) == ["story.updated"]
    assert run(app, OPENS + timedelta(seconds=5)) == 0  # once, however many passes
    page = client.get("/stories/storm").get_data(as_text=True)
    assert 'id="entries"' in page and "starts at" not in page


def test_the_wait_is_cached_only_until_the_opening(app, client, actions):
    soon = utcnow() + timedelta(seconds=90)
    actions.create_story(status="draft", opens_at=stamp(soon))
    max_age = int(client.get("/stories/storm").headers["Cache-Control"].split("=")[1])
    assert 80 <= max_age <= 90


def test_a_draft_without_an_opening_time_stays_hidden(client, actions):
    actions.create_story(status="draft")
    assert client.get("/stories/storm").status_code == 404


def test_a_story_ends_at_its_closing_time_and_open_readers_are_told(app, live_server, actions,
                                                                     client):
    closes = utcnow() + timedelta(hours=1)
    actions.create_story(closes_at=stamp(closes))
    actions.post_entry()
    with app.app_context():
        story_id = db.session.scalar(db.select(Story.id).filter_by(slug="storm"))
        db.session.execute(db.update(Story).where(Story.id == story_id)
                           .values(closes_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    with connect(ws_url(live_server, after=1)) as ws:
        Scheduler(app).run_once()
        (frame,) = receive_frames(ws, 1)
        assert_silent(ws)
    assert frame["type"] == "story.updated" and frame["seq"] == 2
    assert frame["story"]["status"] == "ended" and frame["story"]["closes_at"] is None
    ended = story_row(app)
    assert ended.status == "ended" and ended.ended_at is not None
    Scheduler(app).run_once()
    assert events(app) == ["entry.created", "story.updated"]


def test_a_reopened_story_is_not_ended_again(app, client, actions):
    actions.create_story(closes_at=stamp(OPENS))
    assert run(app, OPENS) == 1
    response = client.patch("/api/stories/storm", json={"status": "live"},
                            headers=actions.headers())
    assert response.status_code == 200
    assert run(app, OPENS + timedelta(hours=1)) == 0
    assert story_row(app).status == "live"


def test_a_quiet_story_is_ended_and_archived(app, client, actions):
    actions.create_story(archive_after_hours=6)
    with app.app_context():
        story_id = db.session.scalar(db.select(Story.id).filter_by(slug="storm"))
        author = db.session.scalar(db.select(User))
        last = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
        publishing.create_entry(story_id, author, {"body": "<p>Old</p>"}, published_at=last)
    assert run(app, last + timedelta(hours=5, minutes=59)) == 0
    assert run(app, last + timedelta(hours=6)) == 1
    story = story_row(app)
    assert (story.status, story.archived, story.archive_after_hours) == ("ended", True, None)
    assert events(app) == ["entry.created", "story.updated"]
    assert "This story has ended." in client.get("/stories/storm").get_data(as_text=True)


def test_a_story_with_a_recent_entry_is_not_archived(app, actions):
    actions.create_story(archive_after_hours=1)
    actions.post_entry()
    assert run(app, utcnow() + timedelta(minutes=59)) == 0
    assert run(app, utcnow() + timedelta(hours=1, seconds=1)) == 1


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"opens_at": "2030-01-02T10:00:00"}, "opens_at", "must carry a UTC offset"),
    ({"closes_at": "soon"}, "closes_at", "must be a time from the year 2000 to 8999"),
    ({"closes_at": "0398-06-26T20:52:17-04:39"}, "closes_at", "from the year 2000 to 8999"),
    ({"opens_at": "2030-13-02T10:00:00Z"}, "opens_at", "is not an ISO 8601 date and time"),
    ({"archive_after_hours": 0}, "archive_after_hours", "must be a whole number from 1 to 8760"),
    ({"archive_after_hours": True}, "archive_after_hours",
     "must be a whole number from 1 to 8760"),
    ({"opens_at": "2030-01-02T10:00:00Z", "closes_at": "2030-01-02T09:00:00Z"}, "closes_at",
     "must be after opens_at"),
])
def test_bad_schedules_are_422(client, actions, body, field, message):
    actions.create_story()
    response = client.patch("/api/stories/storm", json=body, headers=actions.headers())
    assert response.status_code == 422
    assert message in response.get_json()["error"]["fields"][field]


def test_null_clears_a_schedule(app, client, actions):
    actions.create_story(closes_at=stamp(OPENS), archive_after_hours=3)
    response = client.patch("/api/stories/storm", json={"closes_at": None,
                                                         "archive_after_hours": None},
                            headers=actions.headers())
    assert response.status_code == 200
    assert (response.get_json()["closes_at"], response.get_json()["archive_after_hours"]) == (
        None, None)
    assert as_utc(story_row(app).closes_at) is None


def test_the_starts_at_page_hears_the_opening_on_the_live_socket_and_nothing_from_before(
    app, client, live_server, actions
):
    # Live once, with an entry and a reader (the hub then keeps its recent frames), then taken
    # back to draft and scheduled to open again.
    actions.create_story()
    actions.post_entry(body="<p>Withdrawn before the opening</p>")
    with connect(ws_url(live_server, after=0)) as ws:
        receive_frames(ws, 1)
        response = client.patch("/api/stories/storm", headers=actions.headers(),
                                json={"status": "draft", "opens_at": stamp(OPENS)})
        assert response.status_code == 200
        with pytest.raises(ConnectionClosed):  # the readers of the live story are sent away
            receive_frames(ws, 2)
    seq = story_row(app).last_seq
    # A reader of the "starts at" page may listen for the opening, and only for that: whatever
    # `after` it sends, nothing the story showed before it was withdrawn is replayed.
    with connect(ws_url(live_server, after=0)) as ws:
        assert_silent(ws)
        assert run(app, OPENS) == 1
        (frame,) = receive_frames(ws, 1)
        assert_silent(ws)
    assert frame["type"] == "story.updated" and frame["seq"] == seq + 1
    assert frame["story"]["status"] == "live"


def test_a_draft_with_no_opening_time_still_refuses_readers(live_server, actions):
    actions.create_story(status="draft")
    with connect(ws_url(live_server)) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=WAIT)
    assert closed.value.rcvd.code == 4404
