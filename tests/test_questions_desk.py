"""The desk's question queue: editors only, live, and the only way a question reaches readers."""

from __future__ import annotations

import json
import re
import threading

import pytest
from desk_support import csrf_token, log_in, post_form
from sqlalchemy import select
from test_questions import BIDI, CONTROLS, HOSTILE, SECRET, ask, open_story, stored
from webhook_support import Receiver, register
from websockets.sync.client import connect

from liveblog.errors import Conflict
from liveblog.extensions import db
from liveblog.models import Event, QuestionStatus, ReaderQuestion, Role, Story, User
from liveblog.publishing import moderation
from liveblog.webhooks import Deliverer


@pytest.fixture
def editor(client, actions):
    """The test client logged in to the desk as an editor."""
    actions.create_user("desk@example.org", Role.EDITOR, name="Dana Desk")
    log_in(client, "desk@example.org")
    return client


def question_id(app, text: str) -> int:
    """The id of the question with this text."""
    with app.app_context():
        return db.session.scalar(select(ReaderQuestion.id).filter_by(text=text))


def public_views(client) -> str:
    """Everything a reader or a feed can fetch about the story, in one string."""
    paths = ["/stories/storm", "/stories/storm/embed", "/api/stories/storm/entries",
             "/api/stories/storm", "/api/stories/storm/events", "/stories/storm/feed.atom",
             "/stories/storm/feed.json"]
    answers = [client.get(path) for path in paths]
    assert all(answer.status_code == 200 for answer in answers), [a.status_code for a in answers]
    return "".join(answer.get_data(as_text=True) for answer in answers)


@pytest.mark.parametrize("role", [None, Role.CONTRIBUTOR])
def test_only_editors_see_the_queue(client, actions, role):
    open_story(actions)
    if role:
        actions.create_user("c@example.org", role)
        log_in(client, "c@example.org")
    for path in ("/admin/stories/storm/questions", "/admin/stories/storm/questions/queue",
                 "/admin/stories/storm/questions/watch?wait=0"):
        response = client.get(path)
        assert response.status_code in (302, 403)
        assert SECRET not in response.get_data(as_text=True)


def test_desk_forms_need_the_csrf_token(app, editor, actions):
    open_story(actions)
    ask(editor, text=SECRET)
    number = question_id(app, SECRET)
    response = editor.post(f"/admin/stories/storm/questions/{number}/reject")
    assert response.status_code == 400
    assert stored(app)[0].status == QuestionStatus.PENDING


def test_hostile_text_is_inert_in_the_queue(app, editor, actions):
    open_story(actions)
    ask(editor, text=HOSTILE + CONTROLS + BIDI, name="<b>Eve</b>", email="eve@example.org")
    page = editor.get("/admin/stories/storm/questions").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<img src=x" not in page and "<b>Eve" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;Eve&lt;/b&gt;" in page
    assert "\u202e" not in page and "\x01" not in page
    assert "eve@example.org" in page  # the desk may write back; readers never see it


def test_the_watch_answers_when_a_question_arrives(app, editor, actions):
    open_story(actions)
    first = editor.get("/admin/stories/storm/questions/watch?wait=0").get_json()
    assert first["pending"] == []
    ask(editor, text="New one")
    changed = editor.get(f"/admin/stories/storm/questions/watch?since={first['token']}&wait=5")
    assert changed.get_json()["pending"] == [question_id(app, "New one")]
    assert changed.headers["Cache-Control"] == "no-store"


def test_nothing_a_reader_sends_is_public_until_published(app, client, editor, actions,
                                                          live_server):
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = True
    open_story(actions)
    receiver = Receiver()
    try:
        register(app, receiver.url)
        socket_url = live_server.replace("http://", "ws://") + "/api/stories/storm/live?after=0"
        with connect(socket_url) as reader:
            ask(client, text=SECRET, name="Secret Name", email="secret@example.org")
            actions.post_entry(body="<p>marker</p>")
            frames = _frames_until(reader, "marker")
            assert not any(SECRET in frame or "secret@example.org" in frame for frame in frames)
            seen = public_views(client)
            assert SECRET not in seen and "Secret Name" not in seen
            with app.app_context():
                payloads = db.session.scalars(select(Event.payload)).all()
            assert not any(SECRET in payload for payload in payloads)
            Deliverer(app).run_once(wait=True)
            assert not any(SECRET in json.dumps(event) for event in receiver.wait_for(1))

            number = question_id(app, SECRET)
            published = post_form(editor, f"/admin/stories/storm/questions/{number}/publish",
                                  {"answer": "Yes, it reopens at noon.", "headline": "Bridge"})
            assert published.status_code == 303
            frame = _frames_until(reader, SECRET)[-1]
        assert "Yes, it reopens at noon." in frame
        Deliverer(app).run_once(wait=True)
        assert any(SECRET in json.dumps(event) for event in receiver.wait_for(2))
    finally:
        receiver.stop()
    seen = public_views(client)
    assert SECRET in seen and "Asked by Secret Name" in seen
    assert "secret@example.org" not in seen  # the contact email is never shown
    [question] = stored(app)
    assert question.status == QuestionStatus.PUBLISHED and question.entry_id


def _frames_until(reader, text: str) -> list[str]:
    frames = []
    while not frames or text not in frames[-1]:
        frames.append(reader.recv(timeout=5))
    return frames


