"""The interface's language: Flask-Babel, with the locale chosen by whoever renders.

A reader page speaks its story's language and the desk its editor's; a view says which by
calling use_locale() before it renders, and everything else (templates, labels, dates) asks
Flask-Babel. Catalogues live in translations/ (docs/languages.md says how to add one).
"""

from __future__ import annotations

import os

from flask import Flask, g
from flask_babel import Babel, refresh

# The languages with complete catalogues; a story or an editor may choose any of them.
LANGUAGES = ("en", "ar", "es", "fr")
DEFAULT_LANGUAGE = "en"

babel = Babel()


def init_app(app: Flask) -> None:
    """Bind Flask-Babel with the locale the current view chose (English until one does)."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    # Two catalogues in one folder, merged at lookup: "messages" for what readers see (page,
    # embed, feeds) and "desk" for the newsroom's side, so each can be kept by its own people.
    folder = os.path.join(os.path.dirname(app.root_path), "translations")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", f"{folder};{folder}")
    app.config.setdefault("BABEL_DOMAIN", "messages;desk")
    babel.init_app(app, locale_selector=_chosen_locale)


def use_locale(language: str | None) -> None:
    """Render the rest of this request in `language` (a BCP 47 tag), or the default."""
    g.liveblog_locale = language or DEFAULT_LANGUAGE
    refresh()


def _chosen_locale() -> str:
    return g.get("liveblog_locale", DEFAULT_LANGUAGE)
