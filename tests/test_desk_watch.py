"""The desk's long poll: held entries and presence reach open desks at once, and only desks."""

from __future__ import annotations

import threading
import time

import pytest
from desk_support import log_in, post_form
from sqlalchemy import select

from liveblog import publishing
from liveblog.desk import watch as watch_view
from liveblog.desk.conflicts import merge_bodies
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Event, Role, Story, User

WITHIN = 1.0  # seconds: a change must reach a waiting desk within a second


@pytest.fixture
def desk(app, actions):
    """A logged-in desk client for a new user with this role."""

    def as_user(email: str, role: Role = Role.EDITOR, name: str = "Ed"):
        actions.create_user(email, role, name=name)
        client = app.test_client()
        assert log_in(client, email).status_code == 302
        return client

    return as_user


def watch(client, since: str = "", wait: int = 0, entry: int | None = None) -> dict:
    """One long poll; the state as JSON."""
    query = f"since={since}&wait={wait}" + (f"&entry={entry}" if entry else "")
    response = client.get(f"/admin/stories/storm/watch?{query}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


class Waiting:
    """A long poll running in a thread, and when it was answered."""

    def __init__(self, client, since: str, wait: int = 10, entry: int | None = None):
        self.state: dict | None = None
        self.answered_at = 0.0
        self._thread = threading.Thread(target=self._run, args=(client, since, wait, entry))
        self._thread.start()

    def _run(self, client, since, wait, entry):
        self.state = watch(client, since, wait, entry)
        self.answered_at = time.monotonic()

    def result(self) -> dict:
        """Wait (bounded) for the answer."""
        self._thread.join(timeout=15)
        assert self.state is not None, "the long poll never answered"
        return self.state


def submit(client, body: str) -> None:
    """A contributor's "Submit for approval" from the desk form."""
    answer = post_form(client, "/admin/stories/storm/entries", {"body": body, "action": "submit"},
                       json=True)
    assert answer.status_code == 201, answer.get_json()


def test_a_submission_reaches_a_waiting_editors_desk_at_once_without_its_text(app, actions, desk):
    actions.create_story()
    editor = desk("edna@example.org")
    contributor = desk("cory@example.org", Role.CONTRIBUTOR, "Cory")
    before = watch(editor)
    assert before["held"] == [] and before["status"] == "live"
    assert watch(editor, before["token"], wait=1)["token"] == before["token"]  # nothing new

    waiting = Waiting(editor, before["token"])
    submit(contributor, "<p>Turnout is 61%.</p>")
    sent_at = time.monotonic()
    state = waiting.result()
    assert waiting.answered_at - sent_at < WITHIN
    with app.app_context():
        entry_id = db.session.scalar(select(Entry.id))
    assert state["held"] == [[entry_id, 1, "pending"]]
    assert "61%" not in str(state)  # ids and versions only: the desk page shows the text


def test_a_change_from_another_process_is_read_from_the_database_within_a_second(
    app, actions, desk, monkeypatch
):
    # Written straight through the publishing service, nothing wakes this process's desks: only
    # the database can tell them, as it must for a change made by another server process.
    actions.create_story()
    contributor_id = actions.create_user("cory@example.org", Role.CONTRIBUTOR)[0]
    editor = desk("edna@example.org")
    waiting_now = threading.Event()

    def wait_for_change(seconds):
        waiting_now.set()
        real_wait(seconds)

    real_wait = watch_view.wait_for_change
    monkeypatch.setattr(watch_view, "wait_for_change", wait_for_change)
    waiting = Waiting(editor, watch(editor)["token"])
    assert waiting_now.wait(timeout=5)
    with app.app_context():
        story_id = db.session.scalar(select(Story.id))
        publishing.create_entry(story_id, db.session.get(User, contributor_id),
                                {"body": "<p>From elsewhere</p>"}, None,
                                status=EntryStatus.PENDING)
    written_at = time.monotonic()
    state = waiting.result()
    assert waiting.answered_at - written_at < WITHIN
    assert [status for _, _, status in state["held"]] == ["pending"]


def test_presence_is_pushed_to_the_first_editor_when_a_second_opens_and_saves(
    app, actions, desk
):
    actions.create_story()
    entry = actions.post_entry(body="<p>Two roads closed.</p>")
    ann, ben = desk("ann@example.org", name="Ann"), desk("ben@example.org", name="Ben")
    presence = f"/admin/stories/storm/entries/{entry['id']}/presence"
    assert post_form(ann, presence, json=True).get_json() == {"editing": []}
    state = watch(ann, entry=entry["id"])
    assert state["entry"]["editing"] == [] and state["entry"]["version"] == 1

    waiting = Waiting(ann, state["token"], entry=entry["id"])
    assert post_form(ben, presence, json=True).get_json() == {"editing": ["Ann"]}
    joined_at = time.monotonic()
    state = waiting.result()
    assert waiting.answered_at - joined_at < WITHIN
    assert state["entry"]["editing"] == ["Ben"]

    waiting = Waiting(ann, state["token"], entry=entry["id"])
    saved = post_form(ben, f"/admin/stories/storm/entries/{entry['id']}/edit",
                      {"body": "<p>Two roads closed. A30 shut.</p>", "version": "1"}, json=True)
    assert saved.status_code == 200
    saved_at = time.monotonic()
    state = waiting.result()
    assert waiting.answered_at - saved_at < WITHIN
    assert state["entry"] == {"version": 2, "saved_by": "Ben", "saved_by_me": False,
                              "editing": ["Ben"]}
    assert watch(ben, entry=entry["id"])["entry"]["saved_by_me"] is True

    post_form(ben, presence, {"leave": "1"}, json=True)
    assert watch(ann, state["token"], entry=entry["id"])["entry"]["editing"] == []


def test_only_desk_users_can_watch_and_readers_never_get_a_submission(
    app, client, actions, desk
):
    actions.create_story()
    submit(desk("cory@example.org", Role.CONTRIBUTOR, "Cory"), "<p>Not yet public</p>")
    anonymous = client.get("/admin/stories/storm/watch?wait=0")
    assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]
    # The current rule: every desk user of the story sees its approval queue.
    other = desk("other@example.org", Role.CONTRIBUTOR, "Other")
    assert [s for _, _, s in watch(other)["held"]] == ["pending"]
    assert "Not yet public" in other.get("/admin/stories/storm").get_data(as_text=True)
    # Readers: not in the page, the API, the feed or the public event log the live socket sends.
    for path in ("/stories/storm", "/api/stories/storm/entries", "/stories/storm/feed.atom"):
        assert "Not yet public" not in client.get(path).get_data(as_text=True), path
    with app.app_context():
        assert all("Not yet public" not in payload
                   for payload in db.session.scalars(select(Event.payload)))


