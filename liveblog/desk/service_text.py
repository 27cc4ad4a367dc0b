"""The publishing service's refusals in the editor's language, at the desk's edge.

The service and the API speak English (machine clients read them); the desk shows the same
refusals to journalists, so it looks each message up here: a fixed sentence by its text, one with
a value (a length, a version) by its shape. A message not listed stays as the service wrote it.
"""

from __future__ import annotations

import re

from flask_babel import gettext

from liveblog.desk.script_text import N_

SERVICE_TEXT = (
    # Whole refusals
    N_("Some fields are not valid."),
    N_("Some fields of the poll are not valid."),
    N_("No such story."),
    N_("No such entry in this story."),
    N_("No such question in this story."),
    N_("This question has already been handled by someone else."),
    N_("Write an answer to publish with the question."),
    N_("The story has ended; reopen it to post again."),
    N_("The story has ended; reopen it to publish."),
    N_("Say when to publish."),
    N_("The publishing time has passed."),
    N_("Give the time as YYYY-MM-DD HH:MM."),
    N_("Nothing to change: send body, headline, label, pinned, correction or poll."),
    N_("This entry already has a poll; it can be changed or closed."),
    N_("A new poll needs a question and its answers."),
    N_("A new poll cannot be closed."),
    N_("This entry has no poll: send a question and its answers to add one."),
    N_("Readers have voted; the answers can no longer change."),
    N_("This poll has closed."),
    N_("Send every key entry of the story exactly once."),
    N_("This story has no scoreboard to add to."),
    N_("The key figures are not valid."),
    N_("The box was changed by someone else since you opened it; it now shows what they saved."),
    N_("Only an ended story can be archived."),
    N_("The picture is too tall and narrow to publish."),
    N_("That file is not a picture (JPEG, PNG, GIF or WebP)."),
    N_("Describe the picture in its alt text."),
    N_("A webhook URL must be an http:// or https:// address."),
    N_("Put no user name or password in a webhook URL."),
    N_("The webhook's host name does not resolve."),
    N_("A signing secret needs at least 16 characters."),
    N_("This is not a liveblog story archive."),
    N_("The zip holds no story.json."),
    N_("The archive is not valid JSON."),
    N_("The archive lists pictures but is not a zip holding them."),
    N_("The database is not answering, so nothing was saved. Your text is kept; "
       "try again in a few seconds."),
    # What is wrong with one field
    N_("is required"),
    N_("must be a string"),
    N_("must be true or false"),
    N_("is not a known field"),
    N_("must not be empty"),
    N_("must be an http(s) address"),
    N_("must be lower-case letters, digits and single hyphens"),
    N_("must be valid Unicode text without NUL characters"),
    N_("must be an IANA time zone such as Europe/London"),
    N_("must be a short strftime format using %H %M %Z and friends"),
    N_("must be after opens_at"),
    N_("must be an ISO 8601 date and time with its UTC offset"),
    N_("must be in the future"),
    N_("must be a JSON object"),
    N_("must be false"),
    N_("must name each author once"),
    N_("is taken"),
    N_("is not a date and time"),
    N_("does not exist (the clocks go forward)"),
    N_("needs status ended"),
    N_("not ended"),
    N_("too short"),
)

# Messages with a value in them: the value is read from the English and put in the translation.
SERVICE_SHAPES = (
    N_("must be at most %(count)s characters"),
    N_("must be one of %(choices)s"),
    N_("must be a whole number from %(low)s to %(high)s"),
    N_("must be a list of %(fewest)s to %(most)s answers"),
    N_("must be a list of %(fewest)s to %(most)s figures"),
    N_("must be a list of %(fewest)s to %(most)s user ids"),
    N_("no user has the id %(id)s"),
    N_("The entry has changed since version %(old)s; it is now at version %(new)s."),
    N_("The slug %(slug)s is taken."),
    N_("A story called %(slug)s exists here; import with rename to add a copy."),
    N_("No story called %(slug)s."),
    N_("The picture is larger than %(size)s."),
)


def _shape(msgid: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", msgid)  # text, name, text, name, ..., text
    pattern = "".join(re.escape(part) if index % 2 == 0 else f"(?P<{part}>.+?)"
                      for index, part in enumerate(parts))
    return re.compile(f"^{pattern}$", re.DOTALL)


_SHAPES = tuple((_shape(msgid), msgid) for msgid in SERVICE_SHAPES)


def desk_text(message: str) -> str:
    """A service message in the desk's language (as written when it has no translation)."""
    if not isinstance(message, str) or not message:
        return message
    for shape, msgid in _SHAPES:
        found = shape.match(message)
        if found:
            return gettext(msgid, **found.groupdict())
    return gettext(message)
