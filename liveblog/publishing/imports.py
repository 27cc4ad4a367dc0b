"""Writing a whole story from an archive, through the same story lock and event log."""

from __future__ import annotations

from liveblog.content.sanitize import clean_html
from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import Entry, EntryRevision, EntryStatus, EventType, Story, User
from liveblog.publishing.authors import set_authors
from liveblog.publishing.changes import story_change
from liveblog.publishing.polls import archived_poll
from liveblog.publishing.stories import create_story
from liveblog.publishing.validation import entry_fields


def import_story(story_data: dict, entries: list[dict], authors: dict[str, User],
                 times: dict | None = None) -> Story:
    """Create a story and its entries as they were, and the events that show them to readers.

    Entries keep their times, labels, key order and corrections, so the page reads exactly as it
    did; each published one gets an entry.created event, oldest first, so the new log replays
    to the same page.
    """
    story = create_story(story_data)
    with story_change(story.id) as change:
        story = db.session.get(Story, story.id)
        for record in sorted(entries, key=lambda r: (r["published_at"], r["position"])):
            fields = _imported_fields(record)
            entry = Entry(
                story_id=story.id, author=authors.get(record.get("author_email") or ""),
                status=record["status"], pinned=record.get("pinned", False),
                key_order=record.get("key_order", 0), is_original=record.get("original", False),
                published_at=record["published_at"], updated_at=record["updated_at"],
                created_at=record["created_at"], scheduled_for=record.get("scheduled_for"),
                correction_note=record.get("correction_note"),
                corrected_at=record.get("corrected_at"), version=record.get("version", 1),
                **fields,
            )
            entry.story = story
            if record.get("poll"):
                entry.poll = archived_poll(record["poll"])
            db.session.add(entry)
            db.session.flush()
            coauthors = [authors.get(email or "") for email in record.get("coauthor_emails", [])]
            if entry.author is not None and coauthors and None not in coauthors:
                set_authors(entry, [entry.author.id, *(user.id for user in coauthors)])
            for revision in record.get("revisions", []):
                db.session.add(EntryRevision(
                    entry_id=entry.id, version=revision["version"],
                    editor_id=getattr(authors.get(revision.get("editor_email") or ""), "id", None),
                    created_at=revision["created_at"], headline=revision.get("headline"),
                    label_override=revision.get("label_override"),
                    body_html=revision["body_html"],
                    correction_note=revision.get("correction_note"),
                ))
            if entry.status == EntryStatus.PUBLISHED:
                change.emit_entry(EventType.ENTRY_CREATED, entry)
        db.session.flush()
        for name, value in (times or {}).items():  # created, updated, ended as they were
            setattr(story, name, value)
    return story


def _imported_fields(record: dict) -> dict:
    """An archived entry's fields, checked as the API checks them."""
    data = {"body": record["body"], "headline": record.get("headline") or "",
            "label": record.get("label") or ""}
    try:
        return entry_fields(data)
    except Invalid as refusal:
        if "body" not in refusal.fields:
            raise
    # Written before pasted frames and scripts were refused, when they were dropped silently:
    # the page showed the body without them, and so does the import.
    return entry_fields({**data, "body": clean_html(record["body"])})
