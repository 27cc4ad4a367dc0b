"""Polls: editors add and close them (API and desk), readers vote once, everyone sees results."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
from desk_support import log_in, post_form
from sqlalchemy import func, select

from liveblog.extensions import db
from liveblog.live.hub import Frame
from liveblog.models import Event, Poll, PollVote
from liveblog.publishing import polls
from liveblog.publishing.poll_announcer import PollAnnouncer
from liveblog.publishing.scheduler import Scheduler

VOTER = "reader-token-0123456789abcdef"
POLL = {"question": "Who wins?", "options": ["Reds", "Blues", "A draw"]}


@pytest.fixture(autouse=True)
def many_votes(app):
    """Tests vote far faster than readers; test_a_flood_of_votes_gets_429 sets a real limit."""
    app.config["VOTE_LIMIT"] = "100000 per minute"


@pytest.fixture(autouse=True)
def marked(monkeypatch) -> list[int]:
    """The polls votes mark for announcement; announced here by hand, not by the loop."""
    polls_marked: list[int] = []
    monkeypatch.setattr(PollAnnouncer, "mark", lambda self, poll_id: polls_marked.append(poll_id))
    return polls_marked


def post_poll(actions, **poll) -> dict:
    """Publish an entry with a poll; return the entry's JSON."""
    actions.create_story()
    return actions.post_entry(poll={**POLL, **poll})


def vote(client, poll_id: int, option: int, voter: str = VOTER):
    """A reader's vote, as the page sends it (no cookie, no token)."""
    return client.post(f"/api/polls/{poll_id}/votes", json={"option": option, "voter": voter})


def poll_events(client) -> list[dict]:
    """The poll.updated events in the story's log."""
    events = client.get("/api/stories/storm/events").get_json()["events"]
    return [event for event in events if event["type"] == "poll.updated"]


def test_an_entry_carries_its_poll_and_each_browser_votes_once(app, client, actions):
    entry = post_poll(actions)
    poll = entry["poll"]
    assert poll == {"id": poll["id"], "question": "Who wins?",
                    "options": ["Reds", "Blues", "A draw"], "tallies": [0, 0, 0],
                    "closed": False, "closes_at": None}
    first = vote(client, poll["id"], 1)
    assert first.status_code == 201
    assert first.get_json()["poll"]["tallies"] == [0, 1, 0]
    assert first.headers["Cache-Control"] == "no-store"
    again = vote(client, poll["id"], 0)
    assert again.status_code == 409
    assert "already voted" in again.get_json()["error"]["message"]
    assert vote(client, poll["id"], 1, voter="another-reader-token-42").get_json()["poll"][
        "tallies"] == [0, 2, 0]
    read = client.get(f"/api/stories/storm/entries/{entry['id']}").get_json()
    assert read["poll"]["tallies"] == [0, 2, 0]
    assert "67%" not in read["html"] and "100%" in read["html"]
    with app.app_context():
        hashes = db.session.scalars(select(PollVote.voter_hash)).all()
    # Only a hash of the token (and of the poll with it) is kept.
    assert len(hashes) == 2 and VOTER not in hashes
    assert PollVote.hash(poll["id"], VOTER) in hashes


BAD_VOTES = [
    ({"option": 3, "voter": VOTER}, 422, "option"),  # the poll has three answers
    ({"option": -1, "voter": VOTER}, 422, "option"),
    ({"option": "1", "voter": VOTER}, 422, "option"),
    ({"option": True, "voter": VOTER}, 422, "option"),
    ({"option": 1.5, "voter": VOTER}, 422, "option"),
    ({"voter": VOTER}, 422, "option"),
    ({"option": 1, "voter": "short"}, 422, "voter"),
    ({"option": 1, "voter": "x" * 65}, 422, "voter"),
    ({"option": 1, "voter": "ünïcode-token-0123456789"}, 422, "voter"),
    ({"option": 1, "voter": VOTER + "\n"}, 422, "voter"),
    ({"option": 1, "voter": 12345678901234567890}, 422, "voter"),
    ({"option": 1, "voter": VOTER, "ip": "1.2.3.4"}, 422, "ip"),
]


