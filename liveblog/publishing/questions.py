"""Readers' questions: what a submission may hold, who sent it, and keeping it for the desk.

A question is plain text from an anonymous stranger. It is stored as text (never as HTML), kept
from every reader until an editor publishes it (publishing/moderation.py), and escaped wherever
it is shown. The sender is known only by keyed hashes: HMAC-SHA256, keyed with the app's
SECRET_KEY, of the address (an IPv6 address by its /64, what one subscriber holds) and of the
contact email. That is enough to refuse a blocked sender and to find a sender's questions, and a
copy of the database without the key tells nobody who asked.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, or_, select

from liveblog.content.sanitize import remove_forbidden_characters
from liveblog.errors import Conflict, Invalid, LiveblogError
from liveblog.extensions import db
from liveblog.models import BlockedSender, QuestionStatus, ReaderQuestion, Story, StoryStatus
from liveblog.publishing.validation import EMPTY, NOT_A_STRING, UNKNOWN, too_long

NAME_CHARS = 80
TEXT_CHARS = 1_000
EMAIL_CHARS = 254
# A form field people never see (nor screen readers); a bot fills it. Such a submission gets
# the same 202 as any other and is dropped, so the bot learns nothing from the answer.
HONEYPOT = "website"
HONEYPOT_CHARS = 500
FIELDS = ("name", "text", "email", HONEYPOT)
MAX_LINKS = 2
# Past this many questions waiting in one story, new ones are refused until the desk catches up:
# a flood from many addresses cannot grow the queue without bound.
MAX_PENDING = 500
# Bidirectional overrides and isolates reorder the text around them: "\u202egnp.exe" shows as
# "exe.png". They carry no meaning in a question, so they go, as do the controls HTML forbids.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_LINK = re.compile(r"https?:|www\.", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n{3,}")


class Refused(LiveblogError):
    """A sender the desk has blocked."""

    status = 403


def reader_text(value: str) -> str:
    """Plain text as a reader may send it: no forbidden or bidi controls, newlines kept."""
    text = _BIDI_CONTROLS.sub("", remove_forbidden_characters(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def reader_line(value: str) -> str:
    """One line of reader text (a name): every run of white space becomes one space."""
    return " ".join(reader_text(value).split())


def _string(data: dict, name: str, limit: int, errors: dict) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = NOT_A_STRING
        return None
    if len(value) > limit:
        errors[name] = too_long(limit)
        return None
    try:
        value.encode("utf-8")  # JSON may carry lone surrogates, which no database stores
    except UnicodeEncodeError:
        errors[name] = "must be valid Unicode text without NUL characters"
        return None
    if "\x00" in value:  # refused, as everywhere in the API (the spec says so)
        errors[name] = "must be valid Unicode text without NUL characters"
        return None
    return value


def _email(value: str, errors: dict) -> str | None:
    value = value.strip()
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["email"] = "must be an email address, or left out"
        return None


def question_fields(data: dict) -> tuple[dict, bool]:
    """Validate and clean a submission; return its fields and whether the honeypot was filled."""
    if not isinstance(data, dict):
        raise Invalid("The request body must be a JSON object.")
    errors: dict[str, str] = {name: UNKNOWN for name in sorted(set(data) - set(FIELDS))}
    text = _string(data, "text", TEXT_CHARS, errors)
    name = _string(data, "name", NAME_CHARS, errors)
    email = _string(data, "email", EMAIL_CHARS, errors)
    trap = _string(data, HONEYPOT, HONEYPOT_CHARS, errors)
    fields = {"name": reader_line(name) if name else None, "text": "", "email": None}
    if text is None and "text" not in errors:
        errors["text"] = "is required"
    elif text is not None:
        fields["text"] = reader_text(text)
        if not fields["text"]:
            errors["text"] = EMPTY
    fields["name"] = fields["name"] or None
    if email is not None:
        fields["email"] = _email(email, errors)
    if len(_LINK.findall(fields["text"])) > MAX_LINKS and "text" not in errors:
        errors["text"] = f"may hold at most {MAX_LINKS} links"
    if fields["name"] and _LINK.search(fields["name"]):
        errors["name"] = "must not hold a link"
    if errors:
        raise Invalid("Some fields are not valid.", errors)
    return fields, bool(trap and trap.strip())


def _keyed(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"]
    key = key if isinstance(key, bytes) else key.encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def sender_key(address: str) -> str:
    """The keyed hash that stands for a reader's address (an IPv6 address by its /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return _keyed("address", address)
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return _keyed("address", str(ip.ipv4_mapped))
        return _keyed("address", str(ipaddress.ip_network(f"{ip}/64", strict=False)))
    return _keyed("address", str(ip))


def email_key(email: str) -> str:
    """The keyed hash that stands for a contact email, whatever its letters' case."""
    return _keyed("email", email.casefold())


def is_blocked(*hashes: str | None) -> bool:
    """True if any of these sender hashes is blocked."""
    known = [value for value in hashes if value]
    return bool(known) and db.session.scalar(
        select(func.count()).select_from(BlockedSender)
        .where(BlockedSender.sender_hash.in_(known))
    ) > 0


def submit_question(story_id: int, data: dict, address: str) -> ReaderQuestion | None:
    """Keep a reader's question for the desk; None when the honeypot says a bot sent it."""
    story = db.session.get(Story, story_id)
    if not story.questions_open or story.status != StoryStatus.LIVE or story.archived:
        raise Conflict("This story is not taking questions at the moment.")
    fields, trapped = question_fields(data)
    sender = sender_key(address)
    mail = email_key(fields["email"]) if fields["email"] else None
    if is_blocked(sender, mail):
        raise Refused("Questions from this sender are not accepted.")
    if trapped:
        return None
    waiting = db.session.scalar(
        select(func.count()).select_from(ReaderQuestion)
        .where(ReaderQuestion.story_id == story_id,
               ReaderQuestion.status == QuestionStatus.PENDING)
    )
    if waiting >= MAX_PENDING:
        raise Conflict("This story has too many questions waiting; please try again later.")
    question = ReaderQuestion(story_id=story_id, sender_hash=sender, email_hash=mail, **fields)
    db.session.add(question)
    db.session.commit()
    return question


def sender_questions(question: ReaderQuestion):
    """The condition that finds every question from this question's sender."""
    same = [ReaderQuestion.sender_hash == question.sender_hash]
    if question.email_hash:
        same.append(ReaderQuestion.email_hash == question.email_hash)
    return or_(*same)
