"""Polls in Chromium: readers vote from the page and the embed, and see each other's votes live."""

from __future__ import annotations

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect
from test_polls import COUNTS, set_tallies

pytestmark = browser_tests

LIVE = 5000  # ms: the first frame goes out at once, later ones at most a second apart


@pytest.fixture
def readers(browser, live_server):
    """Two readers, each in a browser of their own (own storage, own voter token)."""
    contexts = [browser.new_context(base_url=live_server) for _ in range(2)]
    yield [context.new_page() for context in contexts]
    for context in contexts:
        context.close()


def poll_entry(actions) -> dict:
    actions.create_story()
    return actions.post_entry(poll={"question": "Who wins?", "options": ["Reds", "Blues"]})


def share(page, poll_id: int, option: int):
    return page.locator(f"#poll-{poll_id} .poll-option[data-option='{option}'] .poll-share")


def test_a_vote_moves_another_readers_bars_live_and_one_browser_votes_once(readers, actions):
    poll_id = poll_entry(actions)["poll"]["id"]
    voter, watcher = readers
    voter.goto("/stories/storm")
    watcher.goto("/stories/storm/embed")  # the embed votes and updates as the page does
    expect(watcher.get_by_role("button", name="Vote: Reds")).to_be_visible()
    expect(share(watcher, poll_id, 1)).to_have_text("0%")
    voter.get_by_role("button", name="Vote: Blues").click()
    expect(voter.locator(".poll-message")).to_contain_text("your vote is counted")
    expect(share(voter, poll_id, 1)).to_have_text("100%")
    expect(voter.locator(".poll-vote")).to_have_count(0)
    expect(share(watcher, poll_id, 1)).to_have_text("100%", timeout=LIVE)
    expect(watcher.locator(f"#poll-{poll_id} .poll-total")).to_have_text("1")
    # A reload remembers the vote: no buttons, the reader's answer marked.
    voter.reload()
    expect(voter.locator(".poll-option--mine .poll-answer")).to_have_text("Blues")
    expect(voter.locator(".poll-vote")).to_have_count(0)
    # Forgetting the vote but keeping the token: the server still refuses a second one.
    voter.evaluate("localStorage.removeItem('liveblog:voted')")
    voter.reload()
    voter.get_by_role("button", name="Vote: Reds").click()
    expect(voter.locator(".poll-message")).to_contain_text("already voted")
    expect(share(voter, poll_id, 1)).to_have_text("100%")
    watcher.get_by_role("button", name="Vote: Reds").click()
    expect(share(voter, poll_id, 0)).to_have_text("50%", timeout=LIVE)


def test_a_closed_poll_refuses_votes_and_shows_its_final_results(readers, actions, client):
    entry = poll_entry(actions)
    poll_id = entry["poll"]["id"]
    open_page, late = readers
    open_page.goto("/stories/storm")
    open_page.get_by_role("button", name="Vote: Reds").click()
    expect(share(open_page, poll_id, 0)).to_have_text("100%")
    closed = client.patch(f"/api/stories/storm/entries/{entry['id']}",
                          json={"poll": {"closed": True}}, headers=actions.headers())
    assert closed.status_code == 200
    # The reader with the page open sees it close, live.
    expect(open_page.locator(".poll-status")).to_have_text(
        "Poll closed. Final results: 1 vote.", timeout=LIVE)
    late.goto("/stories/storm")
    expect(late.locator(".poll-status")).to_have_text("Poll closed. Final results: 1 vote.")
    expect(late.locator(".poll-vote")).to_have_count(0)
    expect(late.locator(f"#poll-{poll_id} meter").first).to_have_attribute("value", "100")
    refused = late.evaluate("""async (id) => {
        const response = await fetch('/api/polls/' + id + '/votes', {method: 'POST',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({option: 1, voter: 'a-late-reader-token-0001'})});
        return [response.status, (await response.json()).error.message];
    }""", poll_id)
    assert refused == [409, "This poll has closed."]


def test_an_arabic_pages_shares_move_live_in_arabics_percent_format(readers, actions, client):
    actions.create_story(language="ar")
    poll_id = actions.post_entry(poll={"question": "من يفوز؟", "options": ["الأحمر", "الأزرق"]})[
        "poll"]["id"]
    watcher = readers[0]
    watcher.goto("/stories/storm")
    expect(share(watcher, poll_id, 1)).to_have_text("0\u200e%\u200e")
    watcher.wait_for_function("document.querySelector('#order-toggle') !== null")  # live.js runs
    answer = client.post(f"/api/polls/{poll_id}/votes",
                         json={"option": 1, "voter": "reader-token-0123456789abcdef"})
    assert answer.status_code == 201
    # Written by the page's script from the poll.updated frame, as the server writes it.
    expect(share(watcher, poll_id, 1)).to_have_text("100\u200e%\u200e", timeout=LIVE)
    bar = watcher.locator(f"#poll-{poll_id} .poll-option[data-option='1'] .poll-bar")
    expect(bar).to_have_text("100\u200e%\u200e")


# The poll's total after one more vote, as each language's page script writes it (the
# counts before it are in test_polls.py's COUNTS, which the server writes).
TOTAL_AFTER = {"en": "13,580", "ar": "13,580", "es": "13.580", "fr": "13\u202f580"}


@pytest.mark.parametrize("language", ["en", "ar", "es", "fr"])
def test_a_live_update_writes_counts_as_the_server_wrote_them(readers, actions, client, app,
                                                               language):
    actions.create_story(language=language)
    poll = {"question": "Who wins?", "options": ["Reds", "Blues", "A draw"]}
    poll_id = actions.post_entry(poll=poll)["poll"]["id"]
    set_tallies(app, poll_id, [1234, 12345, 0])
    watcher = readers[0]
    watcher.goto("/stories/storm")
    counts = watcher.locator(f"#poll-{poll_id} .poll-count")
    written = counts.all_text_contents()
    watcher.wait_for_function("document.querySelector('#order-toggle') !== null")  # live.js runs
    answer = client.post(f"/api/polls/{poll_id}/votes",
                         json={"option": 2, "voter": "reader-token-0123456789abcdef"})
    assert answer.status_code == 201
    # The page's script rewrites every count and the total from the poll.updated frame: the
    # counts that did not move read as the server wrote them, to the character (to_have_text
    # would take French's narrow no-break space for a space).
    expect(counts.nth(2)).not_to_have_text(written[2], timeout=LIVE)
    assert counts.all_text_contents()[:2] == written[:2] == list(COUNTS[language][:2])
    assert watcher.locator(f"#poll-{poll_id} .poll-total").text_content() == TOTAL_AFTER[language]
