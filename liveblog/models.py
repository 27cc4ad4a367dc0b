"""Typed database models: users and their API tokens, stories, entries and their revisions, the
event log, idempotency keys, pictures, who is editing what, webhook endpoints with their
cursors and attempts, polls with their votes, readers' questions with the senders
blocked, the changes of each story's key-figures box, and readers over time with each
entry's reach (counts only)."""

from __future__ import annotations

import enum
import hashlib
from datetime import UTC, date, datetime

from flask_login import UserMixin
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from liveblog.content.labels import DEFAULT_TIMEZONE, entry_label
from liveblog.content.sanitize import remove_forbidden_characters
from liveblog.extensions import db

DEFAULT_LABEL_FORMAT = "UPDATE %H%M %Z"
# Times are stored as UTC; PostgreSQL keeps the zone, SQLite hands back naive UTC values.
UTC_TIME = DateTime(timezone=True)


def utcnow() -> datetime:
    """Return the current time in UTC (a callable default, evaluated per row)."""
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """Attach UTC to a naive datetime read back from SQLite."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def iso(value: datetime | None) -> str | None:
    """Format a stored time as ISO 8601 with a trailing Z."""
    value = as_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


class Role(enum.StrEnum):
    ADMIN = "admin"
    EDITOR = "editor"
    CONTRIBUTOR = "contributor"


class StoryStatus(enum.StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    ENDED = "ended"


class EntryStatus(enum.StrEnum):
    DRAFT = "draft"  # saved in the desk, seen by no reader
    PENDING = "pending"  # a contributor's entry waiting for an editor
    SCHEDULED = "scheduled"  # published by the server at scheduled_for
    PUBLISHED = "published"
    REJECTED = "rejected"
    DELETED = "deleted"


class EventType(enum.StrEnum):
    ENTRY_CREATED = "entry.created"
    ENTRY_UPDATED = "entry.updated"
    ENTRY_DELETED = "entry.deleted"
    STORY_UPDATED = "story.updated"
    POLL_UPDATED = "poll.updated"  # a poll's tallies, at most once a second (publishing/polls.py)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default=Role.CONTRIBUTOR.value)
    # The desk's interface language for this editor (a tag from web/i18n.LANGUAGES).
    language: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    # The byline's profile (validation.PROFILE): a picture's address and a job, e.g.
    # "Correspondent in Kyiv". "role" above is the desk permission, not this.
    photo_url: Mapped[str | None] = mapped_column(String(500))
    job_title: Mapped[str | None] = mapped_column(String(120))

    @validates("display_name")
    def _printable_name(self, _key: str, name: str) -> str:
        # A name reaches bylines in pages and feeds; whoever sets it (desk, CLI), it stays
        # free of characters HTML and XML forbid.
        return remove_forbidden_characters(name)

    def set_password(self, password: str) -> None:
        """Store a salted scrypt hash of the password."""
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        """Tell whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    @property
    def can_publish(self) -> bool:
        """Editors and admins publish directly; contributors wait for approval."""
        return self.role in (Role.ADMIN, Role.EDITOR)

    def to_dict(self) -> dict:
        """The public shape of a user: a byline, never an email."""
        return {"id": self.id, "name": self.display_name}

    def byline(self) -> dict:
        """The user as an entry's author: name, job and picture, never an email."""
        return {"id": self.id, "name": self.display_name, "role": self.job_title,
                "photo": self.photo_url}


class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # Only a SHA-256 of the token is kept: a leaked database leaks no usable token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    revoked_at: Mapped[datetime | None] = mapped_column(UTC_TIME)

    user: Mapped[User] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        """Hash a presented token the way it is stored."""
        return hashlib.sha256(token.encode()).hexdigest()


