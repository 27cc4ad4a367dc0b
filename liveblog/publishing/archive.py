"""Story archives: one story with its entries, revisions, authors and pictures, as JSON or zip.

An archive moves a story between instances: importing it into a fresh database reproduces the
reader page exactly. Pictures travel as their stored files (a zip when there are any) and get
new ids on import, so their addresses in bodies and the cover are rewritten.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from datetime import datetime

from sqlalchemy import select

from liveblog import publishing
from liveblog.content.media import media_folder
from liveblog.content.sanitize import plain_text
from liveblog.errors import Conflict, Invalid, NotFound
from liveblog.extensions import db
from liveblog.models import Entry, EntryRevision, EntryStatus, Media, Poll, Role, Story, User, iso

FORMAT = "liveblog-story"
VERSION = 1
MEDIA_URL = re.compile(r"/media/(\d+)/")
STORY_FIELDS = ("slug", "title", "summary", "status", "timezone", "label_format", "language",
                "cover_url", "cover_alt", "cover_caption", "cover_credit", "featured_kicker",
                "featured_title", "featured_url", "key_figures")
KEPT = (EntryStatus.PUBLISHED, EntryStatus.DRAFT, EntryStatus.PENDING, EntryStatus.SCHEDULED)


def export_story(slug: str) -> tuple[dict, list[Media]]:
    """The archive's JSON for a story, and the pictures it uses."""
    story = db.session.scalar(select(Story).filter_by(slug=slug))
    if story is None:
        raise NotFound(f"No story called {slug!r}.")
    entries = db.session.scalars(
        select(Entry).where(Entry.story_id == story.id, Entry.status.in_(KEPT)).order_by(Entry.id)
    ).all()
    # Everyone in a byline (co-authors too) and every editor of a revision, by email.
    people = {user.email: user for entry in entries for user in entry.authors}
    records = []
    for position, entry in enumerate(entries):
        revisions = db.session.scalars(
            select(EntryRevision).filter_by(entry_id=entry.id).order_by(EntryRevision.version)
        ).all()
        for revision in revisions:
            if revision.editor:
                people[revision.editor.email] = revision.editor
        records.append(_entry_record(entry, position, revisions))
    used = {int(m) for text in [story.cover_url or ""] + [r["body"] for r in records]
            for m in MEDIA_URL.findall(text)}
    media = db.session.scalars(select(Media).where(Media.id.in_(used))).all() if used else []
    data = {
        "format": FORMAT, "version": VERSION,
        "story": {**{name: getattr(story, name) for name in STORY_FIELDS},
                  "created_at": iso(story.created_at), "updated_at": iso(story.updated_at),
                  "ended_at": iso(story.ended_at)},
        "authors": [{"email": email, "name": user.display_name, "role": user.job_title}
                    for email, user in sorted(people.items())],
        "entries": records,
        "media": [{"id": m.id, "content_type": m.content_type, "width": m.width,
                   "height": m.height, "widths": m.widths, "sha256": m.sha256} for m in media],
    }
    return data, list(media)


def _entry_record(entry: Entry, position: int, revisions: list[EntryRevision]) -> dict:
    return {
        "position": position, "status": entry.status,
        "author_email": entry.author.email if entry.author else None,
        "coauthor_emails": [link.user.email for link in entry.coauthors],
        "headline": entry.headline, "label": entry.label_override,
        "body": entry.body_source or entry.body_html, "pinned": entry.pinned,
        "key_order": entry.key_order, "original": entry.is_original, "version": entry.version,
        "published_at": iso(entry.published_at), "updated_at": iso(entry.updated_at),
        "created_at": iso(entry.created_at), "scheduled_for": iso(entry.scheduled_for),
        "correction_note": entry.correction_note, "corrected_at": iso(entry.corrected_at),
        "revisions": [{
            "version": r.version, "editor_email": r.editor.email if r.editor else None,
            "created_at": iso(r.created_at), "headline": r.headline,
            "label_override": r.label_override, "body_html": r.body_html,
            "correction_note": r.correction_note,
        } for r in revisions],
        "poll": _poll_record(entry.poll) if entry.poll else None,
    }


def _poll_record(poll: Poll) -> dict:
    # The counts readers saw, not the votes: a voter's hash is reader data, and only means
    # something beside this poll's id, which the copy will not have.
    return {"question": poll.question, "options": [option.text for option in poll.options],
            "tallies": poll.tallies, "created_at": iso(poll.created_at),
            "closes_at": iso(poll.closes_at), "closed_at": iso(poll.closed_at)}


