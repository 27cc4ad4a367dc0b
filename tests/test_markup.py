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
