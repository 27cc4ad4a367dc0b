"""PostgreSQL under real concurrency: many processes share one story's seq, one edit wins."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from liveblog.extensions import db
from liveblog.models import Entry, Event, Story

pytestmark = pytest.mark.databases("postgresql")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRITERS = 8
ENTRIES_EACH = 25
# Each writer connects, says it is ready, and waits for the word so that all of them start
# writing together instead of one after another as their imports finish.
WRITER = textwrap.dedent("""
    import sys
    from sqlalchemy import select
    from liveblog import create_app, publishing
    from liveblog.extensions import db
    from liveblog.models import User
    uri, story_id, name, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    app = create_app({"SQLALCHEMY_DATABASE_URI": uri})
    with app.app_context():
        editor = db.session.scalar(select(User).filter_by(email="editor@example.org"))
        db.session.commit()
        print("ready", flush=True)
        sys.stdin.readline()
        for n in range(count):
            publishing.create_entry(story_id, editor, {"body": f"<p>{name} {n}</p>"})
""")


@pytest.fixture
def story_id(app, actions):
    actions.create_story()
    with app.app_context():
        return db.session.scalar(select(Story.id).filter_by(slug="storm"))


@pytest.mark.slow
def test_writers_in_eight_processes_share_one_gapless_seq(app, story_id, tmp_path):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {**os.environ, "LIVEBLOG_INSTANCE": str(tmp_path / "instance")}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, uri, str(story_id), f"w{n}", str(ENTRIES_EACH)],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        for n in range(WRITERS)
    ]
    try:
        assert [writer.stdout.readline().strip() for writer in writers] == ["ready"] * WRITERS
        for writer in writers:
            writer.stdin.write("go\n")
            writer.stdin.flush()
        assert [writer.wait(timeout=120) for writer in writers] == [0] * WRITERS
    finally:
        for writer in writers:
            if writer.poll() is None:
                writer.kill()
            writer.communicate()

    total = WRITERS * ENTRIES_EACH
    with app.app_context():
        entries = db.session.execute(select(Entry.body_html, Entry.seq)).all()
        event_seqs = list(db.session.scalars(select(Event.seq).order_by(Event.seq)))
        assert db.session.get(Story, story_id).last_seq == total
    assert sorted(seq for _, seq in entries) == list(range(1, total + 1))
    assert event_seqs == list(range(1, total + 1))
    # Each writer's own entries keep the order it wrote them in.
    for n in range(WRITERS):
        mine = sorted((seq, body) for body, seq in entries if body.startswith(f"<p>w{n} "))
        assert [body for _, body in mine] == [f"<p>w{n} {i}</p>" for i in range(ENTRIES_EACH)]


def test_concurrent_edits_of_one_version_have_exactly_one_winner(app, actions):
    actions.create_story()
    entry = actions.post_entry(body="<p>First words</p>")
    editors = 8
    start = threading.Barrier(editors)

    def edit(n: int):
        client = app.test_client()
        start.wait(timeout=30)
        return client.patch(
            f"/api/stories/storm/entries/{entry['id']}",
            json={"body": f"<p>Edit {n}</p>"},
            headers=actions.headers(**{"If-Match": '"1"'}),
        )

    with ThreadPoolExecutor(max_workers=editors) as pool:
        responses = list(pool.map(edit, range(editors)))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * (editors - 1)
    (winner,) = [r.get_json() for r in responses if r.status_code == 200]
    assert winner["version"] == 2
    losers = [r.get_json() for r in responses if r.status_code == 412]
    assert all(loser["error"]["current"]["body_html"] == winner["body_html"] for loser in losers)
    with app.app_context():
        assert db.session.get(Entry, entry["id"]).body_html == winner["body_html"]
        events = db.session.execute(select(Event.seq, Event.type).order_by(Event.seq)).all()
    assert [tuple(event) for event in events] == [(1, "entry.created"), (2, "entry.updated")]
