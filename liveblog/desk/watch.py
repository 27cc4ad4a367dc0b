"""The desk's long poll: its state as soon as it differs from what the page shows.

The desk's script asks with the token of the state it shows; the answer comes as soon as the
state differs. The database is the authority, because another server process may have made the
change: the wait reads it again every CHECK_SECONDS. A change made through this process's desk
wakes the waiting desks at once (``state.desk_changed``). Nothing unpublished goes near the
public live socket.
"""

from __future__ import annotations

import time

from flask import abort, current_app, jsonify, request, url_for
from flask_babel import gettext
from flask_login import current_user

from liveblog.desk.access import EVERYONE, bp, roles_required
from liveblog.desk.state import desk_state, wait_for_change
from liveblog.desk.stories import story_or_404
from liveblog.extensions import db
from liveblog.live import shutdown
from liveblog.models import Story
from liveblog.web.params import ascii_int

# A change made by another process is seen within this (plus the answer's way back).
CHECK_SECONDS = 0.4
# Under every proxy's idle timeout; the script asks again at once.
LONGEST_WAIT_SECONDS = 20.0


def _wait_seconds() -> float:
    raw = request.args.get("wait")
    if raw is None:
        return current_app.config.get("DESK_WATCH_SECONDS", LONGEST_WAIT_SECONDS)
    seconds = ascii_int(raw, maximum=int(LONGEST_WAIT_SECONDS))
    if seconds is None:
        abort(400, description=gettext("wait must be whole seconds, 0 to %(most)d.",
                                       most=int(LONGEST_WAIT_SECONDS)))
    return float(seconds)


@bp.get("/stories/<slug>/watch")
@roles_required(*EVERYONE)
def watch(slug: str):
    """The desk's state as soon as it differs from ?since=<token>, or unchanged after the wait."""
    story_id = story_or_404(slug).id
    user_id = current_user.id
    entry_id = None
    if "entry" in request.args:
        entry_id = ascii_int(request.args["entry"])
        if entry_id is None:
            abort(400, description=gettext("entry must be an entry id (digits 0-9)."))
    return answer_when_changed(lambda: desk_state(story_id, user_id, entry_id), _wait_seconds())


def answer_when_changed(read_state, seconds: float):
    """read_state()'s answer as soon as its token differs from ?since=, or after `seconds`."""
    since = request.args.get("since", "")
    deadline = time.monotonic() + seconds
    app = current_app._get_current_object()
    while True:
        state = read_state()
        # End the read before waiting: no transaction (or pooled connection) held meanwhile.
        db.session.close()
        left = deadline - time.monotonic()
        if state["token"] != since or left <= 0 or shutdown.stopping(app):
            break
        wait_for_change(min(CHECK_SECONDS, left))
    response = jsonify(state)
    response.headers["Cache-Control"] = "no-store"
    return response


def watch_url(story: Story, entry_id: int | None = None) -> str:
    """The address the desk's script long-polls for this story (and entry)."""
    return url_for("desk.watch", slug=story.slug, entry=entry_id)
