"""Who may use the desk: its blueprint, the logged-in user, and the roles a view requires."""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, request
from flask_babel import gettext
from flask_login import current_user, login_required

from liveblog.database import MAX_INTEGER
from liveblog.extensions import db, login_manager
from liveblog.models import Role, User
from liveblog.web.params import ascii_int

bp = Blueprint("desk", __name__, url_prefix="/admin")


def allow_picture_uploads() -> None:
    """Let a picture upload send more than the 1 MiB any other request may."""
    # Photos are larger than the 1 MiB any other request may send; media.py caps them itself.
    if request.endpoint in ("desk.upload_picture", "desk.user_profile"):  # a byline's photo too
        limit = current_app.config.get("MAX_PICTURE_BYTES", 15 * 2**20)
        request.max_content_length = limit + 2**16


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    # isdigit() takes "١" (read by int() as 1, another user) and "²" (which int() refuses).
    number = ascii_int(user_id, maximum=MAX_INTEGER)
    return db.session.get(User, number) if number is not None else None


def roles_required(*roles: Role):
    """Require a logged-in user with one of the roles; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403, description=gettext("Your role may not do this."))
            return view(*args, **kwargs)

        return wrapped

    return decorator


EDITORS = (Role.ADMIN, Role.EDITOR)
EVERYONE = (Role.ADMIN, Role.EDITOR, Role.CONTRIBUTOR)
