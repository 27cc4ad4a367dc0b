"""/stories/<slug>/fragment: the page's entries as bare HTML for a host site; "latest N" teasers."""

from __future__ import annotations

import json
import re

import lxml.html
import pytest

from liveblog.public.feeds import absolute_urls
from liveblog.public.fragment import VOID_END_TAGS

BASE = "http://localhost/"


def _entries(html: str) -> list[tuple[str, str]]:
    """(id, markup) of every entry in the list, in order."""
    root = lxml.html.fromstring(html)
    articles = root.xpath("//*[@id='entries']/article")
    return [(article.get("id"), lxml.html.tostring(article, encoding="unicode").strip())
            for article in articles]


@pytest.fixture
def story(actions):
    """A live story with a key entry, a link, a poll and an edited entry."""
    actions.create_story()
    actions.post_entry(body='<p>Start. <a href="/stories/storm">here</a></p>', pinned=True,
                       headline="It begins")
    actions.post_entry(body="<p>Update</p>")
    actions.post_entry(body="<p>Your view?</p>",
                       poll={"question": "Higher wall?", "options": ["Yes", "No"]})
    last = actions.post_entry(body="<p>Wind at 90 km/h</p>", pinned=True, headline="Gusts")
    edited = actions.client.patch(f"/api/stories/storm/entries/{last['id']}",
                                  json={"body": "<p>Wind at 110 km/h</p>"},
                                  headers=actions.headers())
    assert edited.status_code == 200
    return last


def test_the_fragment_carries_the_pages_entries_in_the_pages_markup(client, actions, story):
    for n in range(17):  # past the page's 20, so both stop at the same entry
        actions.post_entry(body=f"<p>Update {n}</p>")
    page = client.get("/stories/storm").get_data(as_text=True)
    fragment = client.get("/stories/storm/fragment")
    assert fragment.status_code == 200
    assert fragment.mimetype == "text/html"
    shown, included = _entries(page), _entries(fragment.get_data(as_text=True))
    assert len(included) == 20
    assert [id_ for id_, _ in included] == [id_ for id_, _ in shown]
    # The same partial, with its addresses absolute: on the host page a path names the host.
    assert [markup for _, markup in included] == [
        VOID_END_TAGS.sub("", absolute_urls(markup, BASE, videos_as_links=False))
        for _, markup in shown]
    # The key entries, as the page's LATEST box lists them.
    page_box, included_box = (lxml.html.fromstring(html).get_element_by_id("latest")
                              for html in (page, fragment.get_data(as_text=True)))
    assert lxml.html.tostring(included_box, encoding="unicode").strip() == absolute_urls(
        lxml.html.tostring(page_box, encoding="unicode"), BASE).strip()
    assert len(included_box.xpath(".//li")) == 2
    key = dict(included)[f"entry-{story['id']}"]
    assert f'href="{BASE}stories/storm/entries/{story["id"]}"' in key
    assert "entry--key" in key and "110 km/h" in key


def test_the_fragment_is_one_element_with_what_embed_js_needs_and_no_script(app, client, story):
    html = client.get("/stories/storm/fragment").get_data(as_text=True)
    parts = lxml.html.fragments_fromstring(html)
    assert len(parts) == 1
    root = parts[0]
    assert root.tag == "div" and root.get("data-liveblog-fragment") is not None
    for tag in ("html", "head", "body", "script", "style", "link", "meta"):
        assert not re.search(f"<{tag}[\\s>]", html), tag
    assert not any(name.startswith("on") for element in root.iter() for name in element.attrib)
    seq = client.get("/api/stories/storm").get_json()["last_seq"]
    assert root.get("data-story") == "storm" and root.get("data-seq") == str(seq)
    assert root.get("data-live-url") == "ws://localhost/api/stories/storm/live"
    assert root.get("data-events-url") == f"{BASE}api/stories/storm/events"
    assert root.get("data-entries-url") == f"{BASE}api/stories/storm/entries"
    assert root.get("data-module").startswith(f"{BASE}static/js/fragment-live.js?v=")
    assert root.get("data-limit") is None
    link = root.xpath("//p[@class='liveblog-fragment-link']/a")[0]
    assert link.get("href") == f"{BASE}stories/storm"


