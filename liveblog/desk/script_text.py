"""The words the desk's scripts show, translated here and handed to them in a JSON block.

The scripts look a sentence up by its English text (static/desk/text.js), so a missing one still
reads in English; {name} marks a value the script fills in. tests/test_desk_languages.py checks
that every text("…") in static/desk/ is listed here.
"""

from __future__ import annotations

from flask_babel import get_locale, gettext, ngettext


def N_(text: str) -> str:
    """Mark a sentence for the catalogue; it is translated when a page asks (script_text)."""
    return text


SCRIPT_TEXT = (
    # common.js: what a refused or failed request means
    N_("Your session has ended. Log in again in another tab, then send again: your text is kept."),
    N_("The form has expired. Reload the page to send it (your text is kept here)."),
    N_("Your role may not do this."),
    N_("That entry or story no longer exists."),
    N_("That is too big to send (the server refused its size)."),
    N_("Too many requests; wait a moment and try again."),
    N_("The server could not do that (HTTP {status}). Your text is kept."),
    # actions.js
    N_("Delete this entry? Readers will see it disappear."),
    N_("Done."),
    N_("No connection: nothing was changed. Try again."),
    # autosave.js
    N_("Restored your unsent text."),
    N_("Discard it"),
    # conflict.js and edit-page.js
    N_("Someone saved this entry while you were editing"),
    N_("It is now at version {version}. Nothing of yours is lost: choose what to keep."),
    N_("Their version"),
    N_("Your version"),
    N_("Keep theirs"),
    N_("Use mine"),
    N_("Edit a merge"),
    N_("Their version is in the form; nothing of yours was saved."),
    N_("Their version and yours are merged in the form: edit it, then save."),
    N_("Someone else saved this entry first."),
    # editor.js
    N_("Write the update…"),
    N_("Pictures in this entry (shown after the text)"),
    N_("(no alt text)"),
    N_("Take out"),
    N_("Take out picture: {alt}"),
    # editor-words.js: Quill's toolbar and link tooltip
    N_("Bold"),
    N_("Italic"),
    N_("Link"),
    N_("Bulleted list"),
    N_("Numbered list"),
    N_("Quote"),
    N_("Remove formatting"),
    N_("Heading"),
    N_("Normal"),
    N_("Heading 2"),
    N_("Heading 3"),
    N_("Heading 4"),
    N_("Visit URL:"),
    N_("Enter link:"),
    N_("Edit"),
    N_("Save"),
    # embed-code.js
    N_("Copied."),
    N_("Select the code and copy it (Ctrl+C or ⌘C)."),
    # field-errors.js
    N_("That time happens twice (the clocks go back): which one?"),
    # key-figures.js
    N_("The server did not answer; nothing was saved. Try again."),
    # live-list.js
    N_("Readers cannot see this story (it is a draft), so this list is not updated live. "
       "Reload the page once it goes live."),
    N_("This story is archived: readers get a static page, and this list is not updated live."),
    N_("draft"),
    N_("live"),
    N_("ended"),
    # pictures.js and story-form.js
    N_("Alt text (required): what the picture shows"),
    N_("Caption"),
    N_("Credit"),
    N_("Insert"),
    N_("Remove"),
    N_("Describe the picture in its alt text first."),
    N_("Uploading…"),
    N_("Upload failed: no connection. Try Insert again."),
    N_("No preview."),
    N_("Write the alt text first: describe the picture for people who cannot see it."),
    N_("Uploaded. Save the settings to use it."),
    N_("The upload failed; try again."),
    # post-card.js
    N_("The post by @{handle} on X"),
    N_("The card shows only the handle and date unless you add the post's words and author "
       "here (or paste X's embed code instead of the link)."),
    N_("Post text"),
    N_("Author"),
    # presence.js
    N_("Also editing: {names}"),
    N_("{name} saved version {version} while you were editing. Your text is still here; "
       "saving it will ask what to keep."),
    N_("Someone"),
    N_("This entry has been deleted or rejected since you opened it."),
    # preview.js
    N_("The preview needs a connection."),
    # send.js
    N_("You are offline. Your text is kept and will be sent when the connection returns."),
    N_("Sending…"),
    N_("Saved."),
    N_("{message} Readers see the change now."),
)


def plural_forms(singular: str, plural: str) -> dict[str, str]:
    """ngettext's text for each plural category of the language (Intl.PluralRules' names)."""
    rule = get_locale().plural_form
    forms: dict[str, str] = {}
    # 0-200 meets every category of our languages but the "many" of French and Spanish (10⁶).
    for number in (*range(201), 1_000_000):
        forms.setdefault(rule(number), ngettext(singular, plural, number))
    return forms


# Built once per language and process (about 7 ms each, mostly the plural categories): the
# catalogues do not change while the app runs.
_BUILT: dict[str, dict] = {}


def script_text() -> dict:
    """Every sentence the scripts show, English to the editor's language, and plural words."""
    language = str(get_locale())
    if language not in _BUILT:
        _BUILT[language] = _words()
    return _BUILT[language]


def _words() -> dict:
    words = {english: gettext(english) for english in SCRIPT_TEXT}
    # The noun of "<n> open <noun>" (desk/story.html); in French "lecteurs connectés".
    words["plural:reader"] = plural_forms("reader", "readers")
    return words
