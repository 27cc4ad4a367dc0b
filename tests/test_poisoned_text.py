"""Characters that HTML and XML forbid never reach a page or a feed, whoever wrote them."""

from __future__ import annotations

import json

import lxml.etree
import pytest

from liveblog.content.sanitize import remove_forbidden_characters
from liveblog.extensions import db
from liveblog.models import Entry, Story, User

# Each is accepted by JSON and by the databases, and each makes an XML document invalid or is a
# "noncharacter" HTML calls a parse error: C0 controls, DEL, C1 controls, noncharacters.
POISON = "\x01\x08\x0b\x0c\x1f\x7f\x80\x85\x9f\ufdd0\ufdef\ufffe\uffff\U0001fffe\U0010ffff"
KEPT = "Tabs\tand\nnewlines, ünïcödé, emoji 🌊 and \u00a0 stay"


def atom_parses(client, slug: str = "storm") -> lxml.etree._Element:
    """Fetch the story's Atom feed and parse it with a strict XML parser."""
    response = client.get(f"/stories/{slug}/feed.atom")
    assert response.status_code == 200
    return lxml.etree.fromstring(response.data, lxml.etree.XMLParser(recover=False))


def json_feed_parses(client, slug: str = "storm") -> dict:
    """Fetch the story's JSON Feed and parse it."""
    response = client.get(f"/stories/{slug}/feed.json")
    assert response.status_code == 200
    return json.loads(response.data)


@pytest.mark.parametrize(("text", "expected"), [(POISON, ""), ("a" + POISON + "b", "ab")])
def test_forbidden_characters_are_removed_and_others_kept(text, expected):
    assert remove_forbidden_characters(text + KEPT) == expected + KEPT


def test_every_text_field_is_cleaned_when_written(client, actions):
    story = actions.create_story(
        title=f"Storm{POISON} watch", summary=f"Live{POISON}", cover_url="/x.jpg",
        cover_alt=f"Alt{POISON}", cover_caption=f"Caption{POISON}",
        cover_credit=f"Credit{POISON}", featured_kicker=f"Read{POISON}",
        featured_title=f"Feature{POISON}", featured_url="https://example.org/f")
    assert story["title"] == "Storm watch" and story["summary"] == "Live"
    entry = actions.post_entry(body=f"<p>Body{POISON} &#xFFFF;&#x7f;&#1;</p>",
                               headline=f"Head{POISON}", label=f"UPDATE{POISON}")
    assert (entry["headline"], entry["label"]) == ("Head", "UPDATE")
    assert not any(c in entry["html"] for c in POISON)
    page = client.get("/stories/storm").get_data(as_text=True)
    assert not any(c in page for c in POISON)
    feed = atom_parses(client)
    assert feed.findtext("{http://www.w3.org/2005/Atom}title") == "Storm watch"
    assert json_feed_parses(client)["items"][0]["title"] == "Head"


def test_the_feeds_survive_poisoned_rows_already_stored(app, client, actions):
    actions.create_story()
    entry = actions.post_entry(body="<p>Fine</p>")
    with app.app_context():  # data written before this check existed, or by hand
        db.session.get(Entry, entry["id"]).headline = f"Old{POISON}"
        db.session.get(Entry, entry["id"]).body_html = f"<p>Old{POISON}</p>"
        db.session.scalar(db.select(Story)).title = f"Old story{POISON}"
        db.session.commit()
    feed = atom_parses(client)
    assert feed.findtext("{http://www.w3.org/2005/Atom}title") == "Old story"
    item = json_feed_parses(client)["items"][0]
    assert item["title"] == "Old" and not any(c in item["content_html"] for c in POISON)


def test_a_name_set_anywhere_is_cleaned(app):
    with app.app_context():
        user = User(email="x@example.org", display_name=f"Ann{POISON} Lee", role="editor")
        assert user.display_name == "Ann Lee"
