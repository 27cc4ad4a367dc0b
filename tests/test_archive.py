"""Story archives: export, import into a fresh database, and the same page and API."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from PIL import Image
from sqlalchemy import select

from liveblog import create_app, publishing
from liveblog.content import media
from liveblog.extensions import db
from liveblog.models import Story, User
from liveblog.publishing import archive


def normalised(html: str) -> str:
    """A page with the ids that differ between instances taken out: entry, media, seq, times."""
    html = re.sub(r"entry-\d+|entries/\d+|data-entry-id=\"\d+\"", "ENTRY", html)
    html = re.sub(r"/media/\d+/", "/media/N/", html)
    html = re.sub(r'data-seq="\d+"|"seq":\d+', "SEQ", html)
    html = re.sub(r"\?v=[0-9a-f]+", "", html)  # static fingerprints
    html = re.sub(r'<meta name="csrf-token"[^>]*>', "", html)
    return re.sub(r'datetime="[^"]*"', "", re.sub(r"Last updated.*?</time>", "", html, flags=re.S))


@pytest.fixture
def fresh_app(tmp_path, monkeypatch):
    """A second instance with its own database and media folder."""
    monkeypatch.setenv("LIVEBLOG_INSTANCE", str(tmp_path / "other-instance"))
    other = create_app({"TESTING": True,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/other.sqlite3"})
    with other.app_context():
        db.create_all()
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def archived_story(app, actions, client):
    """A story with a picture, a correction, a key entry, a draft, and an edited entry."""
    actions.create_story(title="Flood watch", timezone="Europe/London",
                         summary="Rivers rising", cover_url="https://example.org/c.jpg",
                         cover_alt="River", featured_kicker="FEATURE",
                         featured_title="Read more", featured_url="https://example.org/more")
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 90, 160)).save(buffer, "PNG")
    with app.app_context():
        picture = media.store_picture(io.BytesIO(buffer.getvalue()), "p.png", None)
        figure = str(media.picture_markup(picture, "The river", "At noon", "Ann Lee"))
        story_id = db.session.scalar(select(Story.id))
        editor = db.session.scalar(select(User))
    first = actions.post_entry(body="<p>Rain since dawn</p>")
    actions.post_entry(body=f"<p>Photos</p>{figure}", headline="The river at noon", pinned=True)
    fixed = actions.post_entry(body="<p>Ten homes flooded</p>")
    client.patch(f"/api/stories/storm/entries/{fixed['id']}",
                 json={"body": "<p>Twelve homes flooded</p>", "correction": "It was twelve."},
                 headers=actions.headers())
    with app.app_context():
        from liveblog.models import EntryStatus
        publishing.create_entry(story_id, editor, {"body": "<p>Not yet</p>"},
                                status=EntryStatus.DRAFT)
    assert first["label"] == "ORIGINAL ENTRY"
    return "storm"


def test_export_then_import_reproduces_the_page_and_the_api(app, client, fresh_app,
                                                            archived_story):
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["stories", "export", archived_story])
    assert exported.exit_code == 0, exported.output
    raw = exported.stdout_bytes
    assert raw[:2] == b"PK"  # pictures make it a zip
    assert {"story.json"} < set(zipfile.ZipFile(io.BytesIO(raw)).namelist())
    archive_path = app.instance_path + "/story.zip"
    with open(archive_path, "wb") as handle:
        handle.write(raw)
    imported = fresh_app.test_cli_runner().invoke(args=["stories", "import", archive_path])
    assert imported.exit_code == 0, imported.output
    other = fresh_app.test_client()
    original_page = client.get(f"/stories/{archived_story}").get_data(as_text=True)
    copied_page = other.get(f"/stories/{archived_story}").get_data(as_text=True)
    assert normalised(copied_page) == normalised(original_page)
    original = client.get(f"/api/stories/{archived_story}/entries").get_json()["entries"]
    copied = other.get(f"/api/stories/{archived_story}/entries").get_json()["entries"]
    keys = ("label", "headline", "pinned", "published_at", "correction", "author")
    assert [{k: e[k] for k in keys} for e in copied] == [{k: e[k] for k in keys} for e in original]
    picture = re.search(r'src="(/media/\d+/\d+\.jpg)"', copied_page).group(1)
    served = other.get(picture)
    assert served.status_code == 200 and served.data[:2] == b"\xff\xd8"  # a JPEG
    served.close()
    # The new instance's event log replays to the same page: one event per published entry.
    events = other.get(f"/api/stories/{archived_story}/events").get_json()["events"]
    assert [e["type"] for e in events] == ["entry.created"] * 3
    with fresh_app.app_context():
        from liveblog.models import Entry, EntryRevision
        draft = db.session.scalar(select(Entry).filter_by(status="draft"))
        assert draft is not None and "Not yet" in draft.body_html
        assert db.session.scalar(select(EntryRevision).filter_by(version=2)) is not None


def test_a_slug_clash_is_refused_or_renamed(app, client, archived_story):
    runner = app.test_cli_runner()
    raw = runner.invoke(args=["stories", "export", archived_story]).stdout_bytes
    path = app.instance_path + "/again.zip"
    with open(path, "wb") as handle:
        handle.write(raw)
    refused = runner.invoke(args=["stories", "import", path])
    assert refused.exit_code != 0 and "exists" in refused.output
    renamed = runner.invoke(args=["stories", "import", path, "--rename"])
    assert renamed.exit_code == 0 and "/stories/storm-2" in renamed.output
    assert client.get("/stories/storm-2").status_code == 200


def test_not_an_archive_is_refused(app, tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"hello": 1}')
    result = app.test_cli_runner().invoke(args=["stories", "import", str(path)])
    assert result.exit_code != 0 and "not a liveblog story archive" in result.output


def test_an_archived_story_is_a_static_page_with_no_live_connection(app, client, actions,
                                                                    live_server):
    from desk_support import log_in, post_form
    from test_live import close_code, raw_websocket

    from liveblog.models import Role

    actions.create_story()
    actions.post_entry(body="<p>The last word</p>")
    refused = client.patch("/api/stories/storm", json={"archived": True},
                           headers=actions.headers())
    assert refused.status_code == 409  # only an ended story can be archived
    actions.create_user("chief@example.org", Role.EDITOR)
    desk = app.test_client()
    log_in(desk, "chief@example.org")
    post_form(desk, "/admin/stories/storm/status", {"status": "ended", "archived": "1",
                                                      "confirmed": "1"})  # the confirm page
    response = client.get("/stories/storm")
    page = response.get_data(as_text=True)
    assert "The last word" in page and "no longer updates" in page
    assert "max-age=240" in response.headers["Cache-Control"]  # longer than a live page's 5 s
    assert "js/live.js" not in page
    with raw_websocket(live_server, "/api/stories/storm/live") as raw:
        assert close_code(raw.recv(4096)) == 4410
    reopened = client.patch("/api/stories/storm", json={"status": "live"},
                            headers=actions.headers())
    assert reopened.get_json()["archived"] is False
    assert "js/live.js" in client.get("/stories/storm").get_data(as_text=True)


def test_export_and_import_from_the_desk(app, client, actions, fresh_app):
    from desk_support import csrf_token, log_in

    from liveblog.models import Role

    actions.create_story(title="Desk moves")
    actions.post_entry(body="<p>Moved by hand</p>")
    actions.create_user("mover@example.org", Role.EDITOR)
    desk = app.test_client()
    log_in(desk, "mover@example.org")
    download = desk.get("/admin/stories/storm/export")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    archive = download.data
    with fresh_app.app_context():
        db.session.add(User(email="other@example.org", display_name="O", role="editor",
                            password_hash="x"))
        db.session.commit()
    other = fresh_app.test_client()
    with fresh_app.app_context():
        db.session.scalar(select(User)).set_password("correct horse battery")
        db.session.commit()
    log_in(other, "other@example.org")
    response = other.post("/admin/stories/import", data={
        "csrf_token": csrf_token(other, "/admin/"),
        "archive": (io.BytesIO(archive), "storm.json"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith("/storm")
    assert "Moved by hand" in other.get("/stories/storm").get_data(as_text=True)


def test_an_archive_written_before_frames_were_refused_still_imports(app, client, archived_story):
    """Back then a pasted foreign frame was dropped silently; the import does the same."""
    with app.app_context():
        data, _ = archive.export_story(archived_story)
    data["entries"][0]["body"] = ('<iframe src="https://evil.example/x"></iframe>'
                                  "<p>Kept words</p>")
    data["story"]["slug"], data["media"] = "old-storm", []
    out = io.BytesIO()
    archive.write_archive(data, [], out)
    with app.app_context():
        archive.import_archive(out.getvalue())
    page = client.get("/stories/old-storm").get_data(as_text=True)
    assert "Kept words" in page and "evil.example" not in page


def test_a_poll_travels_with_its_story_and_takes_no_votes_in_the_copy(app, client, actions,
                                                                      fresh_app):
    from liveblog.publishing.scheduler import Scheduler

    actions.create_story(title="Vote night")
    entry = actions.post_entry(body="<p>Tell us</p>",
                               poll={"question": "Who wins?", "options": ["Reds", "Blues"]})
    poll_id = entry["poll"]["id"]
    for n, option in enumerate((0, 1, 1)):
        voted = client.post(f"/api/polls/{poll_id}/votes",
                            json={"option": option, "voter": f"reader-token-{n:020d}"})
        assert voted.status_code == 201
    with app.app_context():
        data, _ = archive.export_story("storm")
    out = io.BytesIO()
    archive.write_archive(data, [], out)
    with fresh_app.app_context():
        archive.import_archive(out.getvalue())
    other = fresh_app.test_client()
    [copied] = other.get("/api/stories/storm/entries").get_json()["entries"]
    # What readers saw, as final results: the copy holds no votes to check a second one against.
    assert copied["poll"]["question"] == "Who wins?"
    assert copied["poll"]["options"] == ["Reds", "Blues"]
    assert copied["poll"]["tallies"] == [1, 2] and copied["poll"]["closed"] is True
    assert "67%" in copied["html"]
    again = other.post(f"/api/polls/{copied['poll']['id']}/votes",
                       json={"option": 0, "voter": "reader-token-new-browser"})
    assert again.status_code == 409
    Scheduler(fresh_app).run_once()  # nothing untold: the entry's event carries the poll
    events = other.get("/api/stories/storm/events").get_json()["events"]
    assert [event["type"] for event in events] == ["entry.created"]
    assert events[0]["entry"]["poll"]["tallies"] == [1, 2]


def test_a_byline_of_several_authors_travels_with_its_story(app, client, actions, fresh_app):
    actions.create_story(title="Two voices")
    partner_id, _ = actions.create_user("kyiv@example.org", name="Olena Bondar")
    with app.app_context():
        db.session.get(User, partner_id).job_title = "Correspondent in Kyiv"
        author_id = db.session.scalar(select(User.id).where(User.id != partner_id))
        db.session.commit()
    entry = actions.post_entry(body="<p>Filed together</p>", authors=[author_id, partner_id])
    assert [a["name"] for a in entry["authors"]][1] == "Olena Bondar"
    with app.app_context():
        data, _ = archive.export_story("storm")
    out = io.BytesIO()
    archive.write_archive(data, [], out)
    with fresh_app.app_context():
        archive.import_archive(out.getvalue())
    [copied] = fresh_app.test_client().get("/api/stories/storm/entries").get_json()["entries"]
    # The same byline in the same order; the co-author, new here, keeps her job in it.
    assert [(a["name"], a["role"]) for a in copied["authors"]] == [
        (a["name"], a["role"]) for a in entry["authors"]]
    assert copied["authors"][1]["role"] == "Correspondent in Kyiv"
