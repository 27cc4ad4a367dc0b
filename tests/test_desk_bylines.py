"""The desk's side of bylines and schedules: an author's profile on the users page, the
compose and edit forms' co-authors, and a story's schedule page."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from desk_support import log_in, post_form
from PIL import Image

from liveblog.extensions import db
from liveblog.models import Entry, Role, Story, User


@pytest.fixture
def desk(app, actions):
    """A logged-in desk client for each role."""

    def as_role(role: Role):
        email = f"{role.value}@newsroom.example"
        actions.create_user(email, role, name=role.value.title())
        client = app.test_client()
        assert log_in(client, email).status_code == 302
        return client

    return as_role


def user(app, email: str) -> User:
    with app.app_context():
        found = db.session.scalar(db.select(User).filter_by(email=email))
        db.session.expunge(found)
        return found


def test_an_admin_sets_a_byline_and_readers_see_it(app, actions, desk):
    admin = desk(Role.ADMIN)
    editor = user(app, "editor@example.org")
    assert f'id="byline-{editor.id}"' in admin.get("/admin/users").get_data(as_text=True)
    response = post_form(admin, f"/admin/users/{editor.id}/profile",
                         {"job_title": "  Correspondent in <b>Kyiv</b> ",
                          "photo_url": "https://pictures.example/ed.jpg"})
    assert response.status_code == 303
    saved = user(app, "editor@example.org")
    assert (saved.job_title, saved.photo_url) == ("Correspondent in Kyiv",
                                                  "https://pictures.example/ed.jpg")
    actions.create_story()
    entry = actions.post_entry()
    assert entry["authors"][0]["role"] == "Correspondent in Kyiv"
    assert 'src="https://pictures.example/ed.jpg"' in entry["html"]


def test_a_byline_photo_can_be_uploaded(app, actions, desk):
    admin = desk(Role.ADMIN)
    editor = user(app, "editor@example.org")
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 30, 30)).save(buffer, "PNG")
    response = post_form(admin, f"/admin/users/{editor.id}/profile",
                         {"job_title": "", "photo_url": "",
                          "photo": (io.BytesIO(buffer.getvalue()), "me.png")},
                         content_type="multipart/form-data")
    assert response.status_code == 303
    photo = user(app, "editor@example.org").photo_url
    assert photo.startswith("/media/") and photo.endswith(".jpg")
    with admin.get(photo) as served:
        assert served.status_code == 200


@pytest.mark.parametrize("fields", [{"photo_url": "javascript:alert(1)"},
                                    {"job_title": "x" * 121}])
def test_a_bad_byline_is_refused_with_a_message(app, actions, desk, fields):
    admin = desk(Role.ADMIN)
    editor = user(app, "editor@example.org")
    response = post_form(admin, f"/admin/users/{editor.id}/profile",
                         {"job_title": "", "photo_url": "", **fields})
    assert response.status_code == 303
    assert "not valid" in admin.get("/admin/users").get_data(as_text=True)
    saved = user(app, "editor@example.org")
    assert (saved.job_title, saved.photo_url) == (None, None)


def test_only_an_admin_or_the_author_changes_a_byline(app, actions, desk):
    contributor = desk(Role.CONTRIBUTOR)
    editor = user(app, "editor@example.org")
    refused = post_form(contributor, f"/admin/users/{editor.id}/profile", {"job_title": "Boss"})
    assert refused.status_code == 403
    own = user(app, "contributor@newsroom.example")
    assert 'id="own-byline"' in contributor.get("/admin/account").get_data(as_text=True)
    saved = post_form(contributor, f"/admin/users/{own.id}/profile",
                      {"job_title": "Intern", "photo_url": "", "back": "account"})
    assert (saved.status_code, saved.headers["Location"]) == (303, "/admin/account")
    assert user(app, "contributor@newsroom.example").job_title == "Intern"
    assert 'value="Intern"' in contributor.get("/admin/account").get_data(as_text=True)


def test_compose_with_co_authors_then_change_them_in_the_edit_form(app, actions, desk):
    actions.create_story()
    editor_desk = desk(Role.EDITOR)
    page = editor_desk.get("/admin/stories/storm").get_data(as_text=True)
    assert 'name="coauthors"' in page and 'name="coauthors_shown"' in page
    colleague = user(app, "editor@example.org")
    response = post_form(editor_desk, "/admin/stories/storm/entries",
                         {"body": "<p>Two of us</p>", "action": "publish",
                          "coauthors_shown": "1", "coauthors": [str(colleague.id)]}, json=True)
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()["entry"]
    assert [author["name"] for author in entry["authors"]] == ["Editor", "Ed Itor"]

    edit_page = editor_desk.get(f"/admin/stories/storm/entries/{entry['id']}/edit")
    assert f'<option selected value="{colleague.id}">' in edit_page.get_data(as_text=True)
    response = post_form(editor_desk, f"/admin/stories/storm/entries/{entry['id']}/edit",
                         {"body": "<p>Two of us</p>", "version": str(entry["version"]),
                          "coauthors_shown": "1"}, json=True)
    assert response.status_code == 200, response.get_json()
    assert [author["name"] for author in response.get_json()["entry"]["authors"]] == ["Editor"]
    # A form without the select (an older page) leaves the byline as it is.
    with app.app_context():
        row = db.session.get(Entry, entry["id"])
        assert row.coauthors == [] and row.version == 2


def test_too_many_co_authors_is_a_form_message(app, actions, desk):
    actions.create_story()
    editor_desk = desk(Role.EDITOR)
    ids = [str(actions.create_user(f"u{n}@example.org")[0]) for n in range(6)]
    response = post_form(editor_desk, "/admin/stories/storm/entries",
                         {"body": "<p>Crowd</p>", "action": "publish", "coauthors_shown": "1",
                          "coauthors": ids}, json=True)
    assert response.status_code == 422
    assert "at most 5 co-authors" in response.get_json()["error"]["fields"]["coauthors"]


def test_the_schedule_page_sets_times_in_the_story_zone(app, actions, desk):
    actions.create_story(status="draft", timezone="Europe/Paris")
    editor_desk = desk(Role.EDITOR)
    assert 'href="/admin/stories/storm/schedule"' in editor_desk.get(
        "/admin/stories/storm").get_data(as_text=True)
    response = post_form(editor_desk, "/admin/stories/storm/schedule",
                         {"opens_at": "2030-01-02T10:00", "closes_at": "2030-01-03T18:30",
                          "archive_after_hours": "48"})
    assert response.status_code == 302
    with app.app_context():
        story = db.session.scalar(db.select(Story).filter_by(slug="storm"))
        opens = story.opens_at.replace(tzinfo=UTC) if story.opens_at.tzinfo is None \
            else story.opens_at
        assert opens == datetime(2030, 1, 2, 9, 0, tzinfo=UTC)
        assert story.archive_after_hours == 48
    page = editor_desk.get("/admin/stories/storm/schedule").get_data(as_text=True)
    assert 'value="2030-01-02T10:00"' in page and 'value="2030-01-03T18:30"' in page
    desk_page = editor_desk.get("/admin/stories/storm").get_data(as_text=True)
    assert "Goes live at 10:00 CET, 02 Jan 2030." in desk_page
    assert "Ends at 18:30 CET, 03 Jan 2030." in desk_page
    assert "Archived after 48 hours without an entry." in desk_page
    # Emptied, each is cleared.
    post_form(editor_desk, "/admin/stories/storm/schedule", {"opens_at": "", "closes_at": "",
                                                              "archive_after_hours": ""})
    with app.app_context():
        story = db.session.scalar(db.select(Story).filter_by(slug="storm"))
        assert (story.opens_at, story.closes_at, story.archive_after_hours) == (None, None, None)


@pytest.mark.parametrize(("fields", "message"), [
    ({"opens_at": "2030-01-02T10:00", "closes_at": "2030-01-02T09:00"}, "must be after opens_at"),
    ({"closes_at": "2030-03-31T02:30"}, "does not exist"),
    ({"archive_after_hours": "0"}, "8760"),
    ({"archive_after_hours": "٣"}, "whole number of hours"),
    ({"opens_at": "next tuesday"}, "YYYY-MM-DD"),
])
def test_a_bad_schedule_is_a_form_message(app, actions, desk, fields, message):
    actions.create_story(timezone="Europe/Paris")
    editor_desk = desk(Role.EDITOR)
    response = post_form(editor_desk, "/admin/stories/storm/schedule",
                         {"opens_at": "", "closes_at": "", "archive_after_hours": "", **fields})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_contributors_cannot_schedule_a_story(app, actions, desk):
    actions.create_story()
    assert desk(Role.CONTRIBUTOR).get("/admin/stories/storm/schedule").status_code == 403
