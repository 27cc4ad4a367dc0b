"""The desk's script in Chromium: compose to readers, review, schedules, offline, conflicts."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from browser_support import browser_tests
from PIL import Image
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from servers import Gunicorn
from sqlalchemy import func, select

from liveblog import publishing
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Role, Story, User
from liveblog.publishing.scheduler import Scheduler

LIVE = 1000  # ms: a published change must reach an open reader page within a second
SERVER = 5000  # ms: a round trip through the desk, with room for a slow machine
SCHEDULE = 10_000  # ms: a scheduled entry a few seconds ahead, published by the scheduler
PASSWORD = "correct horse battery"
OFFLINE = "You are offline. Your text is kept and will be sent when the connection returns."
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

pytestmark = browser_tests


@pytest.fixture
def new_page(browser, app, live_server):
    """Open pages, each in its own context (its own cookies), closed after the test."""
    # Desk long polls of 2 s: none outlives its test by more than that.
    app.config["DESK_WATCH_SECONDS"] = 2
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=live_server, color_scheme="light", **options)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        # Each page leaves its document first (its sockets, polls and beacons end as a reader's
        # would); closing a context whose page still polled the desk once hung for 5 minutes.
        for page in context.pages:
            try:
                page.goto("about:blank", timeout=5000)
            except PlaywrightError:
                pass  # a page that cannot leave is closed with its context all the same
        context.close()


@pytest.fixture
def scheduler(app):
    """The server's scheduler thread, looking for due entries five times a second."""
    running = Scheduler(app, interval=0.2).start()
    yield running
    running.stop()


