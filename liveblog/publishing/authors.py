"""Who an entry is by: its author and co-authors, set from user ids under the story's lock."""

from __future__ import annotations

from sqlalchemy import select

from liveblog.errors import Invalid
from liveblog.extensions import db
from liveblog.models import Entry, EntryAuthor, User


def set_authors(entry: Entry, user_ids: list[int]) -> bool:
    """Make the first user the entry's author and the rest its co-authors; True if it changed."""
    found = db.session.scalars(select(User).where(User.id.in_(user_ids)))
    users = {user.id: user for user in found}
    missing = [user_id for user_id in user_ids if user_id not in users]
    if missing:
        raise Invalid("Some fields are not valid.", {"authors": f"no user has the id {missing[0]}"})
    if [user.id for user in entry.authors] == user_ids:
        return False
    entry.author = users[user_ids[0]]
    links = entry.coauthors
    # Rows are changed in place and only the surplus removed: a row deleted and another inserted
    # at the same (entry, position) in one flush would collide on the key.
    for position, user_id in enumerate(user_ids[1:], start=1):
        if position <= len(links):
            links[position - 1].user = users[user_id]
        else:
            links.append(EntryAuthor(position=position, user=users[user_id]))
    del links[len(user_ids) - 1:]
    entry.coauthor_count = len(user_ids) - 1
    return True
