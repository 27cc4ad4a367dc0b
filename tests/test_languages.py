"""A story's language: its page's lang and direction, labels, dates and words; the catalogues."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from desk_support import log_in, post_form

from liveblog.content.labels import default_label_format, entry_label, format_label
from liveblog.publishing import archive
from liveblog.web.i18n import LANGUAGES, TRANSLATIONS, text_direction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATED = [language for language in LANGUAGES if language != "en"]
NOON = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


# Labels and dates, without an app: they are the story's, whoever asks.

@pytest.mark.parametrize(("language", "original", "label"), [
    ("en", "ORIGINAL ENTRY", "UPDATE 1600 GMT"),
    ("ar", "التدوينة الأصلية", "تحديث 1600 بتوقيت غرينتش"),
    ("es", "ENTRADA ORIGINAL", "ACTUALIZACIÓN 16:00 GMT"),
    ("fr", "ENTRÉE ORIGINALE", "MISE À JOUR 16h00 GMT"),
])
def test_each_language_has_its_own_labels(language, original, label):
    fmt = default_label_format(language)
    assert entry_label(NOON, "GMT", fmt, is_original=True, language=language) == original
    assert entry_label(NOON, "GMT", fmt, language=language) == label
    # The journalist's own label is theirs in every language.
    assert entry_label(NOON, "GMT", fmt, override="BREAKING", language=language) == "BREAKING"


def test_a_label_format_names_months_and_days_in_the_story_language():
    fmt = "%A %d %B, %H%M %Z"
    assert format_label(NOON, "GMT", fmt) == "Monday 30 November, 1600 GMT"
    assert format_label(NOON, "GMT", fmt, "fr") == "lundi 30 novembre, 1600 GMT"
    assert format_label(NOON, "GMT", fmt, "es") == "lunes 30 noviembre, 1600 GMT"
    assert format_label(NOON, "GMT", fmt, "ar") == "الاثنين 30 نوفمبر, 1600 غرينتش"
    # A literal percent sign stays one, a zone other than GMT or UTC keeps its abbreviation.
    assert format_label(NOON, "Europe/Paris", "%H%M %Z 100%%", "ar") == "1700 CET 100%"


def test_arabic_is_written_right_to_left():
    assert [text_direction(language) for language in LANGUAGES] == ["ltr", "rtl", "ltr", "ltr"]
    assert text_direction("not a language") == "ltr"


# The page, the embed, the feeds and the API.

def _arabic_story(actions, slug="arabic"):
    story = actions.create_story(slug, title="عاصفة فوق الخليج", language="ar")
    first = actions.post_entry(slug, body="<p>بدأت العاصفة.</p>")
    second = actions.post_entry(slug, body="<p>الرياح تشتد.</p>", headline="تحذير")
    return story, first, second


def test_an_arabic_story_page_is_in_arabic_and_right_to_left(actions, client):
    story, first, second = _arabic_story(actions)
    assert story["language"] == "ar"
    assert story["label_format"] == "تحديث %H%M بتوقيت %Z"
    assert first["label"] == "التدوينة الأصلية"
    assert re.fullmatch(r"تحديث \d{4} بتوقيت غرينتش", second["label"])
    page = client.get("/stories/arabic").get_data(as_text=True)
    assert page.startswith('<!doctype html>\n<html lang="ar" dir="rtl">')
    assert ">التدوينة الأصلية</a>" in page and f">{second['label']}</a>" in page
    assert "آخر تحديث:" in page and ">مباشر</p>" in page
    # Dates name the month in Arabic; none is left in English.
    month = datetime.now(UTC).month
    arabic_months = ["يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس",
                     "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر"]
    assert re.search(rf'<time class="entry-time" [^>]*>\d\d {arabic_months[month - 1]} \d{{4}}<',
                     page)
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b", page)
    # The scripts' words come as JSON in the page's language.
    assert '<script type="application/json" id="reader-strings">' in page
    assert "جارٍ إعادة الاتصال" in page
    assert '"inLanguage":"ar"' in page.replace(" ", "")  # the page's JSON-LD
    embed = client.get("/stories/arabic/embed").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in embed and "فتح صفحة التغطية المباشرة كاملة" in embed


@pytest.mark.parametrize(("language", "live", "original"), [
    ("es", "EN DIRECTO", "ENTRADA ORIGINAL"), ("fr", "EN DIRECT", "ENTRÉE ORIGINALE")])
def test_spanish_and_french_pages_are_left_to_right_in_their_words(actions, client, language,
                                                                   live, original):
    actions.create_story("storm", language=language)
    actions.post_entry("storm")
    page = client.get("/stories/storm").get_data(as_text=True)
    assert page.startswith(f'<!doctype html>\n<html lang="{language}">\n')
    assert f">{live}</p>" in page and f">{original}</a>" in page
    assert '<script type="application/json" id="reader-strings">' in page


def test_embeds_speak_the_page_language_and_keep_their_links(actions, client):
    actions.create_story("arabic", language="ar")
    actions.post_entry("arabic", body="<p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>")
    actions.post_entry("arabic", body="<p>https://x.com/newsroom/status/1850000000000000000</p>")
    page = client.get("/stories/arabic").get_data(as_text=True).split('id="entries"', 1)[1]
    assert '<button type="button" class="embed-activate">تشغيل الفيديو<span class="embed-note">' \
        in page
    assert "يحمّل مشغّل YouTube (وضع الخصوصية)" in page
    assert ">شاهد على YouTube</a></figcaption>" in page and ">عرض المنشور على X</a>" in page
    assert "Play video" not in page and "Watch on" not in page and "View post" not in page
    assert 'href="https://www.youtube.com/watch?v=aqz-KE-bpKQ"' in page
    assert re.search(r'class="embed-tweet-date" datetime="[^"]+">\d{1,2} [^\x00-\x7f]+ \d{4}<',
                     page)


def test_the_index_marks_a_title_in_another_language(actions, client):
    actions.create_story("storm")
    actions.create_story("arabic", title="عاصفة", language="ar")
    index = client.get("/").get_data(as_text=True)
    assert '<a href="/stories/arabic" lang="ar" dir="auto">عاصفة</a>' in index
    assert '<a href="/stories/storm">Storm watch</a>' in index


def test_an_english_page_carries_no_strings_block_and_no_direction(actions, client):
    actions.create_story("storm")
    actions.post_entry("storm")
    page = client.get("/stories/storm").get_data(as_text=True)
    assert page.startswith('<!doctype html>\n<html lang="en">\n')
    assert "reader-strings" not in page and ">ORIGINAL ENTRY</a>" in page


def test_live_frames_and_feeds_speak_the_story_language(actions, client):
    _arabic_story(actions)
    frame_html = client.get("/api/stories/arabic/entries").get_json()["entries"][0]["html"]
    assert "تحديث" in frame_html and "UPDATE" not in frame_html
    atom = client.get("/stories/arabic/feed.atom").get_data(as_text=True)
    assert 'xml:lang="ar"' in atom and "التدوينة الأصلية" in atom
    assert client.get("/stories/arabic/feed.json").get_json()["language"] == "ar"
    oembed = client.get("/oembed?url=http://localhost/stories/arabic").get_json()
    assert 'title="مباشر: عاصفة فوق الخليج"' in oembed["html"]


def test_the_api_takes_a_language_and_refuses_any_other(actions, client):
    for bad in ("de", "AR", "", 7, None):
        answer = client.post("/api/stories", json={"slug": "x", "title": "X", "language": bad},
                             headers=actions.headers())
        assert answer.status_code == 422, (bad, answer.get_json())
        assert "language" in answer.get_json()["error"]["fields"]
    actions.create_story("storm")
    answer = client.patch("/api/stories/storm", json={"language": "xx-YY"},
                          headers=actions.headers())
    assert answer.status_code == 422
    story = client.get("/api/stories/storm").get_json()
    assert story["language"] == "en" and story["label_format"] == "UPDATE %H%M %Z"


def test_a_new_language_brings_its_label_format_unless_the_story_has_its_own(actions, client):
    actions.create_story("storm")
    answer = client.patch("/api/stories/storm", json={"language": "fr"},
                          headers=actions.headers())
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["label_format"] == "MISE À JOUR %Hh%M %Z"
    actions.create_story("own", label_format="%H:%M")
    answer = client.patch("/api/stories/own", json={"language": "es"}, headers=actions.headers())
    assert answer.get_json()["language"] == "es" and answer.get_json()["label_format"] == "%H:%M"
    created = actions.create_story("set", language="ar", label_format="UPDATE %H%M")
    assert created["label_format"] == "UPDATE %H%M"


def test_an_archive_carries_the_story_language(app, actions, client):
    _arabic_story(actions)
    with app.app_context():
        data, _ = archive.export_story("arabic")
    assert data["story"]["language"] == "ar"
    data["story"]["slug"], data["media"] = "arabic-copy", []
    out = io.BytesIO()
    archive.write_archive(data, [], out)
    with app.app_context():
        archive.import_archive(out.getvalue())
    assert client.get("/api/stories/arabic-copy").get_json()["language"] == "ar"
    # An archive from before languages (no "language") imports as English.
    del data["story"]["language"]
    data["story"]["slug"] = "older-copy"
    out = io.BytesIO()
    archive.write_archive(data, [], out)
    with app.app_context():
        archive.import_archive(out.getvalue())
    assert client.get("/api/stories/older-copy").get_json()["language"] == "en"


def test_the_desk_sets_a_story_language_with_a_select(actions, client):
    actions.create_user("desk@example.org")
    assert log_in(client, "desk@example.org").status_code == 302
    form = client.get("/admin/stories/new").get_data(as_text=True)
    assert re.search(r'<select[^>]*name="language"', form)
    assert '<option lang="ar" value="ar">العربية</option>' in form
    answer = post_form(client, "/admin/stories/new", {
        "title": "عاصفة", "slug": "desk-arabic", "timezone": "GMT", "status": "live",
        "label_format": "UPDATE %H%M %Z", "language": "ar"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    story = client.get("/api/stories/desk-arabic").get_json()
    assert story["language"] == "ar" and story["label_format"] == "تحديث %H%M بتوقيت %Z"
    # Back to French in the settings: the Arabic default gives way to the French one.
    answer = post_form(client, "/admin/stories/desk-arabic/settings", {
        "title": "Tempête", "timezone": "GMT", "status": "live",
        "label_format": "تحديث %H%M بتوقيت %Z", "language": "fr"})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    story = client.get("/api/stories/desk-arabic").get_json()
    assert story["language"] == "fr" and story["label_format"] == "MISE À JOUR %Hh%M %Z"
    preview = client.get("/admin/label-preview?timezone=GMT&label_format=%25H%25M+%25Z&language=ar")
    assert re.fullmatch(r"\d{4} غرينتش", preview.get_json()["label"])
    refused = post_form(client, "/admin/stories/desk-arabic/settings", {
        "title": "Tempête", "timezone": "GMT", "status": "live", "label_format": "%H%M",
        "language": "de"})
    assert refused.status_code == 422


# The catalogues: complete, compiled, and holding every message the code has.

def _catalogue(language: str):
    with open(os.path.join(TRANSLATIONS, language, "LC_MESSAGES", "messages.po"), "rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    catalogue = _catalogue(language)
    untranslated = []
    for message in catalogue:
        if not message.id:
            continue
        strings = message.string if message.pluralizable else (message.string,)
        complete = all(strings) and (not message.pluralizable
                                     or len(strings) == catalogue.num_plurals)
        if not complete or message.fuzzy:
            untranslated.append(message.id)
    assert not untranslated, f"{language}: untranslated or fuzzy: {untranslated}"
    assert not catalogue.fuzzy
    # The compiled catalogue the app reads is this one (make translations compiles it).
    with open(os.path.join(TRANSLATIONS, language, "LC_MESSAGES", "messages.mo"), "rb") as mo:
        compiled = read_mo(mo)
    assert _pairs(compiled) == _pairs(catalogue), "messages.mo is stale: run make translations"


def _pairs(catalogue) -> dict:
    def plain(text):
        return tuple(text) if isinstance(text, (list, tuple)) else text
    return {plain(message.id): plain(message.string) for message in catalogue if message.id}


def test_every_message_in_the_code_is_in_every_catalogue(tmp_path):
    # What `make translations` extracts, into a scratch template, against each catalogue.
    pot = tmp_path / "messages.pot"
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "pybabel"), "-q", "extract",
                    "-F", "babel.cfg", "-k", "N_", "-k", "plural_forms:1,2", "-k", "lazy_gettext",
                    "-k", "_l", "-o", str(pot), "."],
                   cwd=ROOT, check=True, timeout=60)
    with open(pot, "rb") as template:
        wanted = {message.id for message in read_po(template) if message.id}
    assert wanted, "nothing extracted"
    for language in TRANSLATED:
        have = {message.id for message in _catalogue(language) if message.id}
        assert not wanted - have, f"{language} lacks {sorted(wanted - have)}: make translations"


# Words a template may hold as they are: names, not language (the product, keys, feed formats).
NOT_WORDS = {"liveblog", "| liveblog", "Ctrl", "Enter", "(Atom)", "(JSON Feed)"}
# The API reference is for developers, in English, with no story to take a language from.
ENGLISH_ONLY = {"api_docs.html"}
# A placeholder that shows an address, not words.
ADDRESSES = re.compile(r"^(https?://\S+|#\s*\(seq\s*\))$")


def _literal_words(template: str) -> list[str]:
    """Text and readable attributes a template writes as they are, outside gettext."""
    text = re.sub(r"\{#.*?#\}|<script.*?</script>|<style.*?</style>|\{\{.*?\}\}|\{%.*?%\}",
                  "", template, flags=re.S)
    found = [part.strip() for part in re.findall(r">([^<]+)<", text)]
    found += [part.strip() for part in
              re.findall(r'\b(?:aria-label|title|alt|placeholder)="([^"]*)"', text)]
    return [part for part in found if re.search(r"[A-Za-z]{2,}", part)]


def test_no_template_writes_a_word_outside_gettext():
    # A word written straight into a template never reaches a catalogue, so the catalogue tests
    # cannot see it: an Arabic reader or editor would meet it in English.
    left = {}
    for folder in ("templates", os.path.join("templates", "desk")):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if not name.endswith(".html") or name in ENGLISH_ONLY:
                continue
            with open(os.path.join(ROOT, folder, name), encoding="utf-8") as source:
                words = [part for part in _literal_words(source.read())
                         if part not in NOT_WORDS and not ADDRESSES.match(part)
                         and not all(word in NOT_WORDS for word in part.split())]
            if words:
                left[os.path.join(folder, name)] = words
    assert not left, f"words outside gettext: {left}"


def test_every_word_the_reader_scripts_ask_for_is_on_a_translated_page(actions, client):
    # A script asks strings.js for a word by key with its English beside it: a key the page's
    # JSON block lacks would show that English on an Arabic page, and no catalogue test sees it.
    asked = set()
    folder = os.path.join(ROOT, "static", "js")
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), encoding="utf-8") as script:
            asked |= set(re.findall(r'\b(?:t|tn|pluralForm)\(\s*"(\w+)"', script.read()))
    assert len(asked) > 20, asked
    actions.create_story("arabic", language="ar")
    page = client.get("/stories/arabic").get_data(as_text=True)
    block = page.split('<script type="application/json" id="reader-strings">', 1)[1]
    words = json.loads(block.split("</script>", 1)[0])
    assert not asked - set(words), f"missing from the page's words: {sorted(asked - set(words))}"