@pytest.mark.parametrize("query", ["wait=abc", "wait=99", "wait=-1", "entry=x", "entry="])
def test_a_malformed_watch_is_a_clear_400(actions, desk, query):
    actions.create_story()
    answer = desk("edna@example.org").get(f"/admin/stories/storm/watch?{query}",
                                          headers={"Accept": "application/json"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["message"]


def test_an_unknown_entry_or_story_is_reported_not_crashed(actions, desk):
    actions.create_story()
    editor = desk("edna@example.org")
    assert watch(editor, entry=999)["entry"] is None
    assert editor.get("/admin/stories/nope/watch?wait=0").status_code == 404


@pytest.mark.parametrize(("theirs", "mine", "merged"), [
    ("<p>A</p><p>B</p>", "<p>A</p><p>B</p>", "<p>A</p>\n<p>B</p>"),
    ("<p>A</p><p>B2</p>", "<p>A</p><p>B3</p>", "<p>A</p>\n<p>B2</p>\n<p>B3</p>"),
    ("<p>A</p>", "<p>A</p><p>C</p>", "<p>A</p>\n<p>C</p>"),
    ("<p>Z</p><p>A</p>", "<p>A</p>", "<p>Z</p>\n<p>A</p>"),
    ("Plain one.\n\nPlain two.", "<p>Plain one.</p><ul><li>x</li></ul>",
     "<p>Plain one.</p>\n<p>Plain two.</p>\n<ul><li>x</li></ul>"),
])
def test_a_merge_keeps_every_block_of_both_and_shared_ones_once(theirs, mine, merged):
    assert merge_bodies(theirs, mine) == merged
