"""The write path: events in the same transaction, gapless seq under concurrency, idempotency."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from desk_support import log_in, post_form
from sqlalchemy import func, select

from liveblog import publishing
from liveblog.api import schemas
from liveblog.api.openapi import build_spec
from liveblog.desk import forms
from liveblog.errors import Conflict, Invalid, NotFound, VersionConflict
from liveblog.extensions import db
from liveblog.live.hub import Frame
from liveblog.models import Entry, Event, Poll, PollOption, Story, User
from liveblog.publishing.validation import (
    ENTRY,
    POLL,
    SCHEDULED_FOR,
    STORY,
    entry_fields,
    known_fields,
    story_fields,
    too_long,
)


@pytest.fixture
def story_id(app, actions):
    actions.create_story()
    with app.app_context():
        return db.session.scalar(select(Story.id).filter_by(slug="storm"))


def _editor(app) -> User:
    return db.session.scalar(select(User).filter_by(email="editor@example.org"))


def _seqs(app, story_id) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Event.seq).filter_by(story_id=story_id)
                                       .order_by(Event.seq)))


def test_each_change_appends_one_event_with_the_next_seq(app, story_id):
    published: list[Frame] = []
    app.extensions["liveblog.hub"].publish = published.append
    with app.app_context():
        entry, created = publishing.create_entry(story_id, _editor(app), {"body": "<p>One</p>"})
        publishing.update_entry(story_id, entry.id, {"pinned": True}, expected_version=1)
        publishing.update_story(story_id, {"title": "Storm watch: day two"})
        publishing.delete_entry(story_id, entry.id)
        assert db.session.get(Story, story_id).last_seq == 4
    assert created
    assert [frame.seq for frame in published] == [1, 2, 3, 4]
    assert _seqs(app, story_id) == [1, 2, 3, 4]
    with app.app_context():
        types = list(db.session.scalars(select(Event.type).order_by(Event.seq)))
    assert types == ["entry.created", "entry.updated", "story.updated", "entry.deleted"]


def test_a_refused_change_leaves_no_event_and_no_seq(app, story_id):
    published: list[Frame] = []
    app.extensions["liveblog.hub"].publish = published.append
    with app.app_context():
        entry, _ = publishing.create_entry(story_id, _editor(app), {"body": "<p>One</p>"})
        with pytest.raises(VersionConflict) as conflict:
            publishing.update_entry(story_id, entry.id, {"body": "<p>Two</p>"}, 7)
        assert conflict.value.current["body_html"] == "<p>One</p>"
        with pytest.raises(NotFound):
            publishing.update_entry(story_id, 999, {"body": "<p>Two</p>"})
        with pytest.raises(Invalid):
            publishing.create_entry(story_id, _editor(app), {"body": "", "pinned": "yes"})
        assert db.session.get(Story, story_id).last_seq == 1
        assert db.session.get(Entry, entry.id).body_html == "<p>One</p>"
    assert [frame.seq for frame in published] == [1]


def test_ended_story_refuses_new_entries(app, story_id):
    with app.app_context():
        publishing.update_story(story_id, {"status": "ended"})
        assert db.session.get(Story, story_id).ended_at is not None
        with pytest.raises(Conflict):
            publishing.create_entry(story_id, _editor(app), {"body": "<p>Late</p>"})


def test_first_entry_is_original_and_the_next_takes_over_when_it_is_deleted(app, story_id):
    with app.app_context():
        first, _ = publishing.create_entry(story_id, _editor(app), {"body": "<p>First</p>"})
        second, _ = publishing.create_entry(story_id, _editor(app), {"body": "<p>Second</p>"})
        assert first.label == "ORIGINAL ENTRY"
        assert second.label.startswith("UPDATE ")
        publishing.delete_entry(story_id, first.id)
        second = db.session.get(Entry, second.id)
        assert second.label == "ORIGINAL ENTRY"
        last = db.session.scalar(select(Event).order_by(Event.seq.desc()).limit(1))
        assert last.type == "entry.updated" and last.entry_id == second.id
        assert "ORIGINAL ENTRY" in last.payload


def test_idempotency_key_returns_the_first_entry(app, story_id):
    with app.app_context():
        editor = _editor(app)
        first, created = publishing.create_entry(story_id, editor, {"body": "<p>A</p>"}, "k-1")
        again, created_again = publishing.create_entry(
            story_id, editor, {"body": "<p>A</p>"}, "k-1"
        )
        assert created and not created_again
        assert again.id == first.id
        with pytest.raises(Conflict):  # the key was used for another request
            publishing.create_entry(story_id, editor, {"body": "<p>B</p>"}, "k-1")
        assert db.session.scalar(select(func.count(Entry.id))) == 1
        assert db.session.get(Story, story_id).last_seq == 1


def test_concurrent_writers_in_threads_get_unique_gapless_seq(app, story_id):
    def post(n: int) -> int:
        with app.app_context():
            entry, _ = publishing.create_entry(story_id, _editor(app), {"body": f"<p>{n}</p>"})
            return entry.seq

    with ThreadPoolExecutor(max_workers=8) as pool:
        seqs = list(pool.map(post, range(80)))
    assert sorted(seqs) == list(range(1, 81))
    assert _seqs(app, story_id) == list(range(1, 81))


WRITER = textwrap.dedent("""
    import os, sys
    from sqlalchemy import select
    from liveblog import create_app, publishing
    from liveblog.extensions import db
    from liveblog.models import User
    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1]})
    with app.app_context():
        editor = db.session.scalar(select(User).filter_by(email="editor@example.org"))
        for n in range(int(sys.argv[3])):
            publishing.create_entry(int(sys.argv[2]), editor, {"body": f"<p>{os.getpid()} {n}</p>"})