def test_a_malformed_vote_gets_a_json_4xx_naming_the_field(client, actions):
    poll_id = post_poll(actions)["poll"]["id"]
    for body, status, field in BAD_VOTES:
        response = client.post(f"/api/polls/{poll_id}/votes", json=body)
        assert response.status_code == status, body
        assert field in response.get_json()["error"]["fields"], body
    for data, status in [(b"{not json", 400), (b"[1, 2]", 400), (b"\xff\xfe", 400),
                         (json.dumps({"option": 1, "voter": "v" * 2000}).encode(), 413)]:
        response = client.post(f"/api/polls/{poll_id}/votes", data=data,
                               content_type="application/json")
        assert response.status_code == status, data
        assert response.get_json()["error"]["status"] == status
    assert client.get("/api/stories/storm/entries").get_json()["entries"][0]["poll"][
        "tallies"] == [0, 0, 0]
    # JSON Schema's integer: 2.0 is the whole number 2, so it is a vote.
    whole = client.post(f"/api/polls/{poll_id}/votes", json={"option": 2.0, "voter": VOTER})
    assert whole.status_code == 201 and whole.get_json()["poll"]["tallies"] == [0, 0, 1]


def test_only_a_poll_readers_can_see_takes_votes(client, actions):
    actions.create_story()
    assert vote(client, 999, 0).status_code == 404
    assert vote(client, 2**40, 0).status_code == 404
    draft = client.post("/api/stories/storm/entries", headers=actions.headers(), json={
        "body": "<p>Later</p>", "poll": POLL,
        "scheduled_for": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    assert draft.status_code == 201
    assert vote(client, draft.get_json()["poll"]["id"], 0).status_code == 404


def test_a_closed_poll_refuses_votes_and_shows_its_final_results(client, actions):
    entry = post_poll(actions)
    poll_id = entry["poll"]["id"]
    vote(client, poll_id, 2)
    closed = client.patch(f"/api/stories/storm/entries/{entry['id']}",
                          json={"poll": {"closed": True}}, headers=actions.headers())
    assert closed.status_code == 200
    answer = closed.get_json()
    assert answer["poll"]["closed"] is True and answer["poll"]["tallies"] == [0, 0, 1]
    assert "Final results" in answer["html"]
    late = vote(client, poll_id, 0, voter="a-late-reader-token-0001")
    assert late.status_code == 409
    assert "closed" in late.get_json()["error"]["message"]
    page = client.get("/stories/storm").get_data(as_text=True)
    assert "Poll closed. Final results" in page and 'value="100"' in page
    # Readers who had the page open get the closed poll in the entry's own event.
    events = client.get("/api/stories/storm/events").get_json()["events"]
    assert events[-1]["type"] == "entry.updated" and events[-1]["entry"]["poll"]["closed"]


POLLS_REFUSED = [
    ({"options": ["Only one"]}, "poll.options"),
    ({"options": [str(n) for n in range(7)]}, "poll.options"),
    ({"options": ["Fine", "   "]}, "poll.options"),
    ({"options": ["Fine", "x" * 101]}, "poll.options"),
    ({"options": ["Fine", "<b></b>"]}, "poll.options"),
    ({"options": "Reds, Blues"}, "poll.options"),
    ({"question": ""}, "poll.question"),
    ({"question": "q" * 301}, "poll.question"),
    ({"closes_at": "2020-01-01T00:00:00Z"}, "poll.closes_at"),
    ({"closes_at": "2099-01-01T00:00:00"}, "poll.closes_at"),
    ({"closed": True}, "poll.closed"),
    ({"votes": [5, 0, 0]}, "poll.votes"),
]


def test_a_poll_outside_the_rules_is_refused_field_by_field(client, actions):
    actions.create_story()
    for poll, field in POLLS_REFUSED:
        response = client.post("/api/stories/storm/entries", headers=actions.headers(),
                               json={"body": "<p>Vote</p>", "poll": {**POLL, **poll}})
        assert response.status_code == 422, poll
        fields = response.get_json()["error"]["fields"]
        assert any(name.startswith(field) for name in fields), fields


def test_hostile_text_in_a_poll_is_kept_as_inert_plain_text(client, actions):
    hostile = '<script>alert(1)</script>Reds \u202eevil\u0007'
    entry = post_poll(actions, question="<img src=x onerror=alert(1)>Who?",
                      options=[hostile, "Blues"])
    assert entry["poll"]["question"] == "Who?"
    assert "<" not in entry["poll"]["options"][0] and "\u0007" not in entry["poll"]["options"][0]
    assert "<script" not in entry["html"] and "onerror" not in entry["html"]
    feed = client.get("/stories/storm/feed.atom").get_data(as_text=True)
    assert "<script" not in feed and "Who?" in feed


def test_the_answers_cannot_change_once_readers_have_voted(client, actions):
    entry = post_poll(actions)
    url = f"/api/stories/storm/entries/{entry['id']}"
    renamed = client.patch(url, json={"poll": {"options": ["Red", "Blue"]}},
                           headers=actions.headers())
    assert renamed.status_code == 200 and renamed.get_json()["poll"]["options"] == ["Red", "Blue"]
    vote(client, entry["poll"]["id"], 0)
    again = client.patch(url, json={"poll": {"options": ["Rouge", "Bleu"]}},
                         headers=actions.headers())
    assert again.status_code == 409
    reworded = client.patch(url, json={"poll": {"question": "Who will win?"}},
                            headers=actions.headers())
    assert reworded.get_json()["poll"] == {**renamed.get_json()["poll"],
                                           "question": "Who will win?", "tallies": [1, 0]}


def test_an_edit_adds_a_poll_to_an_entry_without_one(client, actions):
    actions.create_story()
    entry = actions.post_entry()
    url = f"/api/stories/storm/entries/{entry['id']}"
    assert entry["poll"] is None
    closing = client.patch(url, json={"poll": {"closed": True}}, headers=actions.headers())
    assert closing.status_code == 409  # nothing to close
    added = client.patch(url, json={"poll": POLL}, headers=actions.headers())
    assert added.status_code == 200 and added.get_json()["poll"]["tallies"] == [0, 0, 0]


def test_votes_reach_readers_through_the_log_at_most_once_a_second(app, client, actions,
                                                                    monkeypatch, marked):
    poll_id = post_poll(actions)["poll"]["id"]
    vote(client, poll_id, 0)
    assert marked == [poll_id]
    # An hour, then none: the rule without the test's own speed in it.
    monkeypatch.setattr(polls, "ANNOUNCE_EVERY", timedelta(hours=1))
    with app.app_context():
        assert polls.announce_poll(poll_id) == 0
    [first] = poll_events(client)
    assert first["poll"]["tallies"] == [1, 0, 0] and first["poll"]["entry"] > 0
    vote(client, poll_id, 1, voter="a-second-reader-token")
    with app.app_context():
        assert polls.announce_poll(poll_id) > 0  # too soon: nothing written
    assert len(poll_events(client)) == 1
    monkeypatch.setattr(polls, "ANNOUNCE_EVERY", timedelta(0))
    with app.app_context():
        assert polls.announce_poll(poll_id) == 0
        assert polls.announce_poll(poll_id) == 0  # nothing new: no second frame
    later = poll_events(client)
    assert [event["poll"]["tallies"] for event in later] == [[1, 0, 0], [1, 1, 0]]
    assert later[1]["seq"] == later[0]["seq"] + 1


def test_an_announcement_reaches_readers_without_waiting_for_the_hubs_thread(app, client,
                                                                           actions):
    # The spacing of poll.updated frames is kept where they are written; the one-a-second rule
    # reaches readers only if the frame leaves then. Here the hub's delivery thread is held up
    # (as a saturated gevent worker holds it behind blocking SQLite calls for a whole turn of
    # its loop): the announcer must deliver its frame itself, not queue it behind that thread.
    poll_id = post_poll(actions)["poll"]["id"]
    vote(client, poll_id, 0)
    hub = app.extensions["liveblog.hub"]
    with app.app_context():
        story_id = db.session.scalar(select(Event.story_id).limit(1))
    received = threading.Event()
    reader = hub.subscribe(story_id, wakeup=received)
    held, release = threading.Event(), threading.Event()

    def stuck_write(frame) -> bool:
        held.set()
        return release.wait(10)

    hub.subscribe(story_id + 1000, write_now=stuck_write)
    hub.publish(Frame(story_id + 1000, 1, "{}"))
    assert held.wait(5)
    try:
        with app.app_context():
            assert polls.announce_poll(poll_id) == 0
        assert received.wait(2), "the poll.updated frame waited for the hub's thread"
    finally:
        release.set()
    hub.stop()  # ends after the queue: the frame's copy there is not delivered again
    frames = [json.loads(frame.text) for frame in reader.drain()]
    assert [(f["type"], f["poll"]["tallies"]) for f in frames] == [("poll.updated", [1, 0, 0])]


def test_tallies_a_stopped_process_never_announced_reach_readers(app, client, actions, marked):
    # The vote's process marks the poll and stops before its announcer runs (here: the stubbed
    # mark): the database still holds tallies readers were never told, and any process's
    # scheduler tells them, once.
    poll_id = post_poll(actions)["poll"]["id"]
    vote(client, poll_id, 2)
    assert marked == [poll_id] and poll_events(client) == []
    Scheduler(app).run_once()
    [told] = poll_events(client)
    assert told["poll"]["tallies"] == [0, 0, 1]
    Scheduler(app).run_once()
    assert len(poll_events(client)) == 1  # nothing new: nothing written


def test_a_poll_closes_at_its_time_and_readers_are_told(app, client, actions):
    entry = post_poll(actions, closes_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat())
    assert entry["poll"]["closes_at"] is not None and "voting closes" in entry["html"]
    with app.app_context():
        poll = db.session.get(Poll, entry["poll"]["id"])
        poll.closes_at = datetime.now(UTC) - timedelta(seconds=1)
        db.session.commit()
    Scheduler(app).run_once()
    [closed] = poll_events(client)
    assert closed["poll"]["closed"] is True
    Scheduler(app).run_once()
    assert len(poll_events(client)) == 1  # closed once
    assert vote(client, entry["poll"]["id"], 0).status_code == 409


def test_results_show_in_the_page_the_embed_and_the_feeds(client, actions):
    entry = post_poll(actions)
    for n in range(3):
        vote(client, entry["poll"]["id"], n % 2, voter=f"reader-token-number-{n:04d}")
    for path in ("/stories/storm", "/stories/storm/embed"):
        page = client.get(path).get_data(as_text=True)
        assert '<meter class="poll-bar" min="0" max="100" value="67"' in page, path
        assert "67%" in page and "(2 votes)" in page and "3</span> votes so far" in page
    atom = client.get("/stories/storm/feed.atom").get_data(as_text=True)
    assert "Who wins?" in atom and "67%" in atom
    feed = client.get("/stories/storm/feed.json").get_json()
    assert "67%" in feed["items"][0]["content_html"]


def test_a_flood_of_votes_from_one_address_gets_429(app, client, actions):
    poll_id = post_poll(actions)["poll"]["id"]
    app.config["VOTE_LIMIT"] = "2 per minute"
    statuses = [vote(client, poll_id, 0, voter=f"flooding-token-{n:06d}").status_code
                for n in range(3)]
    assert statuses == [201, 201, 429]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PollVote)) == 2