def write_archive(data: dict, media: list[Media], out) -> None:
    """Write JSON, or a zip holding story.json and the pictures' files when there are any."""
    if not media:
        out.write(json.dumps(data, ensure_ascii=False, indent=1).encode())
        return
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("story.json", json.dumps(data, ensure_ascii=False, indent=1))
        for item in media:
            folder = media_folder(item.id)
            for name in sorted(os.listdir(folder)):
                archive.write(os.path.join(folder, name), f"media/{item.id}/{name}")


def read_archive(raw: bytes) -> tuple[dict, zipfile.ZipFile | None]:
    """Read an archive's JSON (and its zip, for the pictures); refuse anything else."""
    bundle = None
    if raw[:4] == b"PK\x03\x04":
        try:
            bundle = zipfile.ZipFile(io.BytesIO(raw))
            raw = bundle.read("story.json")
        except (zipfile.BadZipFile, KeyError):
            raise Invalid("The zip holds no story.json.") from None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise Invalid("The archive is not valid JSON.") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise Invalid("This is not a liveblog story archive.")
    if data.get("version") != VERSION:
        raise Invalid(f"Archive version {data.get('version')} is not supported.")
    return data, bundle


def import_archive(raw: bytes, rename: bool = False) -> Story:
    """Create the archived story here; a taken slug is refused, or renamed with rename."""
    data, bundle = read_archive(raw)
    story_data = {name: data["story"].get(name) for name in STORY_FIELDS}
    story_data = {name: value for name, value in story_data.items() if value is not None}
    story_data["slug"] = _free_slug(story_data.get("slug", ""), rename)
    new_ids = _import_media(data.get("media", []), bundle)
    rewrite = _media_rewriter(new_ids)
    if story_data.get("cover_url"):
        story_data["cover_url"] = rewrite(story_data["cover_url"])
    entries = []
    for record in data.get("entries", []):
        entries.append({**record, "body": rewrite(record["body"]),
                        **{name: _time(record.get(name)) for name in
                           ("published_at", "updated_at", "created_at", "scheduled_for",
                            "corrected_at")},
                        "revisions": [{**r, "created_at": _time(r["created_at"]),
                                       "body_html": rewrite(r["body_html"])}
                                      for r in record.get("revisions", [])]})
    times = {name: _time(data["story"].get(name))
             for name in ("created_at", "updated_at", "ended_at")}
    return publishing.import_story(story_data, entries, _authors(data.get("authors", [])),
                                   {k: v for k, v in times.items() if v})


def _free_slug(slug: str, rename: bool) -> str:
    if db.session.scalar(select(Story.id).filter_by(slug=slug)) is None:
        return slug
    if not rename:
        raise Conflict(f"A story called {slug!r} exists here; import with rename to add a copy.")
    number = 2
    while db.session.scalar(select(Story.id).filter_by(slug=f"{slug}-{number}")) is not None:
        number += 1
    return f"{slug}-{number}"


def _authors(people: list[dict]) -> dict[str, User]:
    """Authors matched by email; one unknown here gets a contributor account with no password."""
    found = {}
    for person in people:
        email = person["email"].lower()
        user = db.session.scalar(select(User).filter_by(email=email))
        if user is None:
            user = User(email=email, display_name=person.get("name") or email,
                        job_title=_text(person.get("role"), User.job_title),
                        role=Role.CONTRIBUTOR.value, password_hash="!")  # no login until reset
            db.session.add(user)
            db.session.flush()
        found[email] = user
    db.session.commit()
    return found


def _text(value, column) -> str | None:
    """Plain text from an archive, cut to its column: a byline's job is shown, never required."""
    if not isinstance(value, str) or not value.strip():
        return None
    return plain_text(value, column.type.length) or None


def _import_media(items: list[dict], bundle: zipfile.ZipFile | None) -> dict[int, int]:
    new_ids: dict[int, int] = {}
    for item in items:
        if bundle is None:
            raise Invalid("The archive lists pictures but is not a zip holding them.")
        media = Media(content_type=item["content_type"], width=item["width"],
                      height=item["height"], widths=item["widths"], sha256=item["sha256"])
        db.session.add(media)
        db.session.flush()
        folder = media_folder(media.id)
        os.makedirs(folder, exist_ok=True)
        prefix = f"media/{item['id']}/"
        for name in bundle.namelist():
            leaf = name[len(prefix):]
            if name.startswith(prefix) and re.fullmatch(r"\d+\.(jpg|webp)", leaf):
                with bundle.open(name) as source, open(os.path.join(folder, leaf), "wb") as out:
                    shutil.copyfileobj(source, out)
        new_ids[int(item["id"])] = media.id
    db.session.commit()
    return new_ids


def _media_rewriter(new_ids: dict[int, int]):
    def rewrite(text: str) -> str:
        return MEDIA_URL.sub(lambda m: f"/media/{new_ids.get(int(m.group(1)), m.group(1))}/",
                             text or "")

    return rewrite


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