""")


@pytest.mark.slow
def test_concurrent_writers_in_processes_get_unique_gapless_seq(app, story_id, tmp_path):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance")}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, uri, str(story_id), "25"], env=env,
                         cwd=os.path.dirname(os.path.dirname(__file__)))
        for _ in range(4)
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    assert _seqs(app, story_id) == list(range(1, 101))
    with app.app_context():
        seqs = sorted(db.session.scalars(select(Entry.seq)))
    assert seqs == list(range(1, 101))


# One rule per field (validation.py): the service, the API, its spec and the desk all read it.
SHORT = 20  # a limit any field can take in a test: longer than the shortest web address
# A time's length is a bound on what its parser reads, refused as "not a date and time" (as
# scheduled_for's), not a text limit with a "too long" message.
LIMITED = [(kind, name) for kind, rules in (("story", STORY), ("entry", ENTRY))
           for name, rule in rules.items() if rule.max_chars and rule.kind != "time"]
DESK_BASE = {"slug": "second", "title": "Second", "timezone": "GMT",
             "label_format": "UPDATE %H%M %Z", "status": "live"}


def _over(rule) -> str:
    """A valid value one character over SHORT."""
    start = "https://a.org/" if rule.kind == "url" else ""
    return start + "a" * (SHORT + 1 - len(start))


def _input(html: str, name: str) -> str:
    tag = re.search(rf'<(?:input|textarea)\b[^>]*\bname="{name}"[^>]*>', html)
    assert tag, f"no input named {name}"
    return tag.group(0)


def _refusals(app, client, actions, kind: str, name: str, value: str) -> dict:
    """The service's, the API's and the desk's message for one field given this value."""
    edit = name == "correction"
    data = {name: value} if edit else {"body": "x", name: value} if kind == "entry" \
        else {"slug": "second", "title": "Second", name: value}
    with app.app_context(), pytest.raises(Invalid) as refusal:
        (entry_fields if kind == "entry" else story_fields)(data, partial=edit)
    url = {"story": "/api/stories", "entry": "/api/stories/storm/entries"}[kind]
    api = client.patch(f"{url}/1", json=data, headers=actions.headers()) if edit \
        else client.post(url, json=data, headers=actions.headers())
    assert api.status_code == 422
    if kind == "story":
        page, posted = "/admin/stories/new", post_form(client, "/admin/stories/new",
                                                       {**DESK_BASE, name: value})
        desk = re.findall(r"<strong>(.*?)</strong>", posted.get_data(as_text=True))
    else:
        page = "/admin/stories/storm/entries/1/edit" if edit else "/admin/stories/storm"
        url = page if edit else "/admin/stories/storm/entries"
        posted = post_form(client, url, {"body": "x", "version": "1", name: value}, json=True)
        desk = [posted.get_json()["error"]["fields"][name]]
    assert posted.status_code == 422
    return {"service": refusal.value.fields[name], "api": api.get_json()["error"]["fields"][name],
            "desk": desk, "maxlength": _input(client.get(page).get_data(as_text=True), name)}


