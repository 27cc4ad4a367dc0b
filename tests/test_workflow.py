"""Entries on their way to readers: drafts, approval, schedules, corrections, key order."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import select

from liveblog import publishing
from liveblog.errors import Invalid, NotFound
from liveblog.extensions import db
from liveblog.live.hub import Frame
from liveblog.models import Entry, EntryRevision, EntryStatus, Event, Story, User, utcnow


@pytest.fixture
def story_id(app, actions):
    actions.create_story()
    with app.app_context():
        return db.session.scalar(select(Story.id).filter_by(slug="storm"))


@pytest.fixture
def frames(app):
    published: list[Frame] = []
    app.extensions["liveblog.hub"].publish = published.append
    return published


def editor() -> User:
    return db.session.scalar(select(User).filter_by(email="editor@example.org"))


def event_types() -> list[str]:
    return list(db.session.scalars(select(Event.type).order_by(Event.seq)))


def test_drafts_and_pending_entries_stay_out_of_the_log_until_published(app, story_id, frames):
    with app.app_context():
        draft, _ = publishing.create_entry(story_id, editor(), {"body": "<p>Draft</p>"},
                                           status=EntryStatus.DRAFT)
        pending, _ = publishing.create_entry(story_id, editor(), {"body": "<p>Wait</p>"},
                                             status=EntryStatus.PENDING)
        publishing.update_entry(story_id, draft.id, {"body": "<p>Draft 2</p>"}, 1, editor())
        assert event_types() == [] and frames == []
        assert db.session.get(Story, story_id).last_seq == 0
        published = publishing.publish_entry(story_id, pending.id, editor())
        assert published.status == EntryStatus.PUBLISHED and published.label == "ORIGINAL ENTRY"
        assert published.reviewed_by_id == editor().id
        assert event_types() == ["entry.created"] and [f.seq for f in frames] == [1]
        assert db.session.get(Entry, draft.id).status == EntryStatus.DRAFT


def test_rejected_entries_are_never_seen(app, story_id, frames, client):
    with app.app_context():
        pending, _ = publishing.create_entry(story_id, editor(), {"body": "<p>No</p>"},
                                             status=EntryStatus.PENDING)
        rejected = publishing.reject_entry(story_id, pending.id, editor())
        assert rejected.status == EntryStatus.REJECTED
        with pytest.raises(NotFound):
            publishing.publish_entry(story_id, pending.id, editor())
    assert frames == []
    assert client.get("/api/stories/storm/entries").get_json()["entries"] == []


def test_a_schedule_must_be_in_the_future(app, story_id):
    with app.app_context(), pytest.raises(Invalid):
        publishing.create_entry(story_id, editor(), {"body": "<p>x</p>"},
                                status=EntryStatus.SCHEDULED,
                                scheduled_for=utcnow() - timedelta(minutes=1))


def test_scheduled_entries_publish_when_due_and_only_once(app, story_id, frames):
    with app.app_context():
        later, _ = publishing.create_entry(story_id, editor(), {"body": "<p>Later</p>"},
                                           status=EntryStatus.SCHEDULED,
                                           scheduled_for=utcnow() + timedelta(hours=1))
        soon, _ = publishing.create_entry(story_id, editor(), {"body": "<p>Soon</p>"},
                                          status=EntryStatus.SCHEDULED,
                                          scheduled_for=utcnow() + timedelta(seconds=1))
        assert publishing.publish_due_entries() == 0
        db.session.execute(
            Entry.__table__.update().where(Entry.id == soon.id)
            .values(scheduled_for=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert publishing.publish_due_entries() == 1
        assert publishing.publish_due_entries() == 0
        assert db.session.get(Entry, soon.id).status == EntryStatus.PUBLISHED
        assert db.session.get(Entry, later.id).status == EntryStatus.SCHEDULED
    assert [f.seq for f in frames] == [1]


SCHEDULER = textwrap.dedent("""
    import sys
    from liveblog import create_app, publishing
    app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1]})
    with app.app_context():
        print(sum(publishing.publish_due_entries() for _ in range(20)))
""")


@pytest.mark.slow
def test_several_processes_publish_each_scheduled_entry_once(app, story_id, tmp_path):
    with app.app_context():
        for n in range(30):
            publishing.create_entry(story_id, editor(), {"body": f"<p>{n}</p>"},
                                    status=EntryStatus.SCHEDULED,
                                    scheduled_for=utcnow() + timedelta(seconds=30))
        db.session.execute(Entry.__table__.update()
                           .values(scheduled_for=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    runs = [subprocess.Popen([sys.executable, "-c", SCHEDULER,
                              app.config["SQLALCHEMY_DATABASE_URI"]],
                             env=env, cwd=root, stdout=subprocess.PIPE, text=True)
            for _ in range(3)]
    counts = [int(run.communicate(timeout=120)[0].strip()) for run in runs]
    assert sum(counts) == 30
    with app.app_context():
        assert event_types() == ["entry.created"] * 30
        statuses = set(db.session.scalars(select(Entry.status)))
    assert statuses == {"published"}


def test_corrections_and_revisions(app, story_id, frames):
    with app.app_context():
        entry, _ = publishing.create_entry(story_id, editor(), {"body": "<p>Ten hurt</p>"})
        fixed = publishing.update_entry(
            story_id, entry.id, {"body": "<p>Twelve hurt</p>", "correction": "The toll was 12."},
            expected_version=1, editor=editor(),
        )
        assert fixed.correction_note == "The toll was 12." and fixed.corrected_at is not None
        revisions = db.session.scalars(
            select(EntryRevision).filter_by(entry_id=entry.id).order_by(EntryRevision.version)
        ).all()
        assert [(r.version, r.body_html) for r in revisions] == [
            (1, "<p>Ten hurt</p>"), (2, "<p>Twelve hurt</p>")]
        assert all(r.editor_id == editor().id for r in revisions)
    assert "The toll was 12." in frames[-1].text


def test_pinning_and_reordering_key_entries(app, story_id, frames):
    with app.app_context():
        ids = [publishing.create_entry(story_id, editor(), {"body": f"<p>{n}</p>"})[0].id
               for n in range(3)]
        for entry_id in ids:
            publishing.update_entry(story_id, entry_id, {"pinned": True}, editor=editor())
        orders = {e.id: e.key_order for e in db.session.scalars(select(Entry))}
        assert orders[ids[2]] > orders[ids[1]] > orders[ids[0]]  # newest pin on top
        publishing.reorder_key_entries(story_id, [ids[0], ids[2], ids[1]])
        orders = {e.id: e.key_order for e in db.session.scalars(select(Entry))}
        assert orders[ids[0]] > orders[ids[2]] > orders[ids[1]]
        with pytest.raises(Invalid):
            publishing.reorder_key_entries(story_id, [ids[0]])
    assert [f.seq for f in frames] == list(range(1, len(frames) + 1))