class Story(db.Model):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default=StoryStatus.LIVE.value)
    timezone: Mapped[str] = mapped_column(String(64), default=DEFAULT_TIMEZONE)
    label_format: Mapped[str] = mapped_column(String(64), default=DEFAULT_LABEL_FORMAT)
    # The story's language (BCP 47): the reader page's lang and dir, its labels and dates.
    language: Mapped[str] = mapped_column(String(35), default="en", server_default="en")
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    # The newest event's sequence number; incremented under a row lock by the publishing service.
    last_seq: Mapped[int] = mapped_column(default=0)
    # An ended story can be archived: a static page for readers, with no live connection.
    archived: Mapped[bool] = mapped_column(default=False)
    cover_url: Mapped[str | None] = mapped_column(String(500))
    cover_alt: Mapped[str | None] = mapped_column(String(300))
    cover_caption: Mapped[str | None] = mapped_column(String(500))
    cover_credit: Mapped[str | None] = mapped_column(String(200))
    featured_kicker: Mapped[str | None] = mapped_column(String(80))  # e.g. "TUESDAY FEATURE"
    featured_title: Mapped[str | None] = mapped_column(String(300))
    featured_url: Mapped[str | None] = mapped_column(String(500))
    # Whether readers may send questions (api/questions.py); closed unless an editor opens it.
    questions_open: Mapped[bool] = mapped_column(default=False)
    # The box at the top of the page: a scoreboard or labelled figures, as validation.py checks
    # it; each change is kept in key_figures_changes.
    key_figures: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # The schedule (publishing/story_schedule.py): a draft goes live at opens_at, a live story
    # ends at closes_at, and one quiet for archive_after_hours is ended and archived.
    opens_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    closes_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    archive_after_hours: Mapped[int | None]

    def to_dict(self) -> dict:
        """The one JSON shape of a story."""
        return {
            "slug": self.slug,
            "title": self.title,
            "summary": self.summary,
            "status": self.status,
            "timezone": self.timezone,
            "label_format": self.label_format,
            "language": self.language,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "ended_at": iso(self.ended_at),
            "last_seq": self.last_seq,
            "archived": self.archived,
            "cover": {
                "url": self.cover_url,
                "alt": self.cover_alt,
                "caption": self.cover_caption,
                "credit": self.cover_credit,
            } if self.cover_url else None,
            "featured": {
                "kicker": self.featured_kicker,
                "title": self.featured_title,
                "url": self.featured_url,
            } if self.featured_url else None,
            "questions_open": self.questions_open,
            "key_figures": self.key_figures,
            "opens_at": iso(self.opens_at),
            "closes_at": iso(self.closes_at),
            "archive_after_hours": self.archive_after_hours,
        }


class Entry(db.Model):
    __tablename__ = "entries"
    __table_args__ = (
        Index("ix_entries_story_published", "story_id", "status", "published_at"),
        # The LATEST box: a story's few key entries without reading all its entries.
        Index("ix_entries_story_key", "story_id", "pinned", "key_order"),
        # The scheduler's due-entries query, run every second by every process.
        Index("ix_entries_status_scheduled", "status", "scheduled_for"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    headline: Mapped[str | None] = mapped_column(String(300))
    label_override: Mapped[str | None] = mapped_column(String(80))
    body_html: Mapped[str] = mapped_column(Text)
    # What the journalist wrote, before cleaning and embeds: the desk edits this, not body_html.
    body_source: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=EntryStatus.PUBLISHED.value)
    pinned: Mapped[bool] = mapped_column(default=False)
    # Set on the story's first published entry; it is labelled "ORIGINAL ENTRY".
    is_original: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # Seq of the event that last changed this entry, so readers can tell fresh from stale.
    seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTC_TIME)
    # Key entries are listed in the LATEST box by this order, highest first.
    key_order: Mapped[int] = mapped_column(default=0)
    correction_note: Mapped[str | None] = mapped_column(String(500))
    corrected_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # On the entry, not the poll: an entry without one (nearly all) costs no query to say so.
    poll_id: Mapped[int | None] = mapped_column(ForeignKey("polls.id"))

    story: Mapped[Story] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    poll: Mapped[Poll | None] = relationship()
    # Co-authors after the author, in order. Their count is kept on the row so the many entries
    # with none cost no query; one that has some reads them when rendered.
    coauthor_count: Mapped[int] = mapped_column(default=0, server_default="0")
    coauthors: Mapped[list[EntryAuthor]] = relationship(
        order_by="EntryAuthor.position", cascade="all, delete-orphan")

    @property
    def authors(self) -> list[User]:
        """Everyone the entry is by: its author first, then its co-authors in order."""
        first = [self.author] if self.author else []
        return first + [link.user for link in self.coauthors] if self.coauthor_count else first

    @property
    def label(self) -> str:
        """The label readers see above the entry, e.g. "UPDATE 1600 GMT"."""
        return entry_label(
            self.published_at,
            self.story.timezone,
            self.story.label_format,
            is_original=self.is_original,
            override=self.label_override,
            language=self.story.language,
        )

    def to_dict(self) -> dict:
        """The one JSON shape of an entry, without its rendered HTML."""
        return {
            "id": self.id,
            "story": self.story.slug,
            "seq": self.seq,
            "status": self.status,
            "published_at": iso(self.published_at),
            "updated_at": iso(self.updated_at),
            "label": self.label,
            "label_override": self.label_override,
            "headline": self.headline,
            "body_html": self.body_html,
            "pinned": self.pinned,
            "key_order": self.key_order,
            "original": self.is_original,
            "version": self.version,
            "author": self.author.to_dict() if self.author else None,
            "authors": [user.byline() for user in self.authors],
            "correction": {
                "note": self.correction_note,
                "at": iso(self.corrected_at),
            } if self.correction_note else None,
            "poll": self.poll.to_dict() if self.poll else None,
        }


