"""The desk's poll controls: the compose form's poll fields, and closing a poll by hand."""

from __future__ import annotations

from flask import flash, jsonify, redirect, url_for
from flask_babel import gettext
from flask_login import current_user

from liveblog import publishing
from liveblog.desk.access import EDITORS, bp, roles_required
from liveblog.desk.state import desk_changed
from liveblog.desk.stories import story_or_404
from liveblog.errors import LiveblogError, json_error
from liveblog.errors import asks_for_json as wants_json
from liveblog.publishing.times import local_time


def poll_data(form, timezone: str) -> dict | None:
    """The poll the form asks for (None: no question and no answers typed); the service checks it.

    Answers are typed one per line; the closing time in the story's zone, like "publish at".
    """
    question = (form.poll_question.data or "").strip()
    answers = [line.strip() for line in (form.poll_options.data or "").splitlines()]
    answers = [answer for answer in answers if answer]
    if not question and not answers:
        return None
    poll: dict = {"question": question, "options": answers}
    if form.poll_closes_at.data:
        poll["closes_at"] = local_time(form.poll_closes_at.data, timezone)
    return poll


@bp.post("/stories/<slug>/entries/<int:entry_id>/close-poll")
@roles_required(*EDITORS)
def close_poll(slug: str, entry_id: int):
    """Close an entry's poll now: no more votes, and readers see the final results."""
    story = story_or_404(slug)
    try:
        publishing.update_entry(story.id, entry_id, {"poll": {"closed": True}},
                                editor=current_user)
    except LiveblogError as error:
        if wants_json():
            return json_error(error)
        flash(error.message, "error")
    else:
        desk_changed()
        if wants_json():
            return jsonify(message=gettext("Poll closed."))
        flash(gettext("Poll closed: readers see the final results."), "success")
    return redirect(url_for("desk.edit_entry", slug=slug, entry_id=entry_id))