def test_the_fragment_caches_like_the_page_and_any_site_may_read_it(client, actions, story):
    first = client.get("/stories/storm/fragment")
    page = client.get("/stories/storm")
    assert first.headers["Cache-Control"] == page.headers["Cache-Control"]
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    etag = first.headers["ETag"]
    assert etag != page.headers["ETag"] and first.headers["Last-Modified"]
    again = client.get("/stories/storm/fragment", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/stories/storm/fragment?limit=3").headers["ETag"] != etag
    actions.post_entry(body="<p>News</p>")
    changed = client.get("/stories/storm/fragment", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # embed.js imports the module from the host page: a cross-origin module needs CORS.
    module = client.get("/static/js/fragment-live.js")
    module.close()  # a file response
    assert module.status_code == 200 and module.headers["Access-Control-Allow-Origin"] == "*"


def test_a_teaser_is_the_newest_n_entries_with_a_link_to_the_story(client, story):
    everything = _entries(client.get("/stories/storm/fragment").get_data(as_text=True))
    answer = client.get("/stories/storm/fragment?limit=3")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert _entries(html) == everything[:3]
    root = lxml.html.fragment_fromstring(html)
    assert root.get("data-limit") == "3" and "liveblog-fragment--teaser" in root.get("class")
    assert 'id="latest"' not in html  # a teaser is its entries alone
    assert root.xpath("//p[@class='liveblog-fragment-link']/a/@href") == [f"{BASE}stories/storm"]
    assert len(_entries(client.get("/stories/storm/fragment?limit=50").get_data(as_text=True))) == 4


def test_a_teaser_size_outside_1_to_50_is_refused(client, actions):
    actions.create_story()
    for limit in ["0", "51", "-1", "x", "", "\u0663", "1" * 16, "2&limit=3"]:
        answer = client.get(f"/stories/storm/fragment?limit={limit}")
        assert answer.status_code == 400, limit
        assert "1 to 50" in answer.get_data(as_text=True)


def test_an_archived_story_serves_a_fragment_that_stays_still(client, actions, story):
    ended = client.patch("/api/stories/storm", json={"status": "ended", "archived": True},
                         headers=actions.headers())
    assert ended.status_code == 200
    answer = client.get("/stories/storm/fragment?limit=2")
    assert answer.status_code == 200
    root = lxml.html.fragment_fromstring(answer.get_data(as_text=True))
    assert len(_entries(answer.get_data(as_text=True))) == 2
    # No socket and no module: embed.js leaves it as it is.
    assert root.get("data-live-url") is None and root.get("data-module") is None
    assert answer.headers["Cache-Control"] == client.get("/stories/storm").headers["Cache-Control"]


def test_drafts_and_unknown_stories_have_no_fragment(client, actions):
    actions.create_story(slug="secret", status="draft")
    assert client.get("/stories/secret/fragment").status_code == 404
    assert client.get("/stories/nowhere/fragment").status_code == 404


def test_an_empty_story_says_so_in_its_fragment(client, actions):
    actions.create_story()
    html = client.get("/stories/storm/fragment").get_data(as_text=True)
    assert 'id="no-entries"' in html and _entries(html) == []


def test_the_embed_page_and_oembed_offer_a_teaser(client, story):
    embed = client.get("/stories/storm/embed?limit=2")
    assert embed.status_code == 200
    html = embed.get_data(as_text=True)
    assert len(_entries(html)) == 2 and 'data-limit="2"' in html
    assert embed.headers["ETag"] != client.get("/stories/storm/embed").headers["ETag"]
    assert client.get("/stories/storm/embed?limit=51").status_code == 400
    answer = client.get("/oembed", query_string={"url": f"{BASE}stories/storm", "limit": "5"})
    assert 'src="http://localhost/stories/storm/embed?limit=5"' in answer.get_json()["html"]
    nonsense = client.get("/oembed", query_string={"url": f"{BASE}stories/storm", "limit": "99"})
    assert 'src="http://localhost/stories/storm/embed"' in nonsense.get_json()["html"]


def test_the_fragment_speaks_its_storys_language(client, actions):
    actions.create_story(language="ar")
    html = client.get("/stories/storm/fragment").get_data(as_text=True)
    root = lxml.html.fragment_fromstring(html)
    assert root.get("lang") == "ar" and root.get("dir") == "rtl"
    assert "Open the full live page" not in html  # the link's words are translated too



EMPTY = {"ar": "لا توجد تحديثات بعد. هذه الصفحة تتحدث تلقائيًا.",
         "es": "Todavía no hay actualizaciones. Esta página se actualiza sola."}


@pytest.mark.parametrize(("language", "reconnecting", "january"), [
    ("ar", "جارٍ إعادة الاتصال…", "يناير"), ("es", "Reconectando…", "enero")])
def test_the_fragment_carries_its_scripts_words_in_the_storys_language(
    client, actions, language, reconnecting, january
):
    actions.create_story(language=language)
    actions.post_entry()
    for path in ("/stories/storm/fragment", "/stories/storm/fragment?limit=2"):
        root = lxml.html.fragment_fromstring(client.get(path).get_data(as_text=True))
        assert root.get("lang") == language
        # The host page speaks its own language: the list's scripts read the story's words from
        # the list's root (static/js/strings.js), as a page reads its JSON block.
        words = json.loads(root.get("data-words"))
        assert words["noEntries"] == EMPTY[language]
        assert words["reconnecting"] == reconnecting and words["months"][0] == january
        assert set(words["voteCount"]) >= {"one", "other"}


def test_an_english_fragment_carries_no_words(client, actions):
    actions.create_story()
    root = lxml.html.fragment_fromstring(client.get("/stories/storm/fragment").get_data(
        as_text=True))
    assert root.get("lang") == "en" and json.loads(root.get("data-words")) == {}
