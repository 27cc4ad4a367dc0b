"""Readers' questions: the API that takes them, what it refuses, and that none leaks unreviewed."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from liveblog.extensions import db
from liveblog.models import BlockedSender, QuestionStatus, ReaderQuestion, Role, User
from liveblog.publishing import moderation
from liveblog.publishing.questions import email_key, sender_key

# Hostile text: markup, a script, control characters, bidi overrides. Each must come back as
# the same characters (controls and overrides gone), never as markup.
HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)> & <b>bold</b>'
CONTROLS = "a\x01\x08\x0b\x1f\x7f\x85\ufffe"
BIDI = "\u202egnp.exe\u202c and \u2066isolated\u2069"
SECRET = "Q-7f3a-never-public"


def open_story(actions, slug: str = "storm", **fields) -> dict:
    """A live story whose question form is open."""
    return actions.create_story(slug, status="live", questions_open=True, **fields)


def ask(client, slug: str = "storm", address: str = "203.0.113.7", **body):
    """Send a question as a reader from an address."""
    return client.post(f"/api/stories/{slug}/questions", json=body,
                       environ_base={"REMOTE_ADDR": address})


def stored(app) -> list[ReaderQuestion]:
    """Every stored question, oldest first."""
    with app.app_context():
        rows = db.session.scalars(select(ReaderQuestion).order_by(ReaderQuestion.id)).all()
        db.session.expunge_all()
        return rows


def test_the_form_is_closed_by_default_and_the_story_says_so(client, actions):
    story = actions.create_story(status="live")
    assert story["questions_open"] is False
    response = ask(client, text="Is the bridge open?")
    assert response.status_code == 409
    assert "not taking questions" in response.get_json()["error"]["message"]


def test_a_question_is_accepted_and_kept_as_plain_text(app, client, actions):
    open_story(actions)
    response = ask(client, text="Is the bridge open?\r\nAnd the ferry?", name="  Ann \n Lee ",
                   email="Ann@Example.org")
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["status"] == "received"
    [question] = stored(app)
    assert (question.text, question.name) == ("Is the bridge open?\nAnd the ferry?", "Ann Lee")
    assert question.email == "Ann@example.org" and question.status == QuestionStatus.PENDING
    with app.test_request_context():
        # Who sent it is kept only as keyed hashes: no address anywhere in the row.
        assert question.sender_hash == sender_key("203.0.113.7")
        assert question.email_hash == email_key("ann@example.org")
        assert question.sender_hash != sender_key("203.0.113.8")


def test_hostile_text_is_stored_as_the_characters_sent(app, client, actions):
    open_story(actions)
    response = ask(client, text=HOSTILE + CONTROLS + BIDI, name=f"<i>Eve</i>{CONTROLS}{BIDI}")
    assert response.status_code == 202, response.get_json()
    [question] = stored(app)
    assert question.text == HOSTILE + "a" + "gnp.exe and isolated"
    assert question.name == "<i>Eve</i>agnp.exe and isolated"


@pytest.mark.parametrize(("body", "field", "message"), [
    ({}, "text", "is required"),
    ({"text": ""}, "text", "must not be empty"),
    ({"text": " \n\x01\u202e "}, "text", "must not be empty"),
    ({"text": "x" * 1001}, "text", "must be at most 1000 characters"),
    ({"text": "x" * 10_240}, "text", "must be at most 1000 characters"),
    ({"text": "a\x00b"}, "text", "NUL"),
    ({"text": 5}, "text", "must be a string"),
    ({"text": "hi", "name": "n" * 81}, "name", "must be at most 80 characters"),
    ({"text": "hi", "name": "n" * 10_240}, "name", "must be at most 80 characters"),
    ({"text": "hi", "name": "see www.spam.example"}, "name", "must not hold a link"),
    ({"text": "hi", "email": "not an address"}, "email", "must be an email address"),
    ({"text": "hi", "email": "e" * 255}, "email", "must be at most 254 characters"),
    ({"text": "http://a.example https://b.example www.c.example"}, "text", "at most 2 links"),
    ({"text": "hi", "colour": "red"}, "colour", "is not a known field"),
])
def test_bad_questions_get_a_json_422_naming_the_field(app, client, actions, body, field,
                                                       message):
    open_story(actions)
    response = ask(client, **body)
    assert response.status_code == 422, response.get_json()
    assert message in response.get_json()["error"]["fields"][field]
    assert stored(app) == []


def test_two_links_are_fine(client, actions):
    open_story(actions)
    assert ask(client, text="See http://a.example and www.b.example").status_code == 202


@pytest.mark.parametrize(("data", "status"), [
    ("not json", 400),
    ("[1, 2]", 400),
    (b'{"text": "\xc3\x28"}', 400),
    (json.dumps({"text": "x" * 20_000}), 413),
])
def test_broken_or_oversize_bodies_get_a_json_4xx(app, client, actions, data, status):
    open_story(actions)
    response = client.post("/api/stories/storm/questions", data=data,
                           content_type="application/json")
    assert response.status_code == status
    assert response.get_json()["error"]["message"]
    assert stored(app) == []


def test_a_filled_honeypot_gets_the_same_answer_and_nothing_is_kept(app, client, actions):
    open_story(actions)
    trapped = ask(client, text="Buy now", website="http://spam.example")
    honest = ask(client, text="Real question", website="")
    assert trapped.status_code == honest.status_code == 202
    assert trapped.get_json() == honest.get_json()
    assert [question.text for question in stored(app)] == ["Real question"]


def test_a_flood_from_one_address_gets_429_and_others_still_ask(app, client, actions):
    app.config["QUESTION_LIMIT"] = "3 per minute"
    open_story(actions)
    answers = [ask(client, text=f"Question {n}").status_code for n in range(5)]
    assert answers == [202, 202, 202, 429, 429]
    refused = ask(client, text="Again")
    assert refused.get_json()["error"]["message"] and int(refused.headers["Retry-After"]) > 0
    assert ask(client, text="From elsewhere", address="198.51.100.9").status_code == 202
    assert len(stored(app)) == 4


def test_closed_ended_archived_and_draft_stories_take_no_questions(client, actions):
    open_story(actions)
    actions.client.patch("/api/stories/storm", json={"questions_open": False},
                         headers=actions.headers())
    assert ask(client, text="Hello?").status_code == 409
    open_story(actions, "ended")
    actions.client.patch("/api/stories/ended", json={"status": "ended"},
                         headers=actions.headers())
    assert ask(client, "ended", text="Hello?").status_code == 409
    actions.create_story("draft", status="draft", questions_open=True)
    assert ask(client, "draft", text="Hello?").status_code == 404
    assert ask(client, "nowhere", text="Hello?").status_code == 404


def test_a_blocked_sender_is_refused_by_address_and_by_email(app, client, actions):
    open_story(actions)
    ask(client, text="Spam", email="spam@example.org")
    editor = _editor(app)
    with app.app_context():
        question = db.session.scalar(select(ReaderQuestion))
        assert moderation.block_sender(question.story_id, question.id,
                                       db.session.get(User, editor)) == 1
        assert db.session.scalar(select(ReaderQuestion)).status == QuestionStatus.REJECTED
        assert len(db.session.scalars(select(BlockedSender)).all()) == 2
    refused = ask(client, text="More spam")
    assert refused.status_code == 403 and "not accepted" in refused.get_json()["error"]["message"]
    # A new address with the same email is the same sender; a stranger is not.
    assert ask(client, text="x", address="192.0.2.1", email="SPAM@example.org").status_code == 403
    assert ask(client, text="Hello", address="192.0.2.1").status_code == 202


def test_an_ipv6_sender_is_one_subscriber_by_its_64(app):
    with app.test_request_context():
        assert sender_key("2001:db8:1:2::1") == sender_key("2001:db8:1:2:ffff::9")
        assert sender_key("2001:db8:1:3::1") != sender_key("2001:db8:1:2::1")
        assert sender_key("::ffff:192.0.2.1") == sender_key("192.0.2.1")


def _editor(app) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.role == Role.EDITOR))


def test_archiving_the_story_deletes_its_contact_emails(app, client, actions):
    open_story(actions)
    open_story(actions, "other")
    ask(client, text="Q1", email="one@example.org")
    ask(client, "other", text="Q2", email="two@example.org")
    response = actions.client.patch("/api/stories/storm", json={"status": "ended",
                                                                "archived": True},
                                    headers=actions.headers())
    assert response.status_code == 200
    emails = {question.text: (question.email, question.email_hash) for question in stored(app)}
    assert emails["Q1"] == (None, None)
    assert emails["Q2"][0] == "two@example.org" and emails["Q2"][1]


def test_forgetting_a_sender_deletes_their_questions_everywhere(app, client, actions):
    open_story(actions)
    open_story(actions, "other")
    ask(client, text="Mine", email="me@example.org")
    ask(client, "other", text="Mine too", address="192.0.2.50", email="me@example.org")
    ask(client, text="Someone else's", address="192.0.2.51")
    with app.app_context():
        question = db.session.scalar(select(ReaderQuestion).filter_by(text="Mine"))
        assert moderation.forget_sender(question.story_id, question.id) == 2
    assert [question.text for question in stored(app)] == ["Someone else's"]