@pytest.mark.parametrize(("kind", "name"), LIMITED, ids=[f"{k}-{n}" for k, n in LIMITED])
def test_a_limit_changed_in_its_rule_changes_everywhere(app, client, actions, monkeypatch,
                                                        kind, name):
    actions.create_story()
    actions.post_entry()
    assert log_in(client, "editor@example.org").status_code == 302
    rule = (STORY if kind == "story" else ENTRY)[name]
    monkeypatch.setattr(rule, "max_chars", SHORT)
    try:
        build_spec.cache_clear()
        schema = {"story": "StoryCreate", "entry": "EntryCreate"}[kind]
        schema = "EntryUpdate" if name == "correction" else schema
        spec = build_spec()["components"]["schemas"][schema]["properties"][name]
        assert spec["maxLength"] == SHORT
    finally:
        build_spec.cache_clear()  # the next spec is built with the rule as it was
    refusals = _refusals(app, client, actions, kind, name, _over(rule))
    assert refusals["service"] == refusals["api"] == too_long(SHORT)
    assert refusals["desk"] == [f"Field cannot be longer than {SHORT} characters."]
    assert f'maxlength="{SHORT}"' in refusals["maxlength"]


def test_the_api_and_the_desk_know_the_fields_and_choices_the_rules_name(app):
    for schema, rules, partial in ((schemas.StoryCreate, STORY, False),
                                   (schemas.StoryUpdate, STORY, True),
                                   (schemas.EntryCreate, ENTRY, False),
                                   (schemas.EntryUpdate, ENTRY, True),
                                   (schemas.PollCreate, POLL, False),
                                   (schemas.PollUpdate, POLL, True)):
        loaded = schema().fields
        known = known_fields(rules, partial)
        # Any other is "not a known field"; an entry's poll is checked by its own rules.
        assert set(loaded) - {"scheduled_for", "poll"} == set(known)
        for name in known:
            assert loaded[name].required == (rules[name].required and not partial)
            assert loaded[name].allow_none == rules[name].nullable
    statuses = build_spec()["components"]["schemas"]["StoryUpdate"]["properties"]["status"]
    with app.test_request_context():
        desk = forms.StoryForm(meta={"csrf": False}).status
        assert tuple(choice.value for choice in desk.choices) == STORY["status"].choices
        assert f'maxlength="{SCHEDULED_FOR.max_chars}"' in forms.EntryForm().scheduled_for()
    assert tuple(statuses["enum"]) == STORY["status"].choices
    entry_spec = build_spec()["components"]["schemas"]["EntryCreate"]["properties"]
    assert entry_spec["scheduled_for"]["maxLength"] == SCHEDULED_FOR.max_chars


def test_a_polls_limits_fit_its_columns():
    assert POLL["question"].max_chars <= Poll.__table__.c.question.type.length
    assert POLL["options"].max_chars <= PollOption.__table__.c.text.type.length


@pytest.mark.parametrize(("model", "rules"), [(Story, STORY), (Entry, ENTRY)])
def test_every_limit_fits_its_column(model, rules):
    for name, rule in rules.items():
        column = model.__table__.c.get(rule.column or name)
        if column is None:
            # The body is kept as body_html and body_source (Text); the byline in entry_authors.
            assert (model, name) in {(Entry, "body"), (Entry, "authors")}
            continue
        width = getattr(column.type, "length", None)
        assert rule.max_chars is None or width is None or rule.max_chars <= width, name
