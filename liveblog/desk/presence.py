"""Who else has an entry open for editing: a lease renewed by the edit page, expiring by itself.

The other editors learn of a change through ``watch`` (pushed), not from this renewal.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, jsonify, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import delete, select

from liveblog.desk.access import EVERYONE, bp, roles_required
from liveblog.desk.state import desk_changed
from liveblog.desk.stories import story_or_404
from liveblog.extensions import db
from liveblog.models import EditingPresence, Entry, utcnow

# The edit page renews every 10 s; a closed laptop drops out after 30 s.
LEASE = timedelta(seconds=30)


@bp.post("/stories/<slug>/entries/<int:entry_id>/presence")
@roles_required(*EVERYONE)
def presence(slug: str, entry_id: int):
    """Renew (or with leave=1 end) my editing lease and list who else is editing."""
    story = story_or_404(slug)
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.story_id != story.id:
        abort(404, description=gettext("No such entry in this story."))
    now = utcnow()
    db.session.execute(delete(EditingPresence).where(EditingPresence.expires_at < now))
    mine = db.session.scalar(select(EditingPresence).filter_by(entry_id=entry_id,
                                                               user_id=current_user.id))
    if request.form.get("leave") == "1":
        if mine is not None:
            db.session.delete(mine)
    elif mine is None:
        db.session.add(EditingPresence(entry_id=entry_id, user_id=current_user.id,
                                       expires_at=now + LEASE))
    else:
        mine.expires_at = now + LEASE
    db.session.commit()
    desk_changed()  # the other editors of this entry hear of it at once
    others = db.session.scalars(
        select(EditingPresence).where(EditingPresence.entry_id == entry_id,
                                      EditingPresence.user_id != current_user.id)
    ).all()
    return jsonify(editing=sorted(p.user.display_name for p in others))
