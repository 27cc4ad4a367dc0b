"""The desk speaks its editor's language: chosen per request, with lang and dir for the page."""

from __future__ import annotations

from flask import Response, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from liveblog.desk.access import bp
from liveblog.desk.script_text import script_text
from liveblog.desk.service_text import desk_text
from liveblog.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, use_locale

# What the desk shows for a stored status or role (the stored values stay English words).
STATUS_NAMES = {"draft": _l("draft"), "live": _l("live"), "ended": _l("ended")}
ROLE_NAMES = {"admin": _l("admin"), "editor": _l("editor"), "contributor": _l("contributor")}


def desk_language(tag: str | None) -> str:
    """One of LANGUAGES for a stored tag ("fr-CA" speaks French), else the default."""
    tag = (tag or "").replace("_", "-").lower()
    if tag in LANGUAGES:
        return tag
    primary = tag.split("-", 1)[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


@bp.before_request
def speak_the_editors_language() -> None:
    """Render this desk request in the editor's language, or the browser's before login."""
    if current_user.is_authenticated:
        use_locale(desk_language(current_user.language), desk=True)
    else:
        use_locale(_browser_language(), desk=True)


def _browser_language() -> str:
    # By the browser's order: "fr-CA, es;q=0.5" is French (werkzeug's best_match would take the
    # exact "es" over French by its primary tag).
    for tag, _quality in request.accept_languages:
        primary = tag.split("-", 1)[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


# A global, not a context value: the field macro (desk/_field.html) is imported without context.
bp.add_app_template_global(desk_text, "desk_text")


@bp.context_processor
def page_language() -> dict:
    """The page's lang and dir, the words its scripts show, and names for statuses and roles."""
    locale = get_locale()
    return {
        "desk_lang": str(locale) if locale else DEFAULT_LANGUAGE,
        "desk_dir": locale.text_direction if locale else "ltr",
        "desk_script_text": script_text,
        "status_name": lambda value: STATUS_NAMES.get(value, value),
        "role_name": lambda value: ROLE_NAMES.get(value, value),
    }


@bp.after_request
def refusals_in_the_editors_language(response: Response) -> Response:
    """A refusal the desk's script shows ({"error": {message, fields}}) in the editor's language."""
    # Flashes and form errors are translated where the page shows them (desk_text in templates).
    locale = get_locale()
    english = locale is None or locale.language == DEFAULT_LANGUAGE
    if response.status_code < 400 or not response.is_json or english:
        return response
    data = response.get_json(silent=True)
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return response
    error["message"] = desk_text(error.get("message"))
    if isinstance(error.get("fields"), dict):
        error["fields"] = {name: desk_text(text) for name, text in error["fields"].items()}
    response.set_data(current_app.json.dumps(data))
    return response
