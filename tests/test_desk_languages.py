"""The desk in each editor's language: the chosen setting, lang and dir, and complete catalogues."""

from __future__ import annotations

import json
import os
import re

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from desk_support import csrf_token, log_in, post_form
from sqlalchemy import select

from liveblog.desk.script_text import SCRIPT_TEXT
from liveblog.extensions import db
from liveblog.models import Role, User

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATED = ("es", "fr", "ar")
# What must come through a translation unchanged: %(name)s / %%, {name}, and the HTML tags.
KEPT = re.compile(r"%\(\w+\)[sd]|%%|\{\w+\}|</?\w+>")


def catalogue(language: str):
    """The desk catalogue of a language, as committed."""
    with open(os.path.join(ROOT, "translations", language, "LC_MESSAGES", "desk.po"), "rb") as po:
        return read_po(po, locale=language)


def messages(catalog) -> dict:
    """msgid (the singular of a plural) to message, the header left out."""
    return {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}


def _desk_folders(path: str) -> bool:
    # Only liveblog/ and templates/ hold desk code; .venv, node_modules and the rest are skipped.
    parts = os.path.relpath(path, ROOT).split(os.sep)
    return parts[0] in ("liveblog", "templates") and not parts[-1].startswith((".", "_"))


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    """The desk's msgids as the code says them now: pybabel extract's own walk, babel-desk.cfg."""
    with open(os.path.join(ROOT, "babel-desk.cfg")) as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None, "N_": None}
    found = extract_from_dir(ROOT, method_map, options_map, keywords=keywords,
                             directory_filter=_desk_folders)
    return {message[0] if isinstance(message, tuple) else message
            for _, _, message, _, _ in found}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_desk_string_is_translated_and_none_fuzzy(language):
    catalog = catalogue(language)
    problems = []
    for msgid, message in messages(catalog).items():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if "fuzzy" in message.flags or not all(forms):
            problems.append(f"untranslated or fuzzy: {msgid!r}")
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = sorted(set(KEPT.findall(ids[-1])) - {"%(num)d", "%(num)s"})
        for form in forms:
            if sorted(set(KEPT.findall(form or "")) - {"%(num)d", "%(num)s"}) != wanted:
                problems.append(f"placeholders or tags changed: {msgid!r} -> {form!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalogue_matches_the_po(language):
    with open(os.path.join(ROOT, "translations", language, "LC_MESSAGES", "desk.mo"), "rb") as mo:
        compiled = messages(read_mo(mo))
    written = messages(catalogue(language))
    def strings(found: dict) -> dict:
        return {msgid: tuple(m.string) if not isinstance(m.string, str) else m.string
                for msgid, m in found.items()}

    assert strings(compiled) == strings(written)


def test_every_string_in_the_desk_code_is_in_each_catalogue(extracted):
    for language in TRANSLATED:
        missing = sorted(set(extracted) - set(messages(catalogue(language))))
        assert not missing, f"{language}: run the desk extraction and translate: {missing}"


def _script_literals(source: str, function: str) -> list[str]:
    # text("a" + "b") is one sentence written on two lines.
    pattern = re.compile(function + r'\(\s*((?:"(?:[^"\\]|\\.)*"\s*\+?\s*)+)')
    return ["".join(json.loads(part) for part in re.findall(r'"(?:[^"\\]|\\.)*"', match))
            for match in pattern.findall(source)]


def test_every_sentence_the_desk_scripts_show_is_handed_to_them():
    folder = os.path.join(ROOT, "static", "desk")
    shown, counted = set(), set()
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), encoding="utf-8") as script:
            source = script.read()
        shown.update(_script_literals(source, r"(?<![\w.])text"))
        counted.update(_script_literals(source, r"(?<![\w.])plural"))
    assert shown and not shown - set(SCRIPT_TEXT), sorted(shown - set(SCRIPT_TEXT))
    assert counted <= {"reader", "readers"}


def _desk_as(app, actions, language: str, role: Role = Role.EDITOR):
    email = f"{language}-{role.value}@newsroom.example"
    user_id = actions.create_user(email, role, name="Léa")[0]
    with app.app_context():
        db.session.get(User, user_id).language = language
        db.session.commit()
    client = app.test_client()
    assert log_in(client, email).status_code == 302
    return client


def test_a_french_editor_sees_the_desk_in_french(app, actions):
    desk = _desk_as(app, actions, "fr")
    page = desk.get("/admin/").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in page
    assert "Nouveau direct" in page and "Se déconnecter" in page and "Stories" not in page
    # A form's own check (WTForms' message) and the field labels, in French.
    refused = post_form(desk, "/admin/stories/new", {"title": "", "summary": "x"})
    form = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Ce champ est requis." in form and ">Titre</label>" in form
    created = post_form(desk, "/admin/stories/new", {"title": "Orage", "summary": "Suivi",
                                                      "timezone": "Europe/Paris",
                                                      "label_format": "MISE À JOUR %H%M",
                                                      "status": "live"})
    assert created.status_code == 302
    story = desk.get(created.headers["Location"]).get_data(as_text=True)
    assert "Direct « Orage » créé." in story  # the flash
    assert "Nouveau billet" in story and "Publier" in story
    # The scripts' words come in the same language, as JSON that cannot end its element.
    block = re.search(r'<script type="application/json" id="desk-text">(.*?)</script>', story)
    words = json.loads(block.group(1))
    assert words["Saved."] == "Enregistré." and words["plural:reader"]["one"] == "lecteur connecté"