def test_poll_updated_events_are_in_the_log_with_the_entry(app, client, actions):
    poll_id = post_poll(actions)["poll"]["id"]
    vote(client, poll_id, 2)
    with app.app_context():
        polls.announce_poll(poll_id)
        row = db.session.scalar(select(Event).where(Event.type == "poll.updated"))
        assert row.entry_id is not None and json.loads(row.payload)["poll"]["id"] == poll_id


def test_the_desk_adds_a_poll_and_closes_it(app, client, actions):
    actions.create_story(timezone="Europe/London")
    editor = app.test_client()
    assert log_in(editor, "editor@example.org").status_code == 302
    page = editor.get("/admin/stories/storm").get_data(as_text=True)
    assert 'name="poll_question"' in page and 'name="poll_options"' in page
    created = post_form(editor, "/admin/stories/storm/entries", {
        "body": "<p>Have your say</p>", "action": "publish", "idempotency_key": "poll-1",
        "poll_question": "Who wins?", "poll_options": "Reds\r\n\r\nBlues\r\nA draw\r\n",
        "poll_closes_at": "2099-06-01T18:30"}, json=True)
    assert created.status_code == 201, created.get_json()
    poll = created.get_json()["entry"]["poll"]
    assert poll["options"] == ["Reds", "Blues", "A draw"]
    assert poll["closes_at"] == "2099-06-01T17:30:00.000000Z"  # typed in London summer time
    entry_id = created.get_json()["entry"]["id"]
    refused = post_form(editor, "/admin/stories/storm/entries", {
        "body": "<p>One answer</p>", "action": "publish", "idempotency_key": "poll-2",
        "poll_question": "Yes?", "poll_options": "Yes"})
    assert refused.status_code == 422
    assert "must be a list of 2 to 6 answers" in refused.get_data(as_text=True)
    edit_page = editor.get(f"/admin/stories/storm/entries/{entry_id}/edit").get_data(as_text=True)
    assert "Close poll" in edit_page and 'name="poll_question"' not in edit_page
    closed = post_form(editor, f"/admin/stories/storm/entries/{entry_id}/close-poll")
    assert closed.status_code == 302
    assert client.get(f"/api/stories/storm/entries/{entry_id}").get_json()["poll"]["closed"]
    assert "Close poll" not in editor.get(
        f"/admin/stories/storm/entries/{entry_id}/edit").get_data(as_text=True)


