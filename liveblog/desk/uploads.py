"""Picture uploads from the compose form: stored by media.py, answered with figure markup."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext
from flask_login import current_user

from liveblog.content.media import picture_markup, picture_url, store_picture, stored_widths
from liveblog.desk.access import EVERYONE, bp, roles_required
from liveblog.errors import Invalid, LiveblogError, json_error


@bp.post("/uploads")
@roles_required(*EVERYONE)
def upload_picture():
    """Store one picture and return the markup to insert into the entry."""
    upload = request.files.get("picture")
    try:
        if upload is None or not upload.filename:
            raise Invalid(gettext("Choose a picture to upload."),
                          {"picture": gettext("is required")})
        alt = request.form.get("alt", "")
        if not alt.strip():
            raise Invalid(gettext("Describe the picture in its alt text."),
                          {"alt": gettext("is required")})
        media = store_picture(upload.stream, upload.filename, current_user.id)
        markup = picture_markup(media, alt, request.form.get("caption"),
                                request.form.get("credit"))
    except LiveblogError as error:
        return json_error(error)
    largest = picture_url(media, stored_widths(media)[-1])
    return jsonify(id=media.id, markup=markup, url=largest), 201
