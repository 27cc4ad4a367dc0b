"""The desk's key-figures editor: set the box from a form, or add a point in one click."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext
from flask_login import current_user

from liveblog.desk.access import EDITORS, bp, roles_required
from liveblog.desk.stories import story_or_404
from liveblog.errors import Conflict, LiveblogError, error_response, json_error
from liveblog.errors import asks_for_json as wants_json
from liveblog.extensions import db
from liveblog.models import Story
from liveblog.publishing.key_figures import (
    FIGURE_ROWS,
    add_to_score,
    key_figures_version,
    set_key_figures,
)


def _whole(text: str):
    """A typed score as a number when it is one; anything else goes to the check as typed."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) < 9 else text


def box_from_form(form) -> dict | None:
    """The box the form describes (None: no box); validation.py judges it."""
    kind = form.get("kind", "")
    if kind not in ("scoreboard", "figures"):
        return None
    box: dict = {"kind": kind, "title": form.get("title", "")}
    if kind == "scoreboard":
        box["period"] = form.get("period", "")
        for side in ("home", "away"):
            box[side] = {"name": form.get(f"{side}_name", ""),
                         "score": _whole(form.get(f"{side}_score", ""))}
    else:
        rows = [(form.get(f"label_{row}", ""), form.get(f"value_{row}", ""))
                for row in range(FIGURE_ROWS)]
        box["items"] = [{"label": label, "value": value} for label, value in rows
                        if label.strip() or value.strip()]
    return box


def _based_on() -> int | None:
    text = request.form.get("based_on", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def _answer(story: Story, message: str):
    """What the editor's script (JSON) or browser (a redirect) gets after a change."""
    if wants_json():
        return jsonify(message=message, key_figures=story.key_figures,
                       version=key_figures_version(story.id))
    flash(message, "success")
    return redirect(url_for("desk.story", slug=story.slug, _anchor="key-figures-editor"))


def _refused(story: Story, error: LiveblogError):
    if wants_json():
        if isinstance(error, Conflict):  # the script shows what the box holds now
            current = {"key_figures": db.session.get(Story, story.id).key_figures,
                       "version": key_figures_version(story.id)}
            return error_response(error.status, error.message, current=current)
        return json_error(error)
    flash(error.message + "".join(f" {name}: {text}." for name, text in error.fields.items()),
          "error")
    return redirect(url_for("desk.story", slug=story.slug, _anchor="key-figures-editor"))


@bp.post("/stories/<slug>/key-figures")
@roles_required(*EDITORS)
def key_figures(slug: str):
    """Replace the story's key-figures box, or take it down; readers see it at once."""
    story = story_or_404(slug)
    try:
        story = set_key_figures(story.id, box_from_form(request.form), editor=current_user,
                                based_on=_based_on())
    except LiveblogError as error:
        return _refused(story, error)
    return _answer(story, gettext("Key figures saved.") if story.key_figures
                   else gettext("Key figures removed."))


@bp.post("/stories/<slug>/key-figures/score")
@roles_required(*EDITORS)
def key_figures_score(slug: str):
    """Add a point to (or, with points=-1, take one from) a side of the scoreboard."""
    story = story_or_404(slug)
    points = -1 if request.form.get("points") == "-1" else 1
    try:
        story = add_to_score(story.id, request.form.get("side", ""), points, editor=current_user)
    except LiveblogError as error:
        return _refused(story, error)
    box = story.key_figures
    return _answer(story, f"{box['home']['name']} {box['home']['score']},"
                          f" {box['away']['name']} {box['away']['score']}.")