def test_an_archived_story_shows_its_polls_results_and_takes_no_more_votes(client, actions):
    poll_id = post_poll(actions)["poll"]["id"]
    vote(client, poll_id, 1)
    archived = client.patch("/api/stories/storm", json={"status": "ended", "archived": True},
                            headers=actions.headers())
    assert archived.status_code == 200
    late = vote(client, poll_id, 0, voter="after-the-archive-0001")
    assert late.status_code == 409
    page = client.get("/stories/storm").get_data(as_text=True)
    assert 'value="100"' in page and "(1 vote)" in page


# CLDR's percent format in each language, with Western digits as the rest of the page: Arabic's
# sign sits between left-to-right marks (so it stays on its number's side in right-to-left text),
# Spanish and French put a no-break space before it. Browsers' Intl writes the same.
PERCENT = {"en": "100%", "ar": "100\u200e%\u200e", "es": "100\xa0%", "fr": "100\xa0%"}


@pytest.mark.parametrize("language", ["en", "ar", "es", "fr"])
def test_poll_shares_are_written_in_the_storys_percent_format(client, actions, language):
    actions.create_story(language=language)
    poll = actions.post_entry(poll=POLL)["poll"]
    assert vote(client, poll["id"], 1).status_code == 201
    page = client.get("/stories/storm").get_data(as_text=True)
    shares = re.findall(r'<span class="poll-share">([^<]*)</span>', page)
    meters = re.findall(r'<meter class="poll-bar"[^>]*>([^<]*)</meter>', page)
    zero = PERCENT[language].replace("100", "0")
    assert shares == meters == [zero, PERCENT[language], zero]


