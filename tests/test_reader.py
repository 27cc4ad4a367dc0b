"""The reader pages: the story page, paging without scripts, permalinks, drafts."""

from __future__ import annotations

import re

import pytest


def test_story_page_shows_entries_newest_first_with_labels(client, actions):
    actions.create_story(title="Wind & <b>rain</b> <watch>", summary="All times GMT")
    first = actions.post_entry(body="<p>It begins</p>")
    second = actions.post_entry(body="<p>It goes on</p>", headline="Bridge closed", pinned=True)
    page = client.get("/stories/storm")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Wind &amp; rain | liveblog</title>" in html  # plain text, then escaped
    order = re.findall(r'id="entry-(\d+)" data-entry-id', html)
    assert order == [str(second["id"]), str(first["id"])]
    assert "ORIGINAL ENTRY" in html and second["label"] in html
    assert 'data-seq="2"' in html and "Bridge closed" in html
    assert 'id="latest-list"' in html  # the key entry is listed under LATEST
    assert "/static/js/live.js" in html


def test_load_older_pages_back_without_scripts(client, actions):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>{n}</p>")["id"] for n in range(25)]
    html = client.get("/stories/storm").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'id="entry-(\d+)" data-entry-id', html)]
    assert shown == ids[::-1][:20]
    older = re.search(r'href="([^"]+)" data-before', html).group(1).replace("&amp;", "&")
    html2 = client.get(older).get_data(as_text=True)
    shown2 = [int(i) for i in re.findall(r'id="entry-(\d+)" data-entry-id', html2)]
    assert shown2 == ids[::-1][20:]
    assert "load-older" not in html2


def test_permalinks_open_the_page_down_to_the_entry(client, actions):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>number {n}</p>")["id"] for n in range(22)]
    recent = client.get(f"/stories/storm/entries/{ids[-1]}")
    assert recent.status_code == 302
    assert recent.headers["Location"].endswith(f"/stories/storm#entry-{ids[-1]}")
    old = client.get(f"/stories/storm/entries/{ids[0]}")
    assert old.status_code == 302
    assert old.headers["Location"].endswith(f"/stories/storm?through={ids[0]}#entry-{ids[0]}")
    html = client.get(f"/stories/storm?through={ids[0]}").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'id="entry-(\d+)" data-entry-id', html)]
    assert shown == ids[::-1]  # the newest entry down to the linked one, live as ever
    assert "/static/js/live.js" in html and "load-older" not in html
    assert client.get("/stories/storm/entries/99999").status_code == 404


def test_drafts_and_unknown_stories_are_not_found(client, actions):
    actions.create_story(slug="draft-story", status="draft")
    assert client.get("/stories/draft-story").status_code == 404
    missing = client.get("/stories/nowhere")
    assert missing.status_code == 404 and "text/html" in missing.content_type


def test_index_lists_live_stories_first(client, actions):
    actions.create_story(slug="old-news", title="Old news", status="ended")
    actions.create_story(slug="breaking", title="Breaking")
    html = client.get("/").get_data(as_text=True)
    assert html.index("Breaking") < html.index("Old news")


def _shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="entry-(\d+)" data-entry-id', html)]


def test_a_long_story_renders_one_page_and_links_to_older(client, actions):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>{n}</p>", pinned=n in (3, 40))["id"] for n in range(45)]
    html = client.get("/stories/storm").get_data(as_text=True)
    assert _shown(html) == ids[::-1][:20]
    assert f'data-before="{ids[-20]}"' in html
    latest = re.search(r'<ul id="latest-list">(.*?)</ul>', html, re.S).group(1)
    assert re.findall(r'data-entry-id="(\d+)"', latest) == [str(ids[40]), str(ids[3])]
    # JSON-LD describes the page's entries, not the whole story.
    assert html.count('"@type": "BlogPosting"') == 20
    older = client.get(f"/stories/storm?before={ids[-20]}").get_data(as_text=True)
    assert _shown(older) == ids[::-1][20:40]


def _statements(app, client, path: str) -> int:
    from sqlalchemy import event

    from liveblog.extensions import db

    seen = []

    def count(*_args):
        seen.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


@pytest.mark.parametrize(
    "path",
    [
        "/stories/storm",
        "/stories/storm?before={middle}",
        "/stories/storm/embed",
        "/stories/storm/feed.atom",
        "/stories/storm/feed.json",
        "/api/stories/storm/entries",
        "/api/stories/storm/events?after={tail}",
    ],
)
def test_reader_addresses_run_as_many_queries_for_a_long_story_as_for_a_short_one(
    app, client, actions, path
):
    actions.create_story()
    ids = [actions.post_entry(body=f"<p>{n}</p>", pinned=n == 1)["id"] for n in range(4)]
    short = _statements(app, client, path.format(middle=ids[1], tail=2))
    ids += [actions.post_entry(body=f"<p>{n}</p>", pinned=n == 30)["id"] for n in range(60)]
    long = _statements(app, client, path.format(middle=ids[30], tail=62))
    assert long == short <= 6
