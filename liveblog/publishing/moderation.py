"""The desk's decisions on readers' questions: publish as a quote in an entry, reject, block.

Publishing is the only way a reader's words reach other readers, and it goes through
create_entry like any entry: the question becomes a quote, escaped here and cleaned with the
rest of the body, and the question is marked published in the entry's own transaction.
"""

from __future__ import annotations

import html

from sqlalchemy import delete, select, update

from liveblog.content.sanitize import paragraphs
from liveblog.errors import Conflict, Invalid, NotFound
from liveblog.extensions import db
from liveblog.models import (
    BlockedSender,
    Entry,
    QuestionStatus,
    ReaderQuestion,
    User,
    utcnow,
)
from liveblog.publishing.entries import create_entry
from liveblog.publishing.questions import sender_questions

ALREADY_DECIDED = "This question has already been handled by someone else."


def pending_questions(story_id: int) -> list[ReaderQuestion]:
    """The story's questions waiting for the desk, oldest first."""
    return list(db.session.scalars(
        select(ReaderQuestion)
        .where(ReaderQuestion.story_id == story_id,
               ReaderQuestion.status == QuestionStatus.PENDING)
        .order_by(ReaderQuestion.id)
    ))


def pending_question_ids(story_id: int) -> list[int]:
    """The ids of the story's waiting questions: what the desk's long poll compares."""
    return list(db.session.scalars(
        select(ReaderQuestion.id)
        .where(ReaderQuestion.story_id == story_id,
               ReaderQuestion.status == QuestionStatus.PENDING)
        .order_by(ReaderQuestion.id)
    ))


def story_question(story_id: int, question_id: int) -> ReaderQuestion:
    """One question of the story, or NotFound."""
    question = db.session.get(ReaderQuestion, question_id)
    if question is None or question.story_id != story_id:
        raise NotFound("No such question in this story.")
    return question


def quote_html(question: ReaderQuestion) -> str:
    """The question as a quote: its text escaped, line breaks kept, and who asked."""
    lines = "<br>".join(html.escape(line) for line in question.text.split("\n"))
    asker = html.escape(question.name) if question.name else "A reader"
    # In a figure: a top-level blockquote or lone link would be read as an embed to expand.
    return (f"<figure class=\"reader-question\"><blockquote><p>{lines}</p></blockquote>"
            f"<figcaption>Asked by {asker}</figcaption></figure>")


def _decide(story_id: int, question_id: int, status: QuestionStatus, editor: User,
            entry_id: int | None = None) -> None:
    # A conditional UPDATE: of two editors deciding at once, exactly one wins.
    done = db.session.execute(
        update(ReaderQuestion)
        .where(ReaderQuestion.id == question_id, ReaderQuestion.story_id == story_id,
               ReaderQuestion.status == QuestionStatus.PENDING)
        .values(status=status.value, decided_at=utcnow(), decided_by_id=editor.id,
                entry_id=entry_id)
    )
    if done.rowcount != 1:
        story_question(story_id, question_id)  # NotFound if it is not this story's at all
        raise Conflict(ALREADY_DECIDED)


def publish_question(story_id: int, question_id: int, editor: User, answer: str,
                     headline: str | None = None) -> Entry:
    """Publish the question as a quote in a new entry, the journalist's answer under it."""
    question = story_question(story_id, question_id)
    if question.status != QuestionStatus.PENDING:
        raise Conflict(ALREADY_DECIDED)
    if not (answer or "").strip():
        raise Invalid("Write an answer to publish with the question.", {"answer": "is required"})
    body = quote_html(question) + "\n" + paragraphs(answer)
    data = {"body": body}
    if headline and headline.strip():
        data["headline"] = headline

    def mark_published(entry: Entry) -> None:
        _decide(story_id, question_id, QuestionStatus.PUBLISHED, editor, entry.id)

    entry, _ = create_entry(story_id, editor, data, on_created=mark_published)
    return entry


def reject_question(story_id: int, question_id: int, editor: User) -> None:
    """Take the question off the queue; no reader ever sees it."""
    _decide(story_id, question_id, QuestionStatus.REJECTED, editor)
    db.session.commit()


def block_sender(story_id: int, question_id: int, editor: User) -> int:
    """Refuse the sender's further questions and reject those waiting; return how many."""
    question = story_question(story_id, question_id)
    for key in filter(None, (question.sender_hash, question.email_hash)):
        if db.session.get(BlockedSender, key) is None:
            db.session.add(BlockedSender(sender_hash=key, blocked_by_id=editor.id))
    rejected = db.session.execute(
        update(ReaderQuestion)
        .where(sender_questions(question), ReaderQuestion.status == QuestionStatus.PENDING)
        .values(status=QuestionStatus.REJECTED.value, decided_at=utcnow(),
                decided_by_id=editor.id)
    ).rowcount
    db.session.commit()
    return rejected


def forget_sender(story_id: int, question_id: int) -> int:
    """Delete every question from this question's sender, in every story; return how many.

    Entries already published stay: they are the newsroom's, edited or deleted as any entry.
    A block stays too (it is a hash, and keeps refusing the sender).
    """
    question = story_question(story_id, question_id)
    deleted = db.session.execute(
        delete(ReaderQuestion).where(sender_questions(question))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted


def erase_contact_emails(story_id: int) -> None:
    """Drop the story's contact emails (and their hashes): called as the story is archived."""
    db.session.execute(
        update(ReaderQuestion).where(ReaderQuestion.story_id == story_id)
        .values(email=None, email_hash=None)
    )
