"""The write path: events in the same transaction, gapless seq under concurrency, idempotency."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from liveblog import publishing
from liveblog.errors import Conflict, Invalid, NotFound, VersionConflict
from liveblog.extensions import db
from liveblog.live.hub import Frame
from liveblog.models import Entry, Event, Story, User


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