class Poll(db.Model):
    """A question on an entry with 2 to 6 options; each reader's browser votes once."""

    __tablename__ = "polls"
    # The scheduler's look for polls whose closing time has passed.
    __table_args__ = (Index("ix_polls_open_closes", "closed_at", "closes_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(300))
    closes_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    closed_at: Mapped[datetime | None] = mapped_column(UTC_TIME)  # closed by hand or by time
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    # What the last poll.updated frame said, and when: frames are kept to one a second.
    announced_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    announced: Mapped[str] = mapped_column(String(200), default="")

    options: Mapped[list[PollOption]] = relationship(
        order_by="PollOption.position", lazy="selectin", cascade="all, delete-orphan")

    @property
    def closed(self) -> bool:
        """Closed by hand, or its closing time has passed."""
        closes_at = as_utc(self.closes_at)
        return self.closed_at is not None or (closes_at is not None and closes_at <= utcnow())

    @property
    def tallies(self) -> list[int]:
        """Votes per option, in the options' order."""
        return [option.votes for option in self.options]

    def to_dict(self) -> dict:
        """The one JSON shape of a poll: what readers see, never who voted."""
        return {
            "id": self.id,
            "question": self.question,
            "options": [option.text for option in self.options],
            "tallies": self.tallies,
            "closed": self.closed,
            "closes_at": iso(self.closes_at),
        }


class PollOption(db.Model):
    """One answer of a poll and its count, raised by one atomic UPDATE per vote."""

    __tablename__ = "poll_options"

    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(String(100))
    votes: Mapped[int] = mapped_column(default=0)


class PollVote(db.Model):
    """One vote: the option and a hash of the voter's token, never an address."""

    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "voter_hash", name="uq_poll_votes_voter"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id"))
    # SHA-256 of the poll and the token together: one browser's votes in two polls do not match.
    voter_hash: Mapped[str] = mapped_column(String(64))
    option: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)

    @staticmethod
    def hash(poll_id: int, voter: str) -> str:
        """Hash a voter token the way it is stored for this poll."""
        return hashlib.sha256(f"{poll_id}:{voter}".encode()).hexdigest()


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("story_id", "seq", name="uq_events_story_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    seq: Mapped[int]
    type: Mapped[str] = mapped_column(String(32))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    # The exact frame sent to readers, serialised once when the event is written.
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class IdempotencyKey(db.Model):
    """A client's retry key, remembered with the entry its first request created."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    # A hash of the first request, so a key reused for a different request is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class EntryRevision(db.Model):
    """An entry as it was before an edit: who changed it, when, and what it said."""

    __tablename__ = "entry_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    version: Mapped[int]
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    headline: Mapped[str | None] = mapped_column(String(300))
    label_override: Mapped[str | None] = mapped_column(String(80))
    body_html: Mapped[str] = mapped_column(Text)
    correction_note: Mapped[str | None] = mapped_column(String(500))

    editor: Mapped[User | None] = relationship()


class Media(db.Model):
    """An uploaded picture, stored re-encoded at a few widths under the instance folder."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int]
    height: Mapped[int]
    # The widths stored, comma-separated, e.g. "480,960,1600".
    widths: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class EditingPresence(db.Model):
    """Who has an entry open for editing, until expires_at (renewed while the form is open)."""

    __tablename__ = "editing_presence"
    __table_args__ = (UniqueConstraint("entry_id", "user_id", name="uq_presence_entry_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTC_TIME)

    user: Mapped[User] = relationship()


class WebhookEndpoint(db.Model):
    """A receiver of the event log: every matching event is POSTed to it, signed, in order."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200))
    # None: every story.
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"))
    # Comma-separated event types; empty: every type.
    event_types: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    # Where delivery stands is kept per story, in WebhookCursor.
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    # One process at a time delivers to an endpoint: the lease's holder writes its random token
    # here, and every write it makes while delivering checks it is still the holder. The lease
    # lapses if that process dies.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTC_TIME)

    story: Mapped[Story | None] = relationship()


class WebhookCursor(db.Model):
    """How far an endpoint has got in one story's log: the seq of the last event it was given."""

    __tablename__ = "webhook_cursors"

    # A story's seq is gapless and commits in order, so nothing can appear behind this cursor
    # (an event id can: ids are handed out at insert, and transactions commit in any order).
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"),
                                             primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class WebhookAttempt(db.Model):
    """One try at delivering one event to one endpoint, shown in the desk."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint", "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"))
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    attempted_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[bool] = mapped_column(default=False)

    event: Mapped[Event] = relationship()


class PushCursor(db.Model):
    """How far alerts have read a story's log, and the lease of the one process delivering them."""

    __tablename__ = "push_cursors"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"), primary_key=True)
    # The seq of the last event looked at for key entries (gapless and committed in order).
    last_seq: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTC_TIME)


class PushAlert(db.Model):
    """One key update to tell subscribers: the notification's JSON, at the seq that made it."""

    __tablename__ = "push_alerts"
    __table_args__ = (UniqueConstraint("story_id", "seq", name="uq_push_alerts_story_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    seq: Mapped[int]
    payload: Mapped[str] = mapped_column(Text)  # {"title", "body", "url"}
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class PushSubscription(db.Model):
    """A browser's Web Push subscription to a story's key updates; nothing else of the reader."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("story_id", "endpoint", name="uq_push_subscriptions_story_endpoint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    endpoint: Mapped[str] = mapped_column(String(1000))
    p256dh: Mapped[str] = mapped_column(String(100))  # the browser's P-256 key, base64url
    auth: Mapped[str] = mapped_column(String(40))  # its 16-byte auth secret, base64url
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    # The seq of the last alert sent (or given up); alerts before the subscription never go.
    last_seq: Mapped[int] = mapped_column(default=0)
    failures: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTC_TIME)


class QuestionStatus(enum.StrEnum):
    PENDING = "pending"  # in the desk's queue; no reader sees it
    PUBLISHED = "published"  # quoted in an entry (entry_id)
    REJECTED = "rejected"


class ReaderQuestion(db.Model):
    """A reader's question, held for the desk until an editor publishes or rejects it.

    Its text is plain text, escaped wherever it is shown. The sender is known only by keyed
    hashes (publishing/questions.py), so a blocked sender can be refused without keeping the
    address; the contact email is kept for the journalist alone, until the story is archived.
    """

    __tablename__ = "reader_questions"
    __table_args__ = (Index("ix_reader_questions_story_status", "story_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    name: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(254))
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    email_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default=QuestionStatus.PENDING.value)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTC_TIME)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))


class BlockedSender(db.Model):
    """A keyed hash of an address or an email whose questions are refused."""

    __tablename__ = "blocked_senders"

    sender_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    blocked_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    blocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class KeyFiguresChange(db.Model):
    """One change of a story's key-figures box: what it became, when, by whom, at which seq."""

    __tablename__ = "key_figures_changes"
    __table_args__ = (Index("ix_key_figures_changes_story", "story_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id"))
    seq: Mapped[int]  # the story.updated event that told readers
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    # None: the box was taken down.
    key_figures: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

    editor: Mapped[User | None] = relationship()


class EntryAuthor(db.Model):
    """A co-author of an entry, at a position after the entry's author (1 first)."""

    __tablename__ = "entry_authors"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(lazy="joined")


class AudienceSample(db.Model):
    """A story's open readers in every process at one sample time (analytics/samples.py)."""

    __tablename__ = "audience_samples"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"),
                                          primary_key=True)
    # The start of the sample period: every process computes the same one, so the first
    # process's insert is the sample and the others' are no-ops.
    taken_at: Mapped[datetime] = mapped_column(UTC_TIME, primary_key=True)
    readers: Mapped[int]


class EntryReach(db.Model):
    """How many readers' pages showed an entry on screen (analytics/reach.py); nothing of them."""

    __tablename__ = "entry_reach"

    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"),
                                          primary_key=True, autoincrement=False)
    seen: Mapped[int] = mapped_column(default=0, server_default="0")


class VisitCount(db.Model):
    """One day's views of a story by kind (page, embed, referrer, site) and key (a host name).

    Counters only: no address, user agent or visitor digest is kept (analytics/visits.py).
    """

    __tablename__ = "visit_counts"

    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"),
                                          primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)  # UTC
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    # A referrer's or embedding site's host name, "" for the page and embed totals.
    key: Mapped[str] = mapped_column(String(253), primary_key=True)
    views: Mapped[int] = mapped_column(default=0, server_default="0")
    uniques: Mapped[int] = mapped_column(default=0, server_default="0")
