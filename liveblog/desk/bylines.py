"""Bylines in the desk: an author's profile (photo, job) and the compose form's co-authors."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectMultipleField
from wtforms.fields.choices import Choice
from wtforms.validators import ValidationError

from liveblog.content.media import picture_url, store_picture, stored_widths
from liveblog.desk.access import EVERYONE, bp, roles_required
from liveblog.errors import LiveblogError
from liveblog.extensions import db
from liveblog.models import Role, User
from liveblog.publishing.validation import ENTRY, profile_fields

# Beside the author: the most co-authors an entry may have (the rule counts the author too).
MOST_COAUTHORS = ENTRY["authors"].items[1] - 1


class CoauthorsField(SelectMultipleField):
    """A multi-select of the desk's users, read when the form is drawn; ids in, ids out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, coerce=int, validate_choice=False, **kwargs)

    def iter_choices(self):
        """Every user by name, those chosen selected (the list is read from the database)."""
        chosen = set(self.data or ())
        for user_id, name in db.session.execute(
                select(User.id, User.display_name).order_by(User.display_name)):
            yield Choice(user_id, name, user_id in chosen, {})

    def pre_validate(self, form):
        """At most the rule's count; whether each user exists is the service's to say."""
        if len(self.data or ()) > MOST_COAUTHORS:
            raise ValidationError(gettext("Choose at most %(count)d co-authors.",
                                     count=MOST_COAUTHORS))


def add_authors(data: dict, form, author_id: int | None) -> dict:
    """Add the form's byline to an entry's data: the author, then the co-authors chosen.

    Only a form that showed the select (its hidden coauthors_shown) says who the entry is by,
    so an empty choice clears the co-authors but a form without the select leaves them.
    """
    if author_id is None or request.form.get("coauthors_shown") != "1":
        return data
    chosen = [user_id for user_id in form.coauthors.data or () if user_id != author_id]
    data["authors"] = [author_id, *chosen]
    return data


@bp.post("/users/<int:user_id>/profile")
@roles_required(*EVERYONE)
def user_profile(user_id: int):
    """Set an author's photo (an address, or a picture uploaded here) and job: an admin, or
    the author themself."""
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description=gettext("No such user."))
    if current_user.role != Role.ADMIN and current_user.id != user.id:
        abort(403, description=gettext("Your role may not do this."))
    data = {"photo_url": request.form.get("photo_url", ""),
            "job_title": request.form.get("job_title", "")}
    try:
        upload = request.files.get("photo")
        if upload is not None and upload.filename:
            media = store_picture(upload.stream, upload.filename, current_user.id)
            data["photo_url"] = picture_url(media, stored_widths(media)[0])
        fields = profile_fields(data)
    except LiveblogError as error:
        problems = "; ".join(f"{name}: {message}" for name, message in error.fields.items())
        flash(f"{error.message} {problems}".strip(), "error")
        return redirect(_back()), 303
    for name, value in fields.items():
        setattr(user, name, value)
    db.session.commit()
    flash(gettext("Saved the byline of %(name)s.", name=user.display_name), "success")
    return redirect(_back()), 303


def _back() -> str:
    # Back to the page the form was on: the users page (admins) or one's own account.
    if current_user.role == Role.ADMIN and request.form.get("back") != "account":
        return url_for("desk.users")
    return url_for("desk.account")
