"""Readers' questions in Chromium: a reader asks, the open desk queue shows it within a second,
and publishing it puts the quote on the reader's page live."""

from __future__ import annotations

import re

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect
from test_desk_browser import desk_as, new_page

pytestmark = browser_tests
__all__ = ["new_page"]  # the fixture

LIVE = 1000  # ms: a question reaches the open queue, and a published one the page, within this
SERVER = 5000  # ms: a round trip through the desk, with room for a slow machine
# Markup that would run if it were ever treated as HTML, an override that would flip the text.
HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> \u202eevil'
SHOWN = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> evil'


def test_a_question_reaches_the_open_queue_live_and_is_published_as_a_quote(
    actions, new_page
):
    actions.create_story(status="live", questions_open=True)
    desk = desk_as(new_page, actions, "desk@example.org")
    desk.goto("/admin/stories/storm/questions")
    expect(desk.locator("#question-empty")).to_be_visible()

    reader = new_page()
    reader.goto("/stories/storm")
    # The honeypot is hidden from people and from assistive technology alike.
    expect(reader.locator("#ask-website")).to_be_hidden()
    question = reader.get_by_label("Your question", exact=True)
    question.fill(HOSTILE)
    expect(reader.locator("#ask-count")).to_have_text(f"{len(HOSTILE)} of 1,000 characters")
    reader.get_by_label(re.compile("^Your name")).fill("Ann <b>Lee</b>")
    reader.get_by_role("button", name="Send question").click()
    result = reader.get_by_role("status").filter(has_text="Thank you")
    expect(result).to_be_visible(timeout=SERVER)
    expect(question).to_have_value("")

    # No reload: the queue's own long poll brings it in.
    shown = desk.locator(".question-text")
    expect(shown).to_have_text(SHOWN, timeout=LIVE)
    expect(desk.locator(".question-name")).to_have_text("Ann <b>Lee</b>")
    expect(desk.locator("#question-count")).to_have_text("1")

    desk.get_by_label("Your answer").fill("It reopens at noon.")
    desk.get_by_role("button", name="Publish with answer").click()
    expect(desk.locator("#question-empty")).to_be_visible(timeout=SERVER)

    quote = reader.locator("#entries figure blockquote")
    expect(quote).to_have_text(SHOWN, timeout=SERVER)
    expect(reader.locator("#entries figcaption")).to_have_text("Asked by Ann <b>Lee</b>")
    expect(reader.locator("#entries .entry").first).to_contain_text("It reopens at noon.")
    # Inert everywhere: nothing the reader wrote ran or became an element.
    for page in (reader, desk):
        assert page.evaluate("window.pwned") is None
        assert page.locator("#entries img, .question img").count() == 0


def test_a_refusal_is_read_out_in_the_form(app, actions, new_page):
    app.config["QUESTION_LIMIT"] = "1 per minute"
    actions.create_story(status="live", questions_open=True)
    reader = new_page()
    reader.goto("/stories/storm")
    reader.get_by_role("button", name="Send question").click()
    expect(reader.locator("#ask-result")).to_have_text("Write your question first.")
    reader.get_by_label("Your question", exact=True).fill("First")
    reader.get_by_role("button", name="Send question").click()
    expect(reader.locator("#ask-result")).to_contain_text("Thank you", timeout=SERVER)
    reader.get_by_label("Your question", exact=True).fill("Second")
    reader.get_by_role("button", name="Send question").click()
    expect(reader.locator("#ask-result")).to_contain_text("Too many questions", timeout=SERVER)
    # The refused question is kept, to send later.
    expect(reader.get_by_label("Your question", exact=True)).to_have_value("Second")


def test_the_form_is_there_from_the_first_paint_and_hidden_without_scripts(actions, new_page):
    actions.create_story(status="live", questions_open=True)
    reader = new_page(java_script_enabled=False)
    reader.goto("/stories/storm")
    expect(reader.locator("#ask")).to_be_hidden()  # it could not send anything
    scripted = new_page()
    scripted.goto("/stories/storm", wait_until="commit")
    # Visible before any script ran: starting the script moves nothing on the page.
    expect(scripted.locator("#ask")).to_be_visible()


@pytest.mark.parametrize("language", ["en", "ar", "es", "fr"])
def test_the_character_count_reads_as_the_server_wrote_it(actions, new_page, language):
    actions.create_story(status="live", questions_open=True, language=language)
    reader = new_page()
    reader.goto("/stories/storm")
    count = reader.locator("#ask-count")
    written = count.text_content()  # the server's; the script writes only on input
    question = reader.locator("#ask-text")
    question.fill("a")
    expect(count).not_to_have_text(written)
    one = count.text_content()
    question.fill("")
    expect(count).not_to_have_text(one)
    # The script's "0 of 1,000" (its numbers in the language's format) is the server's, to the
    # character: to_have_text would take French's narrow no-break space for a space.
    assert count.text_content() == written
