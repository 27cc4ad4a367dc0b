"""The desk's queue of readers' questions: open or close the form, publish, reject, block.

Only the desk sees a waiting question. The page long-polls its own watch (the ids waiting), so a
question sent by a reader shows within a second; an action answers with a redirect back (or JSON
for the script), and wakes this process's other open desks at once.
"""

from __future__ import annotations

import hashlib

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from flask_login import current_user

from liveblog import publishing
from liveblog.desk.access import EDITORS, bp, roles_required
from liveblog.desk.state import desk_changed
from liveblog.desk.stories import story_or_404
from liveblog.desk.watch import LONGEST_WAIT_SECONDS, answer_when_changed
from liveblog.errors import LiveblogError, asks_for_json, json_error
from liveblog.models import Role, Story
from liveblog.publishing import moderation
from liveblog.web.params import ascii_int

ANSWER_CHARS = 20_000


def _queue_state(story_id: int) -> dict:
    ids = moderation.pending_question_ids(story_id)
    token = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:20]
    return {"pending": ids, "token": token}


def _page(story: Story) -> str:
    return render_template(
        "desk/questions.html", story=story, questions=moderation.pending_questions(story.id),
        watch_token=_queue_state(story.id)["token"], may_forget=current_user.role == Role.ADMIN,
    )


@bp.get("/stories/<slug>/questions")
@roles_required(*EDITORS)
def questions(slug: str):
    """The story's waiting questions, with the switch that opens and closes the form."""
    return _page(story_or_404(slug))


@bp.get("/stories/<slug>/questions/queue")
@roles_required(*EDITORS)
def question_queue(slug: str):
    """The waiting questions as an HTML fragment, for the page's script to merge in."""
    story = story_or_404(slug)
    html = render_template("desk/_questions.html", story=story,
                           questions=moderation.pending_questions(story.id),
                           may_forget=current_user.role == Role.ADMIN)
    return html, 200, {"Cache-Control": "no-store"}


@bp.get("/stories/<slug>/questions/watch")
@roles_required(*EDITORS)
def watch_questions(slug: str):
    """The waiting question ids as soon as they differ from ?since=<token>, or after the wait."""
    story_id = story_or_404(slug).id
    wait = ascii_int(request.args.get("wait", str(int(LONGEST_WAIT_SECONDS))),
                     maximum=int(LONGEST_WAIT_SECONDS))
    if wait is None:
        abort(400, description=gettext("wait must be whole seconds, 0 to %(most)d.",
                                       most=int(LONGEST_WAIT_SECONDS)))
    seconds = min(wait, current_app.config.get("DESK_WATCH_SECONDS", wait))
    return answer_when_changed(lambda: _queue_state(story_id), seconds)


def _done(slug: str, message: str, **extra):
    desk_changed()
    if asks_for_json():
        return jsonify(message=message, **extra)
    flash(message, "success")
    return redirect(url_for("desk.questions", slug=slug), 303)


def _refused(slug: str, error: LiveblogError):
    if asks_for_json():
        return json_error(error)
    flash(error.message, "error")
    return redirect(url_for("desk.questions", slug=slug), 303)


@bp.post("/stories/<slug>/questions/switch")
@roles_required(*EDITORS)
def switch_questions(slug: str):
    """Open or close the story's question form; readers' pages follow."""
    story = story_or_404(slug)
    is_open = request.form.get("open") == "1"
    try:
        publishing.update_story(story.id, {"questions_open": is_open})
    except LiveblogError as error:
        return _refused(slug, error)
    return _done(slug, gettext("Readers can send questions.") if is_open
                 else gettext("The question form is closed."))


@bp.post("/stories/<slug>/questions/<int:question_id>/publish")
@roles_required(*EDITORS)
def publish_question(slug: str, question_id: int):
    """Publish the question as a quote in a new entry, with the journalist's answer."""
    story = story_or_404(slug)
    answer = request.form.get("answer", "")
    if len(answer) > ANSWER_CHARS:
        too_long = gettext("The answer must be at most %(most)d characters.", most=ANSWER_CHARS)
        return _refused(slug, LiveblogError(too_long, {"answer": gettext("is too long")}))
    try:
        entry = moderation.publish_question(story.id, question_id, current_user,
                                            answer, request.form.get("headline", "")[:300])
    except LiveblogError as error:
        return _refused(slug, error)
    return _done(slug, gettext("Published, with your answer."), entry=entry.id)


@bp.post("/stories/<slug>/questions/<int:question_id>/reject")
@roles_required(*EDITORS)
def reject_question(slug: str, question_id: int):
    """Take the question off the queue; no reader sees it."""
    try:
        moderation.reject_question(story_or_404(slug).id, question_id, current_user)
    except LiveblogError as error:
        return _refused(slug, error)
    return _done(slug, gettext("Rejected."))


@bp.post("/stories/<slug>/questions/<int:question_id>/block")
@roles_required(*EDITORS)
def block_sender(slug: str, question_id: int):
    """Refuse the sender's further questions and reject those waiting."""
    try:
        count = moderation.block_sender(story_or_404(slug).id, question_id, current_user)
    except LiveblogError as error:
        return _refused(slug, error)
    return _done(slug, ngettext("Sender blocked; %(num)d waiting question rejected.",
                               "Sender blocked; %(num)d waiting questions rejected.", count))


@bp.post("/stories/<slug>/questions/<int:question_id>/forget")
@roles_required(Role.ADMIN)
def forget_sender(slug: str, question_id: int):
    """Delete everything the sender sent, in every story (admins only)."""
    try:
        count = moderation.forget_sender(story_or_404(slug).id, question_id)
    except LiveblogError as error:
        return _refused(slug, error)
    return _done(slug, ngettext("Deleted the sender's %(num)d question.",
                               "Deleted the sender's %(num)d questions.", count))
