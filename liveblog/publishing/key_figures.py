"""The key-figures box: set it, add to a score, keep every change, tell readers at once.

Every change is a story.updated event whose frame carries the box rendered by its one partial
(templates/_key_figures.html), so pages and embeds swap it in, and resumes replay it by seq.
"""

from __future__ import annotations

import copy

from sqlalchemy import func, select

from liveblog.content.key_figures import render_key_figures
from liveblog.errors import Conflict, Invalid
from liveblog.extensions import db
from liveblog.models import EventType, KeyFiguresChange, Story, User
from liveblog.publishing.changes import Change, story_change
from liveblog.publishing.validation import KEY_FIGURES, key_figures_value

SIDES = ("home", "away")
FIGURE_ROWS = KEY_FIGURES["items"].items[1]  # the most figures a box holds


def emit_story_updated(change: Change, story: Story, editor: User | None,
                       before: dict | None) -> None:
    """Tell readers the story changed; a changed box is also kept, with its seq and editor."""
    seq = change.next_seq()
    if story.key_figures != before:
        db.session.add(KeyFiguresChange(story_id=story.id, seq=seq, key_figures=story.key_figures,
                                        editor_id=editor.id if editor else None))
    change.emit(seq, EventType.STORY_UPDATED,
                {"story": story.to_dict(), "key_figures_html": render_key_figures(story)})


def key_figures_version(story_id: int) -> int:
    """The id of the box's newest change (0: never changed): what a desk form was based on."""
    newest = select(func.max(KeyFiguresChange.id)).where(KeyFiguresChange.story_id == story_id)
    return db.session.scalar(newest) or 0


def key_figures_history(story_id: int, limit: int = 10) -> list[KeyFiguresChange]:
    """The box's latest changes, newest first, for the desk."""
    query = (select(KeyFiguresChange).where(KeyFiguresChange.story_id == story_id)
             .order_by(KeyFiguresChange.id.desc()).limit(limit))
    return list(db.session.scalars(query))


def set_key_figures(story_id: int, value: dict | None, editor: User | None = None,
                    based_on: int | None = None) -> Story:
    """Replace the box (None takes it down); a form based on an older box is a conflict."""
    box = _checked(value)
    with story_change(story_id) as change:
        story = db.session.get(Story, story_id)
        if based_on is not None and based_on != key_figures_version(story_id):
            raise Conflict("The box was changed by someone else since you opened it;"
                           " it now shows what they saved.")
        before = story.key_figures
        story.key_figures = box
        emit_story_updated(change, story, editor, before)
    return story


def add_to_score(story_id: int, side: str, points: int, editor: User | None = None) -> Story:
    """Add points to one side's score, to what it is now: two editors' clicks both count."""
    if side not in SIDES:
        raise Invalid("Some fields are not valid.", {"side": f"must be one of {', '.join(SIDES)}"})
    with story_change(story_id) as change:
        story = db.session.get(Story, story_id)
        before = story.key_figures
        if not before or before["kind"] != "scoreboard":
            raise Conflict("This story has no scoreboard to add to.")
        box = copy.deepcopy(before)
        box[side]["score"] += points
        story.key_figures = _checked(box)
        emit_story_updated(change, story, editor, before)
    return story


def _checked(value: dict | None) -> dict | None:
    errors: dict[str, str] = {}
    box = key_figures_value(value, errors)
    if errors:
        raise Invalid("The key figures are not valid.", errors)
    return box
