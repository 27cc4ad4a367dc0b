"""The desk: log in, roles on every route, composing, versions, review, CSRF."""

from __future__ import annotations

import io
import os
import re

import pytest
from desk_support import csrf_token, log_in, post_form
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Role


@pytest.fixture
def story(actions):
    actions.create_story(slug="storm", title="Storm watch")
    return "storm"


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


def count_entries(app, **filters) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Entry.id)).filter_by(**filters))


def test_login_and_logout(app, client, actions):
    actions.create_user("ann@example.org", Role.EDITOR)
    response = log_in(client, "ann@example.org")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200
    post_form(client, "/admin/logout")
    assert client.get("/admin/").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(client, actions):
    actions.create_user("ann@example.org", Role.EDITOR)
    wrong = log_in(client, "ann@example.org", "not the password")
    unknown = log_in(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = "That email and password do not match an account."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_login_is_throttled(client, actions):
    actions.create_user("ann@example.org", Role.EDITOR)
    statuses = [log_in(client, "ann@example.org", "guess").status_code for _ in range(6)]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429
    # Even the right password waits out the throttle.
    assert log_in(client, "ann@example.org").status_code == 429


def test_forms_without_a_csrf_token_are_refused(app, desk, story):
    editor = desk(Role.EDITOR)
    response = editor.post(f"/admin/stories/{story}/entries", data={"body": "<p>x</p>"})
    assert response.status_code == 400
    assert count_entries(app) == 0


def test_open_redirects_after_login_are_not_followed(client, actions):
    actions.create_user("ann@example.org", Role.EDITOR)
    token = csrf_token(client)
    response = client.post("/admin/login?next=//evil.example/x",
                           data={"email": "ann@example.org", "password": "correct horse battery",
                                 "csrf_token": token})
    assert response.headers["Location"] == "/admin/"


def test_publish_from_the_desk_reaches_the_api(app, client, desk, story):
    editor = desk(Role.EDITOR)
    response = post_form(editor, f"/admin/stories/{story}/entries",
                         {"body": "<p><strong>Bridge</strong> closed</p>", "headline": "Closed",
                          "action": "publish", "idempotency_key": "k1"}, json=True)
    assert response.status_code == 201
    assert response.get_json()["entry"]["label"] == "ORIGINAL ENTRY"
    entries = client.get(f"/api/stories/{story}/entries").get_json()["entries"]
    assert [e["headline"] for e in entries] == ["Closed"]


def test_double_submit_with_the_same_key_posts_once(app, desk, story):
    editor = desk(Role.EDITOR)
    form = {"body": "<p>Once</p>", "action": "publish", "idempotency_key": "same-key"}
    first = post_form(editor, f"/admin/stories/{story}/entries", form)
    second = post_form(editor, f"/admin/stories/{story}/entries", form)
    assert first.status_code == second.status_code == 302
    assert count_entries(app) == 1


def test_bad_entry_keeps_the_text_and_says_why(app, desk, story):
    editor = desk(Role.EDITOR)
    response = post_form(editor, f"/admin/stories/{story}/entries",
                         {"body": "", "headline": "Kept headline", "action": "publish"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "must not be empty" in html and 'value="Kept headline"' in html
    assert count_entries(app) == 0


def test_contributor_entries_wait_for_an_editor(app, client, desk, story):
    contributor = desk(Role.CONTRIBUTOR)
    post_form(contributor, f"/admin/stories/{story}/entries",
              {"body": "<p>From the scene</p>", "action": "publish"})
    assert count_entries(app, status=EntryStatus.PENDING) == 1
    assert client.get(f"/api/stories/{story}/entries").get_json()["entries"] == []
    html = client.get(f"/stories/{story}").get_data(as_text=True)
    assert "From the scene" not in html
    editor = desk(Role.EDITOR)
    assert "From the scene" in editor.get(f"/admin/stories/{story}").get_data(as_text=True)
    with app.app_context():
        entry_id = db.session.scalar(select(Entry.id))
    post_form(editor, f"/admin/stories/{story}/entries/{entry_id}/publish")
    assert [e["body_html"] for e in client.get(
        f"/api/stories/{story}/entries").get_json()["entries"]] == ["<p>From the scene</p>"]


def test_a_stale_save_offers_theirs_mine_or_a_merge_and_overwrites_only_by_choice(
    app, desk, story, actions
):
    entry = actions.post_entry(body="<p>Original</p>")
    editor = desk(Role.EDITOR)
    url = f"/admin/stories/{story}/entries/{entry['id']}/edit"
    ok = post_form(editor, url, {"body": "<p>Theirs</p>", "version": "1"})
    assert ok.status_code == 302
    mine = {"body": "<p>Original</p><p><strong>Mine</strong></p>", "version": "1"}
    stale = post_form(editor, url, mine)
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone saved this entry" in html
    # Both versions formatted as readers would get them, not as markup.
    assert '<div class="conflict-text entries"><p>Theirs</p></div>' in html
    assert "<p><strong>Mine</strong></p>" in html and "&lt;strong&gt;" not in html.split(
        'id="compose"')[0]
    assert re.search(r"version <span id=\"entry-version\">2</span>", html)
    # The form keeps the version it was based on: saving again without a choice is refused.
    assert re.search(r'<input id="version" name="version"[^>]*value="1"', html)
    assert '<input type="hidden" name="their_version" value="2">' in html
    for choice in ("Keep theirs", "Use mine", "Edit a merge"):
        assert choice in html
    assert post_form(editor, url, mine).status_code == 409

    merge = post_form(editor, url, {**mine, "conflict_choice": "merge", "their_version": "2"})
    assert merge.status_code == 200
    merged = merge.get_data(as_text=True)
    assert "Their version and yours are merged below" in merged
    form_body = merged[merged.index('id="body"'):]
    assert form_body.index("Theirs") < form_body.index("Mine")
    assert re.search(r'<input id="version" name="version"[^>]*value="2"', merged)
    with app.app_context():
        assert db.session.get(Entry, entry["id"]).body_html == "<p>Theirs</p>"  # not saved

    used = post_form(editor, url, {**mine, "conflict_choice": "mine", "their_version": "2"})
    assert used.status_code == 302
    with app.app_context():
        saved = db.session.get(Entry, entry["id"])
        assert saved.body_html == "<p>Original</p><p><strong>Mine</strong></p>"
        assert saved.version == 3
    # "Use mine" against a version that has moved on again is refused, not an overwrite.
    again = post_form(editor, url, {**mine, "conflict_choice": "mine", "their_version": "2"})
    assert again.status_code == 409


def test_a_stale_save_from_the_script_gets_both_versions_and_the_merge(
    app, desk, story, actions
):
    entry = actions.post_entry(body="<p>Two roads closed.</p><p>More soon.</p>")
    editor = desk(Role.EDITOR)
    url = f"/admin/stories/{story}/entries/{entry['id']}/edit"
    post_form(editor, url, {"body": "<p>Two roads closed.</p><p>More soon. A30 shut.</p>",
                            "version": "1"})
    refused = post_form(editor, url, {"body": "<p>Two roads closed.</p><p>Diversions.</p>",
                                      "headline": "Roads", "version": "1"}, json=True)
    assert refused.status_code == 412
    error = refused.get_json()["error"]
    assert error["current"]["version"] == 2
    assert error["theirs"] == {"version": 2, "headline": "",
                               "body": "<p>Two roads closed.</p><p>More soon. A30 shut.</p>",
                               "body_html": "<p>Two roads closed.</p><p>More soon. A30 shut.</p>"}
    assert error["yours"] == {"headline": "Roads",
                              "body_html": "<p>Two roads closed.</p><p>Diversions.</p>"}
    assert error["merged"] == (
        "<p>Two roads closed.</p>\n<p>More soon. A30 shut.</p>\n<p>Diversions.</p>"
    )


def test_ending_a_story_asks_first_and_an_ended_desk_offers_reopen(app, desk, story, client):
    editor = desk(Role.EDITOR)
    one_click = post_form(editor, f"/admin/stories/{story}/status", {"status": "ended"})
    assert one_click.status_code == 303
    assert one_click.headers["Location"].endswith(f"/admin/stories/{story}/end")
    assert client.get(f"/api/stories/{story}").get_json()["status"] == "live"
    desk_page = editor.get(f"/admin/stories/{story}").get_data(as_text=True)
    assert 'id="compose"' in desk_page and f'href="/admin/stories/{story}/end"' in desk_page
    question = editor.get(f"/admin/stories/{story}/end").get_data(as_text=True)
    assert "End “Storm watch”?" in question and 'name="confirmed" value="1"' in question
    ended = post_form(editor, f"/admin/stories/{story}/status",
                      {"status": "ended", "confirmed": "1"})
    assert ended.status_code == 302
    assert client.get(f"/api/stories/{story}").get_json()["status"] == "ended"
    desk_page = editor.get(f"/admin/stories/{story}").get_data(as_text=True)
    assert 'id="compose"' not in desk_page and "This story has ended" in desk_page
    assert re.search(r'name="status" value="live"><button[^>]*>Reopen</button>', desk_page)
    contributor_page = desk(Role.CONTRIBUTOR).get(f"/admin/stories/{story}").get_data(
        as_text=True)
    assert 'id="compose"' not in contributor_page and "An editor can reopen it" in contributor_page


def test_correction_note_is_shown_to_readers(client, desk, story, actions):
    entry = actions.post_entry(body="<p>Ten hurt</p>")
    editor = desk(Role.EDITOR)
    post_form(editor, f"/admin/stories/{story}/entries/{entry['id']}/edit",
              {"body": "<p>Twelve hurt</p>", "version": "1", "correction": "The toll was 12."})
    html = client.get(f"/stories/{story}").get_data(as_text=True)
    assert "Twelve hurt" in html and "The toll was 12." in html


def test_delete_asks_first(app, desk, story, actions):
    entry = actions.post_entry()
    editor = desk(Role.EDITOR)
    url = f"/admin/stories/{story}/entries/{entry['id']}/delete"
    assert "Delete this entry?" in editor.get(url).get_data(as_text=True)
    assert count_entries(app, status=EntryStatus.PUBLISHED) == 1
    post_form(editor, url, {"version": "1"})
    assert count_entries(app, status=EntryStatus.PUBLISHED) == 0


# Every desk route, with what each role gets: 200/302 allowed, 403 refused.
ROUTES = [
    ("get", "/admin/", {}, {"admin": 200, "editor": 200, "contributor": 200}),
    ("get", "/admin/stories/new", {}, {"admin": 200, "editor": 200, "contributor": 403}),
    ("post", "/admin/stories/new", {"title": "New one"},
     {"admin": 302, "editor": 302, "contributor": 403}),
    ("get", "/admin/stories/storm", {}, {"admin": 200, "editor": 200, "contributor": 200}),
    ("get", "/admin/stories/storm/readers", {}, {"admin": 200, "editor": 200, "contributor": 200}),
    ("get", "/admin/stories/storm/settings", {}, {"admin": 200, "editor": 200,
                                                  "contributor": 403}),
    ("post", "/admin/stories/storm/status", {"status": "ended", "confirmed": "1"},
     {"admin": 302, "editor": 302, "contributor": 403}),
    ("get", "/admin/stories/storm/end", {}, {"admin": 200, "editor": 200, "contributor": 403}),
    ("get", "/admin/stories/storm/watch?wait=0", {},
     {"admin": 200, "editor": 200, "contributor": 200}),
    ("post", "/admin/stories/storm/entries", {"body": "<p>x</p>", "action": "draft"},
     {"admin": 302, "editor": 302, "contributor": 302}),
    ("get", "/admin/stories/storm/entries/1/edit", {}, {"admin": 200, "editor": 200,
                                                        "contributor": 403}),
    ("post", "/admin/stories/storm/entries/1/pin", {"pinned": "1"},
     {"admin": 302, "editor": 302, "contributor": 403}),
    ("get", "/admin/stories/storm/entries/1/delete", {}, {"admin": 200, "editor": 200,
                                                          "contributor": 403}),
    ("post", "/admin/stories/storm/entries/1/publish", {},
     {"admin": 302, "editor": 302, "contributor": 403}),
    ("post", "/admin/stories/storm/entries/1/reject", {},
     {"admin": 302, "editor": 302, "contributor": 403}),
    ("post", "/admin/stories/storm/key-order", {"entry": "1"},
     {"admin": 302, "editor": 302, "contributor": 403}),
    ("get", "/admin/stories/storm/entries/1/revisions", {}, {"admin": 200, "editor": 200,
                                                             "contributor": 200}),
    ("post", "/admin/stories/storm/preview", {"body": "<p>x</p>"},
     {"admin": 200, "editor": 200, "contributor": 200}),
    ("post", "/admin/stories/storm/entries/1/presence", {},
     {"admin": 200, "editor": 200, "contributor": 200}),
    ("get", "/admin/label-preview?timezone=GMT&label_format=%25H", {},
     {"admin": 200, "editor": 200, "contributor": 200}),
    ("get", "/admin/users", {}, {"admin": 200, "editor": 403, "contributor": 403}),
    ("post", "/admin/users", {"email": "new@example.org", "display_name": "New",
                              "role": "editor", "password": "long enough"},
     {"admin": 302, "editor": 403, "contributor": 403}),
    ("post", "/admin/users/1/role", {"role": "editor"},
     {"admin": 302, "editor": 403, "contributor": 403}),
    ("post", "/admin/users/1/revoke-tokens", {}, {"admin": 302, "editor": 403,
                                                  "contributor": 403}),
    ("post", "/admin/uploads", {}, {"admin": 422, "editor": 422, "contributor": 422}),
]


@pytest.mark.parametrize("role", ["admin", "editor", "contributor"])
@pytest.mark.parametrize(("method", "path", "data", "expected"), ROUTES,
                         ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_each_role_on_every_desk_route(app, client, desk, story, actions, role, method, path,
                                       data, expected):
    actions.post_entry()  # entry 1, published by the API editor
    session = desk(Role(role))
    if method == "get":
        response = session.get(path)
    else:
        response = post_form(session, path, data)
    assert response.status_code == expected[role], response.get_data(as_text=True)[:300]
    if method == "get" and response.status_code == 200 and "text/html" in response.content_type:
        anonymous = client.get(path)
        assert anonymous.status_code == 302 and "/admin/login" in anonymous.headers["Location"]


def test_key_entries_are_reordered_from_the_desk(app, client, desk, story, actions):
    ids = [actions.post_entry(body=f"<p>{n}</p>", headline=f"Key {n}", pinned=True)["id"]
           for n in range(3)]
    editor = desk(Role.EDITOR)
    page = editor.get(f"/admin/stories/{story}").get_data(as_text=True)
    assert page.index("Key 2") < page.index("Key 1") < page.index("Key 0")
    # Move "Key 0" (last) up one place: the form carries the whole new order.
    post_form(editor, f"/admin/stories/{story}/key-order",
              {"entry": [str(ids[2]), str(ids[0]), str(ids[1])]})
    html = client.get(f"/stories/{story}").get_data(as_text=True)
    latest = html[html.index('id="latest-list"'):html.index("</ul>", html.index("latest-list"))]
    assert latest.index("Key 2") < latest.index("Key 0") < latest.index("Key 1")


def test_a_photo_over_a_mebibyte_uploads_through_the_csrf_check(app, desk, story):
    """Phone photos are several MB: the upload route, and only it, takes them."""
    buffer = io.BytesIO()
    noise = Image.frombytes("RGB", (1200, 1000), os.urandom(1200 * 1000 * 3))
    noise.save(buffer, "PNG")
    assert buffer.tell() > 2 * 2**20
    editor = desk(Role.EDITOR)
    # Encoded here, in memory: the test client would spool this body to a file it never closes.
    boundary, body = encode_multipart({
        "csrf_token": csrf_token(editor, "/admin/"), "alt": "Static",
        "picture": FileStorage(io.BytesIO(buffer.getvalue()), "p.png", "picture"),
    })
    response = editor.post("/admin/uploads", data=body, headers={"Accept": "application/json"},
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 201, response.get_data(as_text=True)[:200]
    assert 'alt="Static"' in response.get_json()["markup"]
    too_big_elsewhere = post_form(editor, f"/admin/stories/{story}/entries",
                                  {"body": "x" * (2 * 2**20), "action": "draft"}, json=True)
    assert too_big_elsewhere.status_code == 413
    assert too_big_elsewhere.get_json()["error"]["status"] == 413