def test_a_published_question_is_an_inert_quote_with_the_answer(app, editor, actions, client):
    open_story(actions)
    ask(editor, text=HOSTILE + "\nline two " + CONTROLS + BIDI, name="<i>Eve</i>")
    number = question_id(app, HOSTILE + "\nline two agnp.exe and isolated")
    response = post_form(editor, f"/admin/stories/storm/questions/{number}/publish",
                         {"answer": "Our <em>answer</em><script>x()</script>"}, json=True)
    assert response.status_code == 200, response.get_json()
    entry = client.get("/api/stories/storm/entries").get_json()["entries"][0]
    html = entry["body_html"]
    assert "<script" not in html and "onerror" not in html.replace("onerror=alert(2)&gt;", "")
    assert "<img" not in html and "<b>" not in html
    quote = re.search(r"<blockquote><p>(.*?)</p></blockquote>", html, re.S).group(1)
    assert quote == ("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
                     " &amp; &lt;b&gt;bold&lt;/b&gt;<br>line two agnp.exe and isolated")
    assert "<figcaption>Asked by &lt;i&gt;Eve&lt;/i&gt;</figcaption>" in html
    assert "<p>Our <em>answer</em></p>" in html
    page = client.get("/stories/storm").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page


def test_an_anonymous_question_is_asked_by_a_reader(app, editor, actions, client):
    open_story(actions)
    ask(editor, text="Who?")
    post_form(editor, f"/admin/stories/storm/questions/{question_id(app, 'Who?')}/publish",
              {"answer": "Us."})
    html = client.get("/api/stories/storm/entries").get_json()["entries"][0]["body_html"]
    assert "Asked by A reader" in html


def test_a_question_is_decided_once(app, editor, actions, client):
    open_story(actions)
    ask(editor, text="Once?")
    number = question_id(app, "Once?")
    assert post_form(editor, f"/admin/stories/storm/questions/{number}/reject",
                     json=True).status_code == 200
    again = post_form(editor, f"/admin/stories/storm/questions/{number}/publish",
                      {"answer": "Twice"}, json=True)
    assert again.status_code == 409 and "already" in again.get_json()["error"]["message"]
    assert client.get("/api/stories/storm/entries").get_json()["entries"] == []
    missing = post_form(editor, "/admin/stories/storm/questions/999999/reject", json=True)
    assert missing.status_code == 404


def test_publishing_needs_an_answer(app, editor, actions):
    open_story(actions)
    ask(editor, text="Answer me")
    number = question_id(app, "Answer me")
    response = post_form(editor, f"/admin/stories/storm/questions/{number}/publish",
                         {"answer": "  "}, json=True)
    assert response.status_code == 422 and response.get_json()["error"]["fields"]["answer"]
    assert stored(app)[0].status == QuestionStatus.PENDING


def test_block_sender_from_the_desk_refuses_them(app, editor, actions, client):
    open_story(actions)
    ask(client, text="Spam 1")
    ask(client, text="Spam 2")
    number = question_id(app, "Spam 1")
    response = post_form(editor, f"/admin/stories/storm/questions/{number}/block")
    assert response.status_code == 303
    assert [q.status for q in stored(app)] == [QuestionStatus.REJECTED] * 2
    assert ask(client, text="Spam 3").status_code == 403


def test_only_an_admin_deletes_a_senders_data(app, editor, actions, client):
    open_story(actions)
    ask(client, text="Forget me", email="me@example.org")
    number = question_id(app, "Forget me")
    assert post_form(editor, f"/admin/stories/storm/questions/{number}/forget").status_code == 403
    admin = client.application.test_client()
    actions.create_user("admin@example.org", Role.ADMIN)
    log_in(admin, "admin@example.org")
    page = admin.get("/admin/stories/storm/questions").get_data(as_text=True)
    assert "Delete sender" in page
    assert post_form(admin, f"/admin/stories/storm/questions/{number}/forget").status_code == 303
    assert stored(app) == []


def test_the_switch_opens_and_closes_the_form_for_readers(app, editor, actions, client):
    actions.create_story(status="live")
    assert 'id="ask"' not in client.get("/stories/storm").get_data(as_text=True)
    assert post_form(editor, "/admin/stories/storm/questions/switch",
                     {"open": "1"}).status_code == 303
    page = client.get("/stories/storm").get_data(as_text=True)
    assert 'id="ask"' in page and "js/question-form.js" in page
    assert 'id="ask"' in client.get("/stories/storm/embed").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Story.questions_open)) is True
    post_form(editor, "/admin/stories/storm/questions/switch", {"open": "0"})
    assert 'id="ask"' not in client.get("/stories/storm").get_data(as_text=True)
    assert ask(client, text="Late").status_code == 409
    assert csrf_token(editor, "/admin/stories/storm/questions")


def test_two_editors_publishing_one_question_at_once_make_one_entry(app, actions, client):
    open_story(actions)
    ask(client, text="Race?")
    number = question_id(app, "Race?")
    with app.app_context():
        story_id = db.session.scalar(select(Story.id))
        editor_id = db.session.scalar(select(User.id))
    start = threading.Barrier(2)
    outcomes = []

    def publish(answer: str) -> None:
        with app.app_context():
            editor = db.session.get(User, editor_id)
            start.wait(timeout=5)
            try:
                moderation.publish_question(story_id, number, editor, answer)
                outcomes.append("published")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=publish, args=(f"Answer {n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "published"]
    entries = client.get("/api/stories/storm/entries").get_json()["entries"]
    assert len(entries) == 1 and stored(app)[0].entry_id == entries[0]["id"]
