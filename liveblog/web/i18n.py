"""The interface's language: Flask-Babel, with the locale chosen by whoever renders.

A reader page speaks its story's language and the desk its editor's; a view says which by
calling use_locale() before it renders, and everything else (templates, labels, dates) asks
Flask-Babel. Catalogues live in translations/ (docs/languages.md says how to add one).
"""

from __future__ import annotations

import os
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.support import NullTranslations, Translations
from flask import Flask, g
from flask_babel import Babel, Domain, get_locale, ngettext, refresh

# The languages with complete catalogues; a story or an editor may choose any of them.
LANGUAGES = ("en", "ar", "es", "fr")
DEFAULT_LANGUAGE = "en"
# A number in each of CLDR's plural categories: a message made for each is what the page's
# scripts pick from with Intl.PluralRules (Arabic has all six; English one and other).
PLURAL_SAMPLES = {"zero": 0, "one": 1, "two": 2, "few": 3, "many": 11, "other": 100}

# Beside the package: the catalogues are data, found the same way with or without an app.
TRANSLATIONS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "translations")

babel = Babel()
# Two catalogues in one folder, merged at lookup, the last one named winning a msgid both hold:
# "messages" for what readers see (page, embed, feeds) and "desk" for the newsroom's side, each
# kept by its own people, so the same English may be worded apart ("Historias" for readers,
# "Coberturas" in the newsroom). Reader views read theirs first, the desk its own.
READER_DOMAINS = "desk;messages"
DESK_DOMAINS = "messages;desk"
_desk_domain = Domain(domain=DESK_DOMAINS)


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the locale the current view chose (English until one does)."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    folder = os.path.join(os.path.dirname(app.root_path), "translations")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", f"{folder};{folder}")
    app.config.setdefault("BABEL_DOMAIN", READER_DOMAINS)
    babel.init_app(app, locale_selector=_chosen_locale)
    app.context_processor(_page_language)
    app.add_template_global(plural_forms)


def use_locale(language: str | None, desk: bool = False) -> None:
    """Render the rest of this request in `language` (a BCP 47 tag), or the default.

    With `desk`, the desk's catalogue is read first; else the readers' (the app's default).
    """
    g.liveblog_locale = language or DEFAULT_LANGUAGE
    if desk:
        _desk_domain.as_default()
    refresh()


def _chosen_locale() -> str:
    return g.get("liveblog_locale", DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language this request (or a force_locale block in it) renders in."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def text_direction(language: str | None) -> str:
    """"rtl" for a language written right to left (Arabic), else "ltr"."""
    try:
        locale = Locale.parse((language or DEFAULT_LANGUAGE).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return "ltr"
    return "rtl" if locale.character_order == "right-to-left" else "ltr"


def translate(language: str | None, message: str) -> str:
    """`message` in `language` from the "messages" catalogue, with no request needed."""
    return _catalogue(language or DEFAULT_LANGUAGE).gettext(message)


@lru_cache(maxsize=16)
def _catalogue(language: str) -> NullTranslations:
    # Labels are the story's, not the request's: an API answer or an export carries them in the
    # story's language whoever asks, so they are looked up by tag, not through Flask-Babel.
    return Translations.load(TRANSLATIONS, [language.replace("-", "_")], "messages")


def plural_forms(singular: str, plural: str) -> dict[str, str]:
    """A message in each plural category of this request's language, for the page's scripts."""
    return {category: ngettext(singular, plural, number)
            for category, number in PLURAL_SAMPLES.items()}


def _page_language() -> dict:
    # base.html and embed.html write <html lang dir> from these; English pages stay as they were.
    language = g.get("liveblog_locale", DEFAULT_LANGUAGE)
    return {"page_language": language, "page_direction": text_direction(language)}