# Counts as each language's page script writes them (strings.js formatNumber: Chromium's
# Intl.NumberFormat with Western digits, English pages too: "1,234 votes"). CLDR's
# minimum grouping keeps Spanish's 1234 whole but groups 12.345; French groups with a narrow
# no-break space. The server writes the same, or a page's numbers change on its first update.
COUNTS = {
    "en": ("(1,234 votes)", "(12,345 votes)", "13,579"),
    "ar": ("(1,234 \u0635\u0648\u062a\u064b\u0627)", "(12,345 \u0635\u0648\u062a\u064b\u0627)",
           "13,579"),
    "es": ("(1234 votos)", "(12.345 votos)", "13.579"),
    "fr": ("(1\u202f234 votes)", "(12\u202f345 votes)", "13\u202f579"),
}


def set_tallies(app, poll_id: int, tallies: list[int]) -> None:
    """Give a poll's options these counts at once (thousands of votes, without casting them)."""
    with app.app_context():
        for option, count in zip(db.session.get(Poll, poll_id).options, tallies, strict=True):
            option.votes = count
        db.session.commit()


@pytest.mark.parametrize("language", ["en", "ar", "es", "fr"])
def test_poll_counts_are_written_in_the_storys_number_format(app, client, actions, language):
    actions.create_story(language=language)
    poll = actions.post_entry(poll=POLL)["poll"]
    set_tallies(app, poll["id"], [1234, 12345, 0])
    page = client.get("/stories/storm").get_data(as_text=True)
    counts = re.findall(r'<span class="poll-count">([^<]*)</span>', page)
    totals = re.findall(r'<span class="poll-total">([^<]*)</span>', page)
    reds, blues, total = COUNTS[language]
    assert counts[:2] == [reds, blues]
    assert totals == [total]
