"""The journalists' desk under /admin: accounts, stories, composing and reviewing entries."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from liveblog.desk.access import allow_picture_uploads, bp
from liveblog.extensions import csrf, limiter, login_manager


def init_app(app: Flask) -> None:
    """Wire up sessions, CSRF, login throttling and the desk's views."""
    login_manager.init_app(app)
    login_manager.login_view = "desk.login"
    # Read when flashed, so the login page's browser language chooses the words.
    login_manager.login_message = _l("Log in to use the desk.")
    login_manager.localize_callback = str
    # Before CSRFProtect: its token check reads the form, so the upload limit must already apply.
    app.before_request(allow_picture_uploads)
    csrf.init_app(app)
    limiter.init_app(app)
    from liveblog.desk import (  # noqa: F401  (they register their views)
        account,
        analytics,
        bylines,
        entries,
        key_figures,
        language,
        polls,
        presence,
        questions,
        schedule,
        stories,
        uploads,
        users,
        watch,
        webhooks,
    )

    app.register_blueprint(bp)
