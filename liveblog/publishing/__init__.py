"""The one write path: every change to a story or entry, and the event that tells readers."""

from liveblog.publishing.changes import request_hash
from liveblog.publishing.entries import create_entry, delete_entry, update_entry
from liveblog.publishing.imports import import_story
from liveblog.publishing.stories import create_story, update_story
from liveblog.publishing.workflow import (
    publish_due_entries,
    publish_entry,
    reject_entry,
    reorder_key_entries,
)

__all__ = [
    "create_entry",
    "create_story",
    "delete_entry",
    "import_story",
    "publish_due_entries",
    "publish_entry",
    "reject_entry",
    "reorder_key_entries",
    "request_hash",
    "update_entry",
    "update_story",
]
