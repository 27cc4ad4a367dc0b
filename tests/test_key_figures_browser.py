"""The key-figures box in Chromium: the desk's +1 moves the score on an open page and embed."""

from __future__ import annotations

from browser_support import browser_tests
from playwright.sync_api import expect
from test_desk_browser import desk_as, new_page

pytestmark = browser_tests
__all__ = ["new_page"]  # the fixture

LIVE = 5000  # ms: a round trip through the desk and the live socket, with room for a slow machine
SCOREBOARD = {"kind": "scoreboard", "period": "1st half",
              "home": {"name": "Reds", "score": 0}, "away": {"name": "Blues", "score": 0}}


def score(page, side: str):
    return page.locator(f"#key-figures .scoreboard-score[data-side='{side}']")


def test_a_point_added_in_the_desk_moves_the_open_page_and_embed(actions, new_page):
    actions.create_story(key_figures=SCOREBOARD)
    reader, embed = new_page(), new_page()
    reader.goto("/stories/storm")
    embed.goto("/stories/storm/embed")
    box = reader.get_by_role("region", name="Score")
    expect(box.get_by_role("rowheader", name="Reds")).to_be_visible()
    expect(score(embed, "home")).to_have_text("0")

    desk = desk_as(new_page, actions, "desk@example.org")
    desk.goto("/admin/stories/storm")
    desk.get_by_role("button", name="+1 Reds").click()
    expect(desk.locator("#kf-score-home")).to_have_text("1")
    expect(score(reader, "home")).to_have_text("1", timeout=LIVE)
    expect(score(embed, "home")).to_have_text("1", timeout=LIVE)
    expect(reader.locator("#key-figures-live")).to_have_text("Score: Reds 1, Blues 0, 1st half.")

    # The whole box: figures in place of the scoreboard, saved without a reload.
    desk.get_by_role("radio", name="Figures").check()
    desk.get_by_label("Label 1").fill("Seats declared")
    desk.get_by_label("Value 1").fill("412/650")
    desk.get_by_role("button", name="Save box").click()
    expect(reader.locator("#key-figures dl.figures dd")).to_have_text("412/650", timeout=LIVE)
    expect(embed.locator("#key-figures dt")).to_have_text("Seats declared", timeout=LIVE)
    expect(reader.locator("#key-figures table")).to_have_count(0)
    expect(embed.locator("#key-figures-live")).to_have_text(
        "Key figures: Seats declared: 412/650.")
