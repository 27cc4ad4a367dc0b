"""Bylines: an author's profile (photo, job), several authors per entry, in the API, the page,
the feeds and the JSON-LD; changing them is an edit readers get as entry.updated."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from liveblog.extensions import db
from liveblog.models import Event, Role, User

ATOM = "{http://www.w3.org/2005/Atom}"


def _profile(app, user_id: int, **fields) -> None:
    with app.app_context():
        user = db.session.get(User, user_id)
        for name, value in fields.items():
            setattr(user, name, value)
        db.session.commit()


@pytest.fixture
def team(app, actions):
    """The default editor (Ed Itor) with a profile, and a co-author with a photo."""
    actions.create_story()
    with app.app_context():
        editor_id = db.session.scalar(db.select(User.id).filter_by(email="editor@example.org"))
    _profile(app, editor_id, job_title="Correspondent in Kyiv")
    other_id, _ = actions.create_user("ana@example.org", Role.CONTRIBUTOR, name="Ana Lim")
    _profile(app, other_id, photo_url="/media/1/480.webp", job_title="Photographer")
    return editor_id, other_id


def test_a_new_entry_is_by_its_writer_with_the_profile(client, actions, team):
    editor_id, _ = team
    entry = actions.post_entry()
    assert entry["author"] == {"id": editor_id, "name": "Ed Itor"}
    assert entry["authors"] == [{"id": editor_id, "name": "Ed Itor",
                                 "role": "Correspondent in Kyiv", "photo": None}]
    assert "Correspondent in Kyiv" in entry["html"]


def test_an_entry_by_two_authors_in_order(client, actions, team):
    editor_id, other_id = team
    entry = actions.post_entry(authors=[editor_id, other_id])
    assert [author["name"] for author in entry["authors"]] == ["Ed Itor", "Ana Lim"]
    assert entry["authors"][1] == {"id": other_id, "name": "Ana Lim", "role": "Photographer",
                                   "photo": "/media/1/480.webp"}
    html = entry["html"]
    assert html.index("Ed Itor") < html.index("Ana Lim")
    # The photo: decorative beside the name, sized, loaded when near.
    assert ('<img class="entry-author-photo" src="/media/1/480.webp" alt="" width="32"'
            ' height="32" loading="lazy"') in html
    listed = client.get("/api/stories/storm/entries").get_json()["entries"][0]
    assert listed["authors"] == entry["authors"]


def test_the_first_id_becomes_the_author(client, actions, team):
    editor_id, other_id = team
    entry = actions.post_entry(authors=[other_id, editor_id])
    assert entry["author"]["id"] == other_id
    assert [author["id"] for author in entry["authors"]] == [other_id, editor_id]


def test_changing_authors_is_an_edit_readers_get(app, client, actions, team):
    editor_id, other_id = team
    entry = actions.post_entry()
    response = client.patch(f"/api/stories/storm/entries/{entry['id']}",
                            json={"authors": [editor_id, other_id]}, headers=actions.headers())
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["version"] == 2
    events = client.get("/api/stories/storm/events").get_json()["events"]
    assert [event["type"] for event in events] == ["entry.created", "entry.updated"]
    assert [author["name"] for author in events[-1]["entry"]["authors"]] == ["Ed Itor", "Ana Lim"]
    assert "Ana Lim" in events[-1]["html"]
    # Back to one author: the co-author's row goes.
    response = client.patch(f"/api/stories/storm/entries/{entry['id']}",
                            json={"authors": [editor_id]}, headers=actions.headers())
    assert [author["name"] for author in response.get_json()["authors"]] == ["Ed Itor"]
    # And three: the rows are rewritten in place, never clashing on (entry, position).
    third_id, _ = actions.create_user("bo@example.org", name="Bo Chen")
    for order in ([editor_id, other_id, third_id], [editor_id, third_id, other_id]):
        response = client.patch(f"/api/stories/storm/entries/{entry['id']}",
                                json={"authors": order}, headers=actions.headers())
        assert [author["id"] for author in response.get_json()["authors"]] == order
    with app.app_context():
        assert db.session.query(Event).count() == 5


@pytest.mark.parametrize(("authors", "message"), [
    ([], "must be a list of 1 to 6 user ids"),
    ([1, 2, 3, 4, 5, 6, 7], "must be a list of 1 to 6 user ids"),
    (["1"], "must be a list of 1 to 6 user ids"),
    ([1, 1], "must name each author once"),
    ([999], "no user has the id 999"),
    ("1", "must be a list of 1 to 6 user ids"),
])
def test_bad_authors_are_422(client, actions, team, authors, message):
    response = client.post("/api/stories/storm/entries", json={"body": "x", "authors": authors},
                           headers=actions.headers())
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert [message] == [text for name, text in fields.items() if name.startswith("authors")]


def test_the_service_checks_the_same_rule(app, team):
    from liveblog.errors import Invalid
    from liveblog.publishing.validation import entry_fields
    with pytest.raises(Invalid) as refused:
        entry_fields({"body": "x", "authors": [True]})
    assert refused.value.fields == {"authors": "must be a list of 1 to 6 user ids"}
    assert entry_fields({"body": "x", "authors": [2, 1]})["author_ids"] == [2, 1]


def test_feeds_and_json_ld_name_both_authors(client, actions, team):
    editor_id, other_id = team
    actions.post_entry(authors=[editor_id, other_id])
    feed = ET.fromstring(client.get("/stories/storm/feed.atom").data)
    names = [name.text for name in feed.findall(f"{ATOM}entry/{ATOM}author/{ATOM}name")]
    assert names == ["Ed Itor", "Ana Lim"]
    item = client.get("/stories/storm/feed.json").get_json()["items"][0]
    assert item["authors"] == [{"name": "Ed Itor"},
                               {"name": "Ana Lim", "avatar": "http://localhost/media/1/480.webp"}]
    page = client.get("/stories/storm").get_data(as_text=True)
    start = page.index('<script type="application/ld+json">') + len(
        '<script type="application/ld+json">')
    data = json.loads(page[start:page.index("</script>", start)])
    assert data["liveBlogUpdate"][0]["author"] == [
        {"@type": "Person", "name": "Ed Itor", "jobTitle": "Correspondent in Kyiv"},
        {"@type": "Person", "name": "Ana Lim", "jobTitle": "Photographer",
         "image": "http://localhost/media/1/480.webp"},
    ]


def test_feeds_carry_no_share_button(client, actions, team):
    actions.post_entry()
    assert "entry-share" not in client.get("/stories/storm/feed.atom").get_data(as_text=True)
    page = client.get("/stories/storm").get_data(as_text=True)
    assert "js/share.js" in page and 'data-copied="Link copied"' in page


def test_a_hostile_job_and_name_stay_text(client, actions, team):
    editor_id, other_id = team
    _profile(actions.app, other_id, job_title="<script>alert(1)</script>")
    entry = actions.post_entry(authors=[editor_id, other_id])
    assert "<script>alert(1)" not in entry["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in entry["html"]
