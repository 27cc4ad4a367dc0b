"""Admins manage accounts: add users, change roles, revoke API tokens."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user
from sqlalchemy import func, select

from liveblog.api.auth import revoke_tokens
from liveblog.desk.access import bp, roles_required
from liveblog.desk.forms import RoleForm, UserForm
from liveblog.desk.language import ROLE_NAMES
from liveblog.extensions import db
from liveblog.models import ApiToken, Role, User


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description=gettext("No such user."))
    return user


@bp.route("/users", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users():
    """List accounts and add one."""
    form = UserForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if db.session.scalar(select(User).filter_by(email=email)) is not None:
            form.email.errors = [gettext("An account with this email exists.")]
        else:
            user = User(email=email, display_name=form.display_name.data.strip(),
                        role=form.role.data)
            user.set_password(form.password.data)
            db.session.add(user)
            db.session.commit()
            flash(gettext("Added %(name)s as %(role)s.", name=user.display_name,
                          role=ROLE_NAMES.get(user.role, user.role)), "success")
            return redirect(url_for("desk.users"))
    live_tokens = dict(db.session.execute(
        select(ApiToken.user_id, func.count(ApiToken.id))
        .where(ApiToken.revoked_at.is_(None)).group_by(ApiToken.user_id)
    ).all())
    accounts = db.session.scalars(select(User).order_by(User.display_name)).all()
    return render_template("desk/users.html", form=form, accounts=accounts,
                           live_tokens=live_tokens, role_form=RoleForm), \
        422 if form.errors else 200


@bp.post("/users/<int:user_id>/role")
@roles_required(Role.ADMIN)
def change_role(user_id: int):
    """Change a user's role; an admin cannot demote themselves by accident."""
    user = _user_or_404(user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(gettext("Choose a role."), "error")
    elif user.id == current_user.id and form.role.data != Role.ADMIN:
        flash(gettext("You cannot remove your own admin role."), "error")
    else:
        user.role = form.role.data
        db.session.commit()
        flash(gettext("%(name)s is now %(role)s.", name=user.display_name,
                      role=ROLE_NAMES.get(user.role, user.role)), "success")
    return redirect(url_for("desk.users"))


@bp.post("/users/<int:user_id>/revoke-tokens")
@roles_required(Role.ADMIN)
def revoke_user_tokens(user_id: int):
    """Revoke every API token of a user."""
    user = _user_or_404(user_id)
    count = revoke_tokens(user)
    flash(ngettext("Revoked %(num)d token of %(name)s.", "Revoked %(num)d tokens of %(name)s.",
                   count, name=user.display_name), "success")
    return redirect(url_for("desk.users"))