def test_an_arabic_desk_is_right_to_left(app, actions):
    desk = _desk_as(app, actions, "ar")
    page = desk.get("/admin/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page and "التغطيات" in page


def test_changing_the_language_persists_and_applies_on_the_next_page(app, actions):
    desk = _desk_as(app, actions, "en")
    settings = desk.get("/admin/account").get_data(as_text=True)
    assert '<option lang="ar" value="ar">العربية</option>' in settings
    assert '<option lang="es" value="es">Español</option>' in settings
    assert '<option lang="fr" value="fr">Français</option>' in settings
    refused = post_form(desk, "/admin/account", {"language": "xx"})
    assert refused.status_code == 422 and "Not a valid choice." in refused.get_data(as_text=True)
    saved = post_form(desk, "/admin/account", {"language": "es"})
    assert saved.status_code == 302
    page = desk.get(saved.headers["Location"]).get_data(as_text=True)
    assert '<html lang="es" dir="ltr">' in page and "Sus ajustes se han guardado." in page
    assert "Coberturas" in desk.get("/admin/").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.language).filter_by(
            email="en-editor@newsroom.example")) == "es"


def test_the_login_page_speaks_the_browsers_language(client):
    page = client.get("/admin/login", headers={"Accept-Language": "fr-CA, es;q=0.5"})
    assert '<html lang="fr"' in page.get_data(as_text=True)
    assert "Connexion à la rédaction" in page.get_data(as_text=True)
    token = csrf_token(client)
    wrong = client.post("/admin/login", headers={"Accept-Language": "es"},
                        data={"email": "a@b.example", "password": "x", "csrf_token": token})
    assert "Ese correo y esa contraseña no corresponden" in wrong.get_data(as_text=True)
    # Flask-Login's "log in first" flash, read in the browser's language when it is flashed.
    sent_back = client.get("/admin/", headers={"Accept-Language": "ar"}, follow_redirects=True)
    assert "سجّل الدخول لاستخدام غرفة التحرير." in sent_back.get_data(as_text=True)
    english = client.get("/admin/login").get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in english and "Log in to the desk" in english


def test_the_services_refusals_reach_the_desk_in_its_language_and_the_api_in_english(app, actions):
    actions.create_story()
    desk = _desk_as(app, actions, "fr")
    # The script's JSON: the message and the field's problem, in French.
    script = post_form(desk, "/admin/stories/storm/entries",
                       {"body": "<p>Plus tard</p>", "action": "schedule"}, json=True)
    assert script.status_code == 422
    assert script.get_json()["error"] == {"status": 422, "message": "Indiquez quand publier.",
                                          "fields": {"scheduled_for": "est obligatoire"}}
    # The page without the script: the flash and the field's error.
    page = post_form(desk, "/admin/stories/storm/entries",
                     {"body": "<p>Plus tard</p>", "action": "schedule"}).get_data(as_text=True)
    assert "Indiquez quand publier." in page and "<strong>est obligatoire</strong>" in page
    # A message with a value in it keeps the value.
    entry = actions.post_entry()
    stale = post_form(desk, f"/admin/stories/storm/entries/{entry['id']}/delete",
                      {"version": "7"}, json=True)
    assert stale.get_json()["error"]["message"] == (
        "Le billet a changé depuis la version 7 ; il en est maintenant à la version 1.")
    # The API, for machines, stays English.
    api = actions.client.post("/api/stories/storm/entries", headers=actions.headers(),
                              json={"body": "<p>x</p>", "status": "scheduled"})
    assert api.get_json()["error"]["message"] == "Some fields are not valid."


def _shared_and_different(language: str) -> dict[str, tuple[str, str]]:
    """msgid: (readers' words, desk's words) for every msgid both catalogues word differently."""
    with open(os.path.join(ROOT, "translations", language, "LC_MESSAGES", "messages.po"),
              "rb") as po:
        readers = messages(read_po(po, locale=language))
    desk = messages(catalogue(language))
    return {msgid: (message.string, desk[msgid].string) for msgid, message in readers.items()
            if msgid in desk and isinstance(message.id, str)
            and message.string != desk[msgid].string}


@pytest.mark.parametrize("language", TRANSLATED)
def test_readers_views_read_their_catalogue_first_and_the_desks_theirs(app, language):
    from flask_babel import gettext

    from liveblog.web.i18n import use_locale

    different = _shared_and_different(language)
    for msgid, (readers, desk) in different.items():
        with app.test_request_context("/stories/storm"):
            use_locale(language)
            assert gettext(msgid) == readers, msgid
        with app.test_request_context("/admin/"):
            use_locale(language, desk=True)
            assert gettext(msgid) == desk, msgid


def test_a_spanish_story_and_a_spanish_desk_word_the_skip_link_each_their_way(app, actions,
                                                                              client):
    # "Skip to content" is in both catalogues, worded differently (readers: "Ir al contenido").
    assert _shared_and_different("es")["Skip to content"] == ("Ir al contenido",
                                                               "Saltar al contenido")
    actions.create_story(language="es")
    page = client.get("/stories/storm").get_data(as_text=True)
    assert ">Ir al contenido</a>" in page and "Saltar al contenido" not in page
    desk = _desk_as(app, actions, "es").get("/admin/").get_data(as_text=True)
    assert ">Saltar al contenido</a>" in desk and "Ir al contenido" not in desk
