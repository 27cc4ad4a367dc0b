"""An Arabic desk in Chromium: right to left, and the scripts speak Arabic too."""

from __future__ import annotations

from browser_support import browser_tests
from playwright.sync_api import expect
from test_desk_browser import log_in, new_page, open_desk, type_body

from liveblog.extensions import db
from liveblog.models import Role, User

pytestmark = browser_tests
__all__ = ["new_page"]  # the fixture, shared with the desk's other browser tests

SERVER = 5000  # ms: a round trip through the desk, with room for a slow machine


def test_an_arabic_editor_gets_a_right_to_left_desk_whose_scripts_speak_arabic(app, actions,
                                                                               new_page):
    actions.create_story()
    actions.post_entry(body="<p>First</p>")
    user_id = actions.create_user("layla@example.org", Role.EDITOR, name="Layla")[0]
    with app.app_context():
        db.session.get(User, user_id).language = "ar"
        db.session.commit()
    page = open_desk(log_in(new_page(), "layla@example.org"), "storm")
    assert page.evaluate("[document.documentElement.lang, document.dir]") == ["ar", "rtl"]
    # The editor's placeholder and a sent entry's status come from the page's words.
    expect(page.locator("#compose .ql-editor")).to_have_attribute("data-placeholder",
                                                                   "اكتب التحديث…")
    # Quill's own words: its buttons' names, the heading picker, the link tooltip.
    expect(page.locator("#compose .ql-toolbar .ql-bold")).to_have_attribute("aria-label", "غامق")
    expect(page.locator("#compose .ql-header .ql-picker-label")).to_have_attribute("data-label",
                                                                                   "عادي")
    tooltip = page.evaluate("""getComputedStyle(document.querySelector('#compose .ql-tooltip'),
                               '::before').content""")
    assert tooltip == '"زيارة الرابط:"'
    type_body(page, "تحديث عاجل")
    page.locator("#publish").click()
    expect(page.locator("#compose-status")).to_have_text("نُشر.", timeout=SERVER)
    # The delete question is the script's own sentence.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.locator(".desk-entry a.js-delete").first.click()
    expect(page.locator(".desk-entry")).to_have_count(2)
    assert asked == ["هل تحذف هذا المنشور؟ سيراه القراء يختفي."]
    # Mirrored: the composer column starts at the right edge of the page.
    compose = page.locator("section.compose").bounding_box()
    lists = page.locator("section.desk-lists").bounding_box()
    assert compose["x"] > lists["x"]
