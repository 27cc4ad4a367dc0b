"""Creating stories and changing them; a change readers can see is an event."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from liveblog.content.labels import LABEL_FORMAT, default_label_format
from liveblog.errors import Conflict, Invalid
from liveblog.extensions import db
from liveblog.models import KeyFiguresChange, Story, StoryStatus, User, utcnow
from liveblog.publishing.changes import story_change
from liveblog.publishing.key_figures import emit_story_updated
from liveblog.publishing.moderation import erase_contact_emails
from liveblog.publishing.validation import story_fields


def create_story(data: dict, editor: User | None = None) -> Story:
    """Create a story from validated fields; a taken slug is a conflict."""
    fields = story_fields(data)
    _refuse_archiving_unless_ended(fields)
    # A form sends the English default it showed (the desk's does): that is no choice either.
    if "language" in fields and fields.get("label_format") in (None, LABEL_FORMAT):
        fields["label_format"] = default_label_format(fields["language"])
    story = Story(**fields)
    if story.status == StoryStatus.ENDED:
        story.ended_at = utcnow()
    db.session.add(story)
    try:
        if story.key_figures:  # the box's first version opens its history
            db.session.flush()
            db.session.add(KeyFiguresChange(story_id=story.id, seq=0, key_figures=story.key_figures,
                                            editor_id=editor.id if editor else None))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(f"The slug {fields['slug']!r} is taken.", {"slug": "is taken"}) from None
    return story


def update_story(story_id: int, data: dict, editor: User | None = None) -> Story:
    """Change a story's fields and tell its readers; ending it records the end time."""
    fields = story_fields(data, partial=True)
    if "status" in fields:
        _refuse_archiving_unless_ended(fields)
    with story_change(story_id) as change:
        story = db.session.get(Story, story_id)
        before = story.key_figures  # a changed box is kept in its history (key_figures.py)
        if "status" in fields and fields["status"] != story.status:
            story.ended_at = utcnow() if fields["status"] == StoryStatus.ENDED else None
        _follow_language(story, fields)
        for name, value in fields.items():
            setattr(story, name, value)
        if story.archived and story.status != StoryStatus.ENDED:
            if fields.get("archived"):
                # The body alone is valid (the spec refuses archived with another status); it
                # is the story's state that refuses it.
                raise Conflict("Only an ended story can be archived.", {"archived": "not ended"})
            story.archived = False  # reopening a story brings it back to life
        if story.archived:
            # Readers' contact emails were for this story's coverage; its archive needs none.
            erase_contact_emails(story.id)
        emit_story_updated(change, story, editor, before)
    return story


def _follow_language(story: Story, fields: dict) -> None:
    # A story that kept its language's default label format takes the new language's; one
    # with a format of its own keeps it ("still overridable per story").
    language = fields.get("language")
    if language and fields.get("label_format", story.label_format) == story.label_format \
            == default_label_format(story.language):
        fields["label_format"] = default_label_format(language)


def _refuse_archiving_unless_ended(fields: dict) -> None:
    # A body that archives and sets another status contradicts itself: a 422, as the spec says.
    if fields.get("archived") and fields.get("status", StoryStatus.DRAFT) != StoryStatus.ENDED:
        raise Invalid("Only an ended story can be archived.", {"archived": "needs status ended"})
