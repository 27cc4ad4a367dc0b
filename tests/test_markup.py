"""What tools that judge a page check: valid time values in every page a reader or desk sees."""

from __future__ import annotations

import re

# HTML's valid global date and time string allows at most three fractional digits.
VALID_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,3})?)?Z")


def datetime_attributes(html: str) -> list[str]:
    """Every value of a datetime attribute in the page."""
    return re.findall(r'datetime="([^"]*)"', html)


def test_time_elements_carry_valid_datetime_values(client, actions):
    actions.create_story(title="Storm watch")
    entry = actions.post_entry(body="<p>It begins</p>")
    actions.client.patch(f"/api/stories/storm/entries/{entry['id']}",
                         json={"correction": "Wrong street"}, headers=actions.headers())
    for path in ("/stories/storm", "/stories/storm/embed"):
        values = datetime_attributes(client.get(path).get_data(as_text=True))
        assert len(values) >= 2, path  # the story's "last updated" and the entry's time
        for value in values:
            assert VALID_DATETIME.fullmatch(value), (path, value)


def meta_content(html: str, attribute: str, name: str) -> str | None:
    """The content of the <meta> with this name or property, if the page has one."""
    found = re.search(rf'<meta {attribute}="{re.escape(name)}" content="([^"]*)"', html)
    return found.group(1) if found else None


def test_a_story_without_summary_is_described_by_its_newest_entry(client, actions):
    actions.create_story()
    actions.post_entry(body="<p>The first words.</p>")
    actions.post_entry(headline="Bridge shut", body="<p>Police closed the bridge &amp; "
                       "the quay road at <b>noon</b>. " + "More words follow. " * 20 + "</p>")
    html = client.get("/stories/storm").get_data(as_text=True)
    description = meta_content(html, "name", "description")
    assert description.startswith("Bridge shut: Police closed the bridge &amp; the quay road")
    assert len(description.replace("&amp;", "&")) <= 160 and description.endswith("…")
    assert meta_content(html, "property", "og:description") == description
    assert meta_content(html, "name", "twitter:description") == description
    assert '"description":"Bridge shut: Police' in html.replace('": "', '":"')


def test_a_summary_stays_the_description(client, actions):
    actions.create_story(summary="All the news of the storm")
    actions.post_entry(body="<p>Not this</p>")
    html = client.get("/stories/storm").get_data(as_text=True)
    assert meta_content(html, "name", "description") == "All the news of the storm"
