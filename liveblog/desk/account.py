"""Logging in and out of the desk (throttled, one answer for any wrong pair), and one's settings."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from liveblog.desk.access import bp
from liveblog.desk.forms import AccountForm, LoginForm
from liveblog.desk.language import desk_language
from liveblog.extensions import db, limiter
from liveblog.models import User
from liveblog.web.i18n import use_locale

# Checked when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")
WRONG_LOGIN = _l("That email and password do not match an account.")


def _email_key() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("5 per minute", methods=["POST"], key_func=_email_key)
def login():
    """Log a journalist in."""
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).filter_by(email=email))
        if user is not None and user.check_password(form.password.data):
            login_user(user)
            return redirect(_safe_next() or url_for("desk.stories"))
        if user is None:
            check_password_hash(_DUMMY_HASH, form.password.data)
        flash(str(WRONG_LOGIN), "error")
        return render_template("desk/login.html", form=form), 401
    return render_template("desk/login.html", form=form)


def _safe_next() -> str | None:
    # Only a path on this site: "//evil.example" and "https://..." are not followed.
    target = request.args.get("next", "")
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else None


@bp.post("/logout")
def logout():
    """Log out."""
    logout_user()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for("desk.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """One's own desk settings: the language every desk page speaks to this editor."""
    form = AccountForm(language=desk_language(current_user.language))
    if form.validate_on_submit():
        current_user.language = form.language.data
        db.session.commit()
        use_locale(form.language.data, desk=True)  # the confirmation already in the chosen language
        flash(gettext("Your settings are saved."), "success")
        return redirect(url_for("desk.account"))
    return render_template("desk/account.html", form=form), 422 if form.errors else 200