def log_in(page, email: str):
    """Log in through the real login page."""
    page.goto("/admin/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    return page


def desk_as(new_page, actions, email: str, role: Role = Role.EDITOR, name: str = "Dana Desk"):
    """A page logged in as a new user with this role."""
    actions.create_user(email, role, name=name)
    return log_in(new_page(), email)


def open_desk(page, slug: str):
    """Open a story desk and wait for the editor to replace the textarea."""
    page.goto(f"/admin/stories/{slug}")
    expect(page.locator("#compose .ql-editor")).to_be_visible()
    return page


def type_body(page, text: str):
    """Type into the rich editor as a journalist would."""
    page.locator("#compose .ql-editor").click()
    page.keyboard.type(text)


def count_entries(app, **filters) -> int:
    """How many entries the database holds with these column values."""
    with app.app_context():
        return db.session.scalar(select(func.count(Entry.id)).filter_by(**filters))


def write_png(path: Path) -> Path:
    """A small real PNG for the upload."""
    Image.new("RGB", (640, 400), (200, 90, 40)).save(path, "PNG")
    return path


def test_composed_entry_reaches_readers_live_then_is_corrected_and_another_deleted(
    app, actions, new_page, tmp_path
):
    editor = desk_as(new_page, actions, "dana@newsroom.example")
    editor.get_by_role("link", name="New story").click()
    editor.get_by_label("Title", exact=True).fill("Harbour fire")
    editor.get_by_label("Address (slug)").fill("harbour-fire")
    editor.get_by_label("Label format").fill("%H:%M %Z")
    expect(editor.locator("#label-preview")).to_have_text(re.compile(r"^\d\d:\d\d GMT$"))
    editor.get_by_label("Time zone").fill("Mars/Olympus")
    expect(editor.locator("#label-preview")).to_have_text("Unknown zone or format.")
    editor.get_by_label("Time zone").fill("GMT")
    editor.get_by_label("Label format").fill("UPDATE %H%M %Z")
    editor.get_by_role("button", name="Create story").click()
    expect(editor).to_have_url(re.compile(r"/admin/stories/harbour-fire$"))
    wrong = actions.post_entry("harbour-fire", body="<p>A caption we got wrong.</p>")
    open_desk(editor, "harbour-fire")
    reader = new_page()
    reader.goto("/stories/harbour-fire")
    reader.evaluate("window.__marker = 1")

    editor.get_by_label("Headline").fill("Fire contained")
    type_body(editor, "Crews ")
    editor.keyboard.press("Control+B")
    editor.keyboard.type("have stopped the spread")
    editor.keyboard.press("Control+B")
    editor.keyboard.type(", says the harbour master")
    for _ in range(len("harbour master")):
        editor.keyboard.press("Shift+ArrowLeft")
    editor.locator(".ql-toolbar .ql-link").click()
    link_input = editor.locator(".ql-tooltip input[type=text]")
    link_input.fill("https://example.org/harbour")
    link_input.press("Enter")
    editor.locator("#compose .ql-editor").press("End")
    editor.keyboard.press("Enter")
    editor.locator(".ql-toolbar .ql-blockquote").click()
    editor.keyboard.type("We expect to reopen the quay tomorrow.")
    editor.keyboard.press("Enter")
    editor.locator(".ql-toolbar .ql-blockquote").click()
    editor.keyboard.type("https://twitter.com/harbourmaster/status/1790000000000000000")
    # A lone tweet address previews as the card readers will get, before publishing.
    expect(editor.locator("#preview-body .embed-tweet")).to_be_visible(timeout=SERVER)

    editor.locator("#picture-file").set_input_files(write_png(tmp_path / "quay.png"))
    row = editor.locator(".picture-row")
    row.get_by_label("Alt text").fill("Smoke over the quay")
    row.get_by_label("Caption").fill("The quay at noon")
    row.get_by_role("button", name="Insert").click()
    expect(editor.locator("#kept-pictures li")).to_have_text(re.compile("Smoke over the quay"))

    editor.locator("#compose .ql-editor").press("Control+Enter")
    entry = reader.locator("#entries > .entry").first
    expect(entry.locator(".entry-body strong")).to_have_text(
        "have stopped the spread", timeout=LIVE
    )
    expect(entry.locator('a[href="https://example.org/harbour"]')).to_have_text("harbour master")
    expect(entry.locator(".entry-body > blockquote:not(.embed)")).to_have_text(
        "We expect to reopen the quay tomorrow."
    )
    expect(entry.locator(".embed-tweet")).to_be_visible()
    expect(entry.locator('img[alt="Smoke over the quay"]')).to_be_visible()
    expect(entry.locator(".entry-headline")).to_have_text("Fire contained")
    expect(editor.locator("#compose-status")).to_have_text("Published.")
    expect(editor.locator("#compose .ql-editor")).to_have_text("")
    entry_id = entry.get_attribute("data-entry-id")
    expect(editor.locator(f"#desk-entry-{entry_id}")).to_be_visible(timeout=LIVE)
    expect(editor.locator("#published-count")).to_have_text("2")

    editor.locator(f"#desk-entry-{entry_id}").get_by_role("link", name="Edit").click()
    expect(editor.locator("#compose .ql-editor")).to_contain_text("have stopped the spread")
    editor.locator("#compose .ql-editor").press("Control+Home")
    editor.keyboard.type("Update: ")
    editor.get_by_label("Correction note").fill("An earlier version named the wrong quay.")
    editor.locator("#compose .ql-editor").press("Control+Enter")
    expect(editor.locator("#compose-status")).to_contain_text("Saved.", timeout=SERVER)
    expect(entry.locator(".entry-body")).to_contain_text("Update: Crews", timeout=LIVE)
    expect(entry.locator(".entry-correction")).to_contain_text("Corrected at")
    expect(entry.locator('img[alt="Smoke over the quay"]')).to_be_visible()  # kept on edit
    expect(entry.locator(".embed-tweet")).to_be_visible()

    open_desk(editor, "harbour-fire")
    questions = []
    editor.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    editor.locator(f"#desk-entry-{wrong['id']}").get_by_role("link", name="Delete").click()
    expect(reader.locator(f"#entry-{wrong['id']}")).to_have_count(0, timeout=LIVE)
    expect(editor.locator(f"#desk-entry-{wrong['id']}")).to_have_count(0)
    assert questions == ["Delete this entry? Readers will see it disappear."]
    assert reader.evaluate("window.__marker") == 1  # all of it arrived without a reload


def test_contributors_entry_is_hidden_until_an_editor_approves_it(app, actions, new_page):
    actions.create_story(slug="vote", title="Count night")
    contributor = desk_as(new_page, actions, "cory@newsroom.example", Role.CONTRIBUTOR, "Cory")
    reader = new_page()
    reader.goto("/stories/vote")
    open_desk(contributor, "vote")
    type_body(contributor, "Turnout in the north ward is 61%.")
    contributor.get_by_role("button", name="Submit for approval").click()
    expect(contributor.locator("#compose-status")).to_have_text(
        "Sent to an editor for approval.", timeout=SERVER
    )
    assert count_entries(app, status=EntryStatus.PENDING) == 1
    expect(reader.locator("#entries > .entry")).to_have_count(0)

    editor = desk_as(new_page, actions, "edna@newsroom.example", name="Edna")
    open_desk(editor, "vote")
    held = editor.locator("#held-pending .held-entry")
    expect(held).to_contain_text("Turnout in the north ward is 61%.")
    expect(reader.locator("#entries > .entry")).to_have_count(0)
    held.get_by_role("button", name="Approve and publish").click()
    expect(reader.locator("#entries > .entry")).to_contain_text(
        "Turnout in the north ward is 61%.", timeout=LIVE
    )
    expect(editor.locator("#held-pending")).to_have_count(0, timeout=SERVER)
    published = editor.locator("#entries > .desk-entry")
    expect(published).to_contain_text("Turnout in the north ward")
    published.get_by_role("button", name="Mark as key").click()
    expect(published.get_by_role("button", name="Unmark key")).to_be_visible(timeout=SERVER)
    expect(reader.locator("#entries > .entry--key")).to_have_count(1, timeout=LIVE)


def test_scheduled_entry_appears_for_readers_at_its_time(app, actions, new_page, scheduler):
    actions.create_story(slug="launch", title="Launch day", timezone="GMT")
    editor = open_desk(desk_as(new_page, actions, "sam@newsroom.example"), "launch")
    reader = new_page()
    reader.goto("/stories/launch")
    when = (datetime.now(UTC) + timedelta(seconds=4)).replace(microsecond=0)
    type_body(editor, "Doors open now.")
    editor.locator("#scheduled_for").fill(when.strftime("%Y-%m-%dT%H:%M:%S"))
    editor.get_by_role("button", name="Schedule").click()
    expect(editor.locator("#compose-status")).to_have_text("Scheduled.", timeout=SERVER)
    expect(editor.locator("#held-scheduled .held-entry")).to_contain_text("Doors open now.")
    expect(reader.locator("#entries > .entry")).to_have_count(0)

    expect(reader.locator("#entries > .entry")).to_contain_text("Doors open now.", timeout=SCHEDULE)
    assert datetime.now(UTC) >= when  # not a moment early
    expect(editor.locator("#held-scheduled")).to_have_count(0, timeout=LIVE)
    expect(editor.locator("#entries > .desk-entry")).to_contain_text("Doors open now.")


def test_double_click_posts_once_and_offline_text_is_sent_once_back_online(app, actions, new_page):
    actions.create_story(slug="storm")
    editor = open_desk(desk_as(new_page, actions, "olu@newsroom.example"), "storm")
    editor.get_by_label("Headline").fill("Travel")
    editor.locator("#publish").click()  # nothing written yet: refused, and said where
    expect(editor.locator("#compose-status")).to_have_text("Some fields are not valid.")
    expect(editor.locator("#body-hint .js-field-error")).to_have_text("must not be empty")
    expect(editor.get_by_label("Headline")).to_have_value("Travel")
    posts = []
    editor.on(
        "requestfinished",
        lambda request: (
            posts.append(request)
            if request.method == "POST" and request.url.endswith("/entries")
            else None
        ),
    )
    type_body(editor, "Ferries cancelled.")
    editor.locator("#publish").dblclick()
    expect(editor.locator("#compose-status")).to_have_text("Published.", timeout=SERVER)
    assert count_entries(app) == 1 and len(posts) == 1

    key = editor.locator('[name="idempotency_key"]').input_value()
    type_body(editor, "Bridge closed to high-sided vehicles.")
    editor.context.set_offline(True)
    editor.locator("#compose .ql-editor").press("Control+Enter")
    status = editor.locator("#compose-status")
    expect(status).to_have_text(OFFLINE)
    expect(status).to_have_class(re.compile(r"\boffline\b"))
    expect(editor.locator("#compose .ql-editor")).to_have_text(
        "Bridge closed to high-sided vehicles."
    )
    assert editor.locator('[name="idempotency_key"]').input_value() == key
    assert count_entries(app) == 1

    editor.context.set_offline(False)
    expect(status).to_have_text("Published.", timeout=SERVER)
    expect(editor.locator("#entries > .desk-entry")).to_have_count(2, timeout=LIVE)
    assert count_entries(app) == 2 and len(posts) == 2
    assert f'name="idempotency_key"\r\n\r\n{key}' in posts[1].post_data
    expect(editor.locator("#compose .ql-editor")).to_have_text("")


def test_unsent_text_is_restored_after_a_reload_and_can_be_discarded(app, actions, new_page):
    actions.create_story(slug="storm")
    editor = open_desk(desk_as(new_page, actions, "ria@newsroom.example"), "storm")
    editor.get_by_label("Headline").fill("Power cuts")
    type_body(editor, "About 4,000 homes are without power.")
    editor.wait_for_function(
        "() => (localStorage.getItem('liveblog:unsent:storm') || '').includes('4,000 homes')",
        timeout=SERVER,
    )
    editor.reload()
    expect(editor.locator("#restore-note")).to_contain_text("Restored your unsent text")
    expect(editor.locator("#compose .ql-editor")).to_have_text(
        "About 4,000 homes are without power."
    )
    expect(editor.get_by_label("Headline")).to_have_value("Power cuts")

    editor.get_by_role("button", name="Discard it").click()
    expect(editor.locator("#compose .ql-editor")).to_have_text("")
    expect(editor.get_by_label("Headline")).to_have_value("")
    editor.reload()
    expect(editor.locator("#compose .ql-editor")).to_be_visible()
    expect(editor.locator("#restore-note")).to_have_count(0)


def test_a_second_editor_is_announced_at_once_and_a_stale_save_offers_three_choices(
    app, actions, new_page
):
    actions.create_story(slug="storm")
    entry = actions.post_entry(body="Two roads closed.\n\nMore soon.")  # plain text, as API may
    edit_path = f"/admin/stories/storm/entries/{entry['id']}/edit"
    ann = desk_as(new_page, actions, "ann@newsroom.example", name="Ann")
    ben = desk_as(new_page, actions, "ben@newsroom.example", name="Ben")
    ann.goto(edit_path)
    expect(ann.locator("#compose .ql-editor p")).to_have_text(["Two roads closed.", "More soon."])
    ben.goto(edit_path)
    # Pushed, not found at the next 10-second refresh.
    expect(ann.locator("#presence")).to_have_text("Also editing: Ben", timeout=LIVE)
    expect(ben.locator("#presence")).to_have_text("Also editing: Ann", timeout=SERVER)

    ben.locator("#compose .ql-editor").press("Control+End")
    ben.keyboard.type(" Police advise avoiding the A30.")
    ben.locator("#compose .ql-editor").press("Control+Enter")
    expect(ben.locator("#compose-status")).to_contain_text("Saved.", timeout=SERVER)
    expect(ann.locator("#saved-elsewhere")).to_contain_text("Ben saved version 2", timeout=LIVE)
    expect(ben.locator("#saved-elsewhere")).to_be_hidden()
    expect(ben.locator("#entry-version")).to_have_text("2")

    # A stale save: both versions formatted, the heading brought up to date, nothing replaced.
    ann.locator("#compose .ql-editor").press("Control+End")
    ann.keyboard.type(" Diversions are signed.")
    ann.locator("#compose .ql-editor").press("Control+Enter")
    conflict = ann.locator("#conflict-js")
    expect(conflict).to_be_visible(timeout=SERVER)
    expect(conflict.locator(".conflict-theirs p")).to_have_text(
        ["Two roads closed.", "More soon. Police advise avoiding the A30."])
    expect(conflict.locator(".conflict-yours p")).to_have_text(
        ["Two roads closed.", "More soon. Diversions are signed."])
    expect(ann.locator("#entry-version")).to_have_text("2")
    expect(ann.locator("#version")).to_have_value("1")  # still based on what Ann saw
    mine = "More soon. Diversions are signed."
    expect(ann.locator("#compose .ql-editor p").last).to_have_text(mine)
    conflict.evaluate("box => { box.dataset.shown = 'before'; }")
    with ann.expect_response(lambda r: r.url.endswith("/edit") and r.request.method == "POST",
                             timeout=SERVER) as answer:
        ann.locator("#compose .ql-editor").press("Control+Enter")  # no choice made
    assert answer.value.status == 412  # refused again, and the choices offered afresh
    expect(ann.locator("#conflict-js:not([data-shown])")).to_be_visible(timeout=SERVER)
    with app.app_context():
        assert "Diversions" not in db.session.get(Entry, entry["id"]).body_html

    # "Edit a merge": both texts in the editor, based on Ben's version, saved as a third.
    conflict.get_by_role("button", name="Edit a merge").click()
    expect(conflict).to_have_count(0)
    expect(ann.locator("#compose .ql-editor p")).to_have_text(
        ["Two roads closed.", "More soon. Police advise avoiding the A30.", mine])
    expect(ann.locator("#version")).to_have_value("2")
    ann.locator("#compose .ql-editor p").nth(1).click()
    ann.keyboard.press("End")
    ann.keyboard.type(" Diversions are signed.")
    ann.locator("#compose .ql-editor p").last.click()
    ann.keyboard.press("End")
    for _ in range(len(mine)):
        ann.keyboard.press("Backspace")
    ann.keyboard.press("Backspace")  # and the empty paragraph
    ann.locator("#compose .ql-editor").press("Control+Enter")
    expect(ann.locator("#compose-status")).to_contain_text("Saved.", timeout=SERVER)
    expect(ann.locator("#entry-version")).to_have_text("3")
    with app.app_context():
        saved = db.session.get(Entry, entry["id"])
        assert saved.version == 3
        assert "Police advise avoiding the A30. Diversions are signed." in saved.body_html

    # "Keep theirs": Ben's newer text replaces Ann's unsaved one in the form; nothing is saved.
    expect(ben.locator("#saved-elsewhere")).to_contain_text("Ann saved version 3", timeout=LIVE)
    ben.reload()
    ben.locator("#compose .ql-editor").press("Control+Home")
    ben.keyboard.type("Update: ")
    ben.locator("#compose .ql-editor").press("Control+Enter")
    expect(ben.locator("#compose-status")).to_contain_text("Saved.", timeout=SERVER)
    ann.locator("#compose .ql-editor").press("Control+End")
    ann.keyboard.type(" Buses too.")
    ann.locator("#compose .ql-editor").press("Control+Enter")
    expect(conflict).to_be_visible(timeout=SERVER)
    conflict.get_by_role("button", name="Keep theirs").click()
    expect(ann.locator("#compose .ql-editor p").first).to_have_text("Update: Two roads closed.")
    expect(ann.locator("#compose .ql-editor")).not_to_contain_text("Buses too.")
    expect(ann.locator("#version")).to_have_value("4")
    expect(ann.locator("#entry-version")).to_have_text("4")

    # "Use mine": saved against Ben's version, on purpose.
    ben.reload()
    ben.locator("#compose .ql-editor").press("Control+End")
    ben.keyboard.type(" Trains run.")
    ben.locator("#compose .ql-editor").press("Control+Enter")
    expect(ben.locator("#compose-status")).to_contain_text("Saved.", timeout=SERVER)
    ann.locator("#compose .ql-editor").press("Control+End")
    ann.keyboard.type(" Ferries run.")
    ann.locator("#compose .ql-editor").press("Control+Enter")
    expect(conflict).to_be_visible(timeout=SERVER)
    conflict.get_by_role("button", name="Use mine").click()
    expect(ann.locator("#compose-status")).to_contain_text("Saved.", timeout=SERVER)
    expect(ann.locator("#entry-version")).to_have_text("6")
    with app.app_context():
        saved = db.session.get(Entry, entry["id"])
        assert saved.version == 6
        assert "Ferries run." in saved.body_html and "Trains run." not in saved.body_html


def test_a_contributors_submission_appears_on_an_open_editors_desk_within_a_second(
    app, actions, new_page
):
    actions.create_story(slug="vote", title="Count night")
    editor = open_desk(desk_as(new_page, actions, "edna@newsroom.example", name="Edna"), "vote")
    editor.evaluate("window.__marker = 1")
    contributor = open_desk(
        desk_as(new_page, actions, "cory@newsroom.example", Role.CONTRIBUTOR, "Cory"), "vote")
    for turnout in ("61%", "58%"):
        type_body(contributor, f"Turnout in the north ward is {turnout}.")
        contributor.get_by_role("button", name="Submit for approval").click()
        expect(contributor.locator("#compose-status")).to_have_text(
            "Sent to an editor for approval.", timeout=SERVER)
        expect(editor.locator("#held-pending .held-entry").first).to_contain_text(
            f"Turnout in the north ward is {turnout}.", timeout=LIVE)
    expect(editor.locator("#held-pending h2")).to_have_text("Waiting for approval (2)")
    assert editor.evaluate("window.__marker") == 1  # no reload


def test_ending_a_story_asks_first_and_an_ended_desk_offers_reopen(app, actions, new_page):
    actions.create_story(slug="vote", title="Count night")
    editor = open_desk(desk_as(new_page, actions, "edna@newsroom.example"), "vote")
    colleague = open_desk(desk_as(new_page, actions, "carl@newsroom.example"), "vote")
    editor.get_by_role("link", name="End story…").click()
    expect(editor.get_by_role("heading", name="End “Count night”?")).to_be_visible()
    editor.get_by_role("link", name="Keep it live").click()
    expect(editor.locator("#desk-status")).to_have_text("live")
    editor.get_by_role("link", name="End story…").click()
    editor.get_by_role("button", name="End story", exact=True).click()
    expect(editor.locator("#desk-status")).to_have_text("ended")
    expect(editor.get_by_role("heading", name="This story has ended")).to_be_visible()
    expect(editor.locator("#compose")).to_have_count(0)
    # A colleague's open desk follows (its composer could only answer 409 now).
    expect(colleague.locator("#compose")).to_have_count(0, timeout=SERVER)
    expect(colleague.locator("#ended-note")).to_be_visible()
    editor.locator("#ended-note").get_by_role("button", name="Reopen").click()
    expect(editor.locator("#desk-status")).to_have_text("live")
    expect(editor.locator("#compose .ql-editor")).to_be_visible()
    expect(colleague.locator("#compose .ql-editor")).to_be_visible(timeout=SERVER)


def test_pasted_x_embed_code_becomes_the_posts_address_on_its_own_line(actions, new_page):
    actions.create_story(slug="storm")
    editor = open_desk(desk_as(new_page, actions, "max@newsroom.example"), "storm")
    type_body(editor, "The mayor said:")
    code = (
        '<blockquote class="twitter-tweet"><p lang="en">Stay at home tonight.</p>'
        "&mdash; Mayor (@mayor) "
        '<a href="https://twitter.com/mayor/status/1790000000000000000">May 13, 2024</a>'
        '</blockquote> <script async src="https://platform.twitter.com/widgets.js"></script>'
    )
    editor.locator("#compose .ql-editor").evaluate(
        """(editor, code) => {
            const data = new DataTransfer();
            data.setData("text/plain", code);
            editor.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true,
                                                               cancelable: true}));
        }""",
        code,
    )
    expect(editor.locator("#compose .ql-editor p")).to_contain_text(
        ["The mayor said:", "https://twitter.com/mayor/status/1790000000000000000"]
    )
    # What the code said of the post is kept in the post's fields, and the card carries it.
    expect(editor.get_by_label("Post text")).to_have_value("Stay at home tonight.")
    expect(editor.get_by_label("Author", exact=True)).to_have_value("Mayor")
    card = editor.locator("#preview-body .embed-tweet")
    expect(card).to_be_visible(timeout=SERVER)
    expect(card.locator(".embed-tweet-text")).to_have_text("Stay at home tonight.")
    expect(card.locator(".embed-tweet-name")).to_have_text("Mayor")


def test_a_post_pasted_as_a_link_alone_gets_its_text_and_author_from_the_desk(
    app, actions, new_page
):
    actions.create_story(slug="storm")
    editor = open_desk(desk_as(new_page, actions, "max@newsroom.example"), "storm")
    reader = new_page()
    reader.goto("/stories/storm")
    link = "https://x.com/metoffice/status/1790000000000000000"
    type_body(editor, "The forecast:")
    editor.keyboard.press("Enter")
    editor.keyboard.type(link)
    fields = editor.locator(".post-details")
    expect(fields).to_have_count(1)
    expect(fields.locator("legend")).to_have_text("The post by @metoffice on X")
    editor.get_by_label("Post text").fill("Amber warning for wind.\n\nStay away from the coast.")
    editor.get_by_label("Author", exact=True).fill("Met Office")
    editor.locator("#compose .ql-editor").press("Control+Enter")
    card = reader.locator("#entries > .entry .embed-tweet")
    expect(card.locator(".embed-tweet-text p")).to_have_text(
        ["Amber warning for wind.", "Stay away from the coast."], timeout=LIVE)
    expect(card.locator(".embed-tweet-name")).to_have_text("Met Office")
    expect(card.locator(".embed-tweet-handle")).to_have_text("@metoffice")
    expect(editor.locator(".post-details")).to_have_count(0)  # the composer starts afresh

    # The edit page gives the post back as its address, with its text and author in the fields.
    entry_id = reader.locator("#entries > .entry").first.get_attribute("data-entry-id")
    editor.goto(f"/admin/stories/storm/entries/{entry_id}/edit")
    expect(editor.locator("#compose .ql-editor p")).to_have_text(["The forecast:", link])
    expect(editor.get_by_label("Post text")).to_have_value(
        "Amber warning for wind.\n\nStay away from the coast.")
    editor.get_by_label("Author", exact=True).fill("Met Office UK")
    editor.locator("#compose .ql-editor").press("Control+Enter")
    expect(card.locator(".embed-tweet-name")).to_have_text("Met Office UK", timeout=LIVE)
    expect(card.locator(".embed-tweet-text p")).to_have_count(2)


def test_pictures_need_alt_text_and_refused_files_say_why(app, actions, new_page, tmp_path):
    actions.create_story(slug="storm")
    editor = open_desk(desk_as(new_page, actions, "pat@newsroom.example"), "storm")
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture at all")
    editor.locator("#picture-file").set_input_files(fake)
    row = editor.locator(".picture-row")
    row.get_by_role("button", name="Insert").click()
    expect(row.locator(".picture-status")).to_have_text(
        "Describe the picture in its alt text first."
    )
    expect(row.get_by_label("Alt text")).to_be_focused()
    row.get_by_label("Alt text").fill("A page of notes")
    row.get_by_role("button", name="Insert").click()
    expect(row.locator(".picture-status")).to_contain_text("not a picture", timeout=SERVER)
    expect(row.locator(".picture-status")).to_have_class(re.compile(r"\berror\b"))
    expect(editor.locator("#kept-pictures li")).to_have_count(0)


def test_without_the_editor_the_plain_textarea_still_posts(app, actions, new_page):
    actions.create_story(slug="storm")
    editor = desk_as(new_page, actions, "lee@newsroom.example")
    editor.route("**/vendor/quill/quill.js?*", lambda route: route.abort())
    editor.goto("/admin/stories/storm")
    expect(editor.locator("#preview-button")).to_be_visible()  # desk.js itself ran
    body = editor.locator("textarea#body")
    expect(body).to_be_visible()
    expect(editor.locator(".ql-editor")).to_have_count(0)
    body.fill("Roads have reopened.\n\nhttps://youtu.be/dQw4w9WgXcQ")
    expect(editor.locator("#preview-body .embed-video")).to_be_visible(timeout=SERVER)
    body.press("Control+Enter")
    expect(editor.locator("#compose-status")).to_have_text("Published.", timeout=SERVER)
    expect(body).to_have_value("")
    assert count_entries(app, status=EntryStatus.PUBLISHED) == 1


def test_desk_fits_a_laptop_and_a_phone(app, actions, new_page):
    actions.create_story(slug="storm", title="Storm watch: the coast braces for Storm Imogen")
    actions.post_entry(body="<p>The Met Office has issued an amber warning for wind.</p>")
    actions.post_entry(
        body="<p>Ferries to the islands are cancelled until Thursday.</p>",
        headline="Ferries cancelled",
        pinned=True,
    )
    actions.post_entry(body="<p>https://twitter.com/metoffice/status/1790000000000000000</p>")
    actions.create_user("kit@newsroom.example", Role.EDITOR, name="Kit Marlow")
    login = new_page(viewport={"width": 390, "height": 844})
    login.goto("/admin/login")
    shots = os.environ.get("LIVEBLOG_SCREENSHOTS") == "1"  # only when asked: PNGs vary per run
    if shots:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        login.screenshot(path=SCREENSHOTS / "login-phone.png", animations="disabled")
    for name, width, height in (("laptop", 1366, 900), ("phone", 390, 844)):
        page = log_in(new_page(viewport={"width": width, "height": height}), "kit@newsroom.example")
        open_desk(page, "storm")
        expect(page.locator("#entries > .desk-entry")).to_have_count(3)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the desk scrolls sideways by {overflow}px at {width}px"
        if shots:
            page.screenshot(path=SCREENSHOTS / f"desk-{name}.png", animations="disabled")


@pytest.mark.browser
def test_a_cover_picture_is_uploaded_in_the_story_settings(actions, new_page, tmp_path):
    """The cover needs its alt text first; once uploaded and saved, readers see it."""
    actions.create_story(slug="coverage", title="Coverage")
    page = desk_as(new_page, actions, "cover@example.org")
    page.goto("/admin/stories/coverage/settings")
    picture = write_png(tmp_path / "cover.png")
    page.set_input_files("#cover-file", str(picture))
    expect(page.locator("#cover-upload-status")).to_contain_text("alt text first")
    page.get_by_label("Cover alt text").fill("Orange sky over the pier")
    page.get_by_label("Cover caption").fill("The pier at dawn")
    page.set_input_files("#cover-file", str(picture))
    expect(page.locator("#cover_url")).to_have_value(re.compile(r"^/media/\d+/\d+\.jpg$"))
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-success")).to_contain_text("Story settings saved")
    reader = new_page()
    reader.goto("/stories/coverage")
    cover = reader.locator(".story-cover img")
    expect(cover).to_have_attribute("alt", "Orange sky over the pier")
    expect(reader.locator(".story-cover figcaption")).to_contain_text("The pier at dawn")
    # Loaded from one of the picture's stored widths (the browser picks which, WebP first).
    loaded = cover.evaluate("img => img.complete && img.naturalWidth > 0 && img.currentSrc")
    assert re.search(r"/media/\d+/(480|640)\.webp$", loaded), loaded


@pytest.fixture
def gunicorn_base(app, database_url, tmp_path):
    """The app's database served by gunicorn, as in production.

    Werkzeug's test server writes an HTTP response after a server-side close, which Chromium
    takes for a broken stream (1006) instead of the close code the server sent.
    """
    env = {**os.environ, "DATABASE_URL": database_url}
    with Gunicorn(env, str(tmp_path / "gunicorn.log")) as server:
        yield server.base


@pytest.mark.slow
@pytest.mark.parametrize("ending", ["draft", "archived"])
def test_the_desk_stops_reconnecting_to_a_draft_or_archived_story(actions, browser,
                                                                  gunicorn_base, ending):
    # The server closes a draft's socket with 4404 and an archived one's with 4410; the desk
    # must stop there, as the reader page does, instead of asking again every 30 s forever.
    if ending == "draft":
        actions.create_story(status="draft")
    else:
        actions.create_story()
        actions.post_entry(body="<p>Last word</p>")
        ended = actions.client.patch("/api/stories/storm", json={"status": "ended",
                                                                 "archived": True},
                                     headers=actions.headers())
        assert ended.status_code == 200
    actions.create_user("stop@example.org", Role.EDITOR)
    context = browser.new_context(base_url=gunicorn_base)
    try:
        editor = log_in(context.new_page(), "stop@example.org")
        handshakes = []
        editor.on("websocket", lambda socket: handshakes.append(socket.url))
        editor.goto("/admin/stories/storm")  # an ended story's desk has no composer to wait for
        note = editor.locator("#live-note")
        expect(note).to_be_visible(timeout=SERVER)
        expect(note).to_contain_text("draft" if ending == "draft" else "archived")
        # The first retry would come within a second (backoff ceiling 500 ms × 2): give it 1.5 s.
        editor.wait_for_timeout(1500)
        assert len(handshakes) == 1, handshakes
    finally:
        context.close()


@pytest.mark.slow
def test_a_submission_written_by_another_process_reaches_a_desk_served_by_gunicorn(
    app, actions, browser, gunicorn_base
):
    # The desk's long poll is served by a gevent worker; the entry is committed by this test's
    # own process, which nothing in gunicorn hears of: only the database can tell the desk.
    actions.create_story(slug="vote", title="Count night")
    contributor_id = actions.create_user("cory@newsroom.example", Role.CONTRIBUTOR, "Cory")[0]
    actions.create_user("edna@newsroom.example", Role.EDITOR, name="Edna")
    context = browser.new_context(base_url=gunicorn_base)
    try:
        # The page holds the token of what it shows: a change before or during a poll is news.
        editor = open_desk(log_in(context.new_page(), "edna@newsroom.example"), "vote")
        with app.app_context():
            story_id = db.session.scalar(select(Story.id))
            publishing.create_entry(story_id, db.session.get(User, contributor_id),
                                    {"body": "<p>Turnout is 61%.</p>"}, None,
                                    status=EntryStatus.PENDING)
        expect(editor.locator("#held-pending .held-entry")).to_contain_text(
            "Turnout is 61%.", timeout=LIVE)
    finally:
        context.close()
