"""The desk's entry actions: compose, edit with versions, delete, pin, review, preview."""

from __future__ import annotations

from datetime import datetime

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from liveblog import publishing
from liveblog.content.rendering import entry_json, render_entry
from liveblog.desk.access import EDITORS, EVERYONE, bp, roles_required
from liveblog.desk.bylines import add_authors
from liveblog.desk.conflicts import conflict_details, merge_bodies
from liveblog.desk.forms import VERSION_MESSAGE, EditEntryForm, EntryForm, NotANumber, form_number
from liveblog.desk.idempotency import new_idempotency_key
from liveblog.desk.polls import poll_data
from liveblog.desk.state import desk_changed, desk_state
from liveblog.desk.stories import render_story_desk, story_or_404
from liveblog.desk.watch import watch_url
from liveblog.errors import Invalid, LiveblogError, VersionConflict, error_response, json_error
from liveblog.errors import asks_for_json as wants_json
from liveblog.extensions import db
from liveblog.models import Entry, EntryRevision, EntryStatus, utcnow
from liveblog.publishing.times import AmbiguousTime, local_time
from liveblog.publishing.validation import entry_fields
from liveblog.web.params import ascii_int

ACTIONS = {
    "publish": EntryStatus.PUBLISHED,
    "draft": EntryStatus.DRAFT,
    "schedule": EntryStatus.SCHEDULED,
    "submit": EntryStatus.PENDING,
}


def _entry_or_404(story_id: int, entry_id: int) -> Entry:
    entry = db.session.get(Entry, entry_id)
    if entry is None or entry.story_id != story_id or entry.status in (
        EntryStatus.DELETED, EntryStatus.REJECTED
    ):
        abort(404, description=gettext("No such entry in this story."))
    return entry


def _may_edit(entry: Entry) -> bool:
    # Contributors may change their own entries until an editor has published them.
    if current_user.can_publish:
        return True
    return entry.author_id == current_user.id and entry.status != EntryStatus.PUBLISHED


def _status_for(action: str) -> EntryStatus:
    status = ACTIONS.get(action)
    if status is None:
        raise Invalid(gettext("Unknown action."))
    if not current_user.can_publish and status in (EntryStatus.PUBLISHED, EntryStatus.SCHEDULED):
        return EntryStatus.PENDING  # a contributor's "publish" asks an editor
    return status


def _publish_at(form, timezone: str) -> datetime | None:
    """The form's "publish at", typed in the story's zone (or with its own offset), as UTC."""
    if not form.scheduled_for.data:
        return None  # the service says a schedule needs a time
    return local_time(form.scheduled_for.data, timezone, form.scheduled_offset.data or None)


def _refusal_json(error: LiveblogError):
    """A refusal for the script; a time that happens twice carries its two readings."""
    if isinstance(error, AmbiguousTime):
        return error_response(error.status, error.message, fields=error.fields,
                              choices=error.choices)
    return json_error(error)


def _entry_data(form, may_pin: bool, timezone: str | None = None) -> dict:
    data = {"body": form.body.data or "", "headline": form.headline.data or "",
            "label": form.label.data or ""}
    if may_pin:
        data["pinned"] = bool(form.pinned.data)
    poll = poll_data(form, timezone) if timezone else None  # not in previews
    if poll is not None:
        data["poll"] = poll
    return data


@bp.post("/stories/<slug>/entries")
@roles_required(*EVERYONE)
def create_entry(slug: str):
    """Publish, schedule, save as draft or submit for approval."""
    story = story_or_404(slug)
    form = EntryForm()
    try:
        _check_form(form)
        status = _status_for(form.action.data or "publish")
        scheduled_for = _publish_at(form, story.timezone) \
            if status == EntryStatus.SCHEDULED else None
        entry, created = publishing.create_entry(
            story.id, current_user,
            add_authors(_entry_data(form, current_user.can_publish, story.timezone), form,
                        current_user.id),
            form.idempotency_key.data or None, status=status, scheduled_for=scheduled_for,
        )
    except LiveblogError as error:
        if wants_json():
            return _refusal_json(error)
        flash(error.message, "error")
        return _story_page_with(form, error), error.status
    desk_changed()  # an open desk's approval queue shows a submission at once
    message = _created_message(entry)
    if wants_json():
        return jsonify(entry=entry_json(entry), created=created, message=message,
                       next_key=new_idempotency_key()), 201 if created else 200
    flash(message, "success")
    return redirect(url_for("desk.story", slug=slug))


def _created_message(entry: Entry) -> str:
    return {
        EntryStatus.PUBLISHED: gettext("Published."),
        EntryStatus.DRAFT: gettext("Draft saved."),
        EntryStatus.SCHEDULED: gettext("Scheduled."),
        EntryStatus.PENDING: gettext("Sent to an editor for approval."),
    }[EntryStatus(entry.status)]


def _flat_errors(form) -> dict[str, str]:
    return {name: "; ".join(messages) for name, messages in form.errors.items()}


def _check_form(form) -> None:
    """Refuse a form whose token or fields WTForms finds wrong, in the service's terms."""
    if not form.validate():
        raise Invalid(gettext("Some fields are not valid."), _flat_errors(form))


def _story_page_with(form, error: LiveblogError):
    """The story desk again, with the journalist's text kept and the problems shown."""
    for name, message in error.fields.items():
        name = name.replace("poll.", "poll_")  # the service's poll.question is poll_question
        if name in form:
            form[name].errors = [message]
    choices = error.choices if isinstance(error, AmbiguousTime) else None
    return render_story_desk(story_or_404(request.view_args["slug"]), form, time_choices=choices)


@bp.route("/stories/<slug>/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@roles_required(*EVERYONE)
def edit_entry(slug: str, entry_id: int):
    """Edit an entry; a save over a colleague's newer version is refused and the choices shown."""
    story = story_or_404(slug)
    entry = _entry_or_404(story.id, entry_id)
    if not _may_edit(entry):
        abort(403, description=gettext("Only editors may change this entry."))
    # Not obj=entry: Entry.label is the computed label, not the journalist's override.
    form = EditEntryForm(body=entry.body_source or entry.body_html, headline=entry.headline,
                         label=entry.label_override, correction=entry.correction_note,
                         pinned=entry.pinned, version=entry.version,
                         coauthors=[link.user_id for link in entry.coauthors])
    conflict = None
    if form.validate_on_submit():
        choice = request.form.get("conflict_choice", "")
        if choice == "merge":
            return _merge_page(story, entry, form)
        expected = form.version.data
        if choice == "mine":  # "Use mine": against the version the journalist was shown
            expected = form_number("their_version", VERSION_MESSAGE) or expected
        data = add_authors(_entry_data(form, current_user.can_publish, story.timezone), form,
                           entry.author_id)
        if form.correction.data is not None:
            data["correction"] = form.correction.data
        try:
            entry = publishing.update_entry(story.id, entry.id, data, expected,
                                            editor=current_user)
        except VersionConflict as error:
            # The form keeps the version it was based on: only a choice saves over theirs.
            db.session.rollback()
            entry = _entry_or_404(story.id, entry_id)
            conflict = conflict_details(entry, form.headline.data, form.body.data)
            if wants_json():
                return error_response(error.status, error.message, current=error.current,
                                      **conflict)
        except LiveblogError as error:
            if wants_json():
                return json_error(error)
            flash(error.message, "error")
        else:
            desk_changed()
            if wants_json():
                return jsonify(entry=entry_json(entry), message=gettext("Saved."))
            flash(gettext("Saved."), "success")
            return redirect(url_for("desk.story", slug=slug))
    elif form.errors and wants_json():
        return json_error(Invalid(gettext("Some fields are not valid."), _flat_errors(form)))
    status = 409 if conflict else (422 if form.errors else 200)
    return _edit_page(story, entry, form, conflict=conflict), status


def _edit_page(story, entry: Entry, form, **extra) -> str:
    return render_template("desk/entry_edit.html", story=story, entry=entry, form=form,
                           watch=desk_state(story.id, current_user.id, entry.id),
                           watch_url=watch_url(story, entry.id), **extra)


def _merge_page(story, entry: Entry, form):
    """The edit form holding their version and the journalist's merged, based on theirs."""
    form.body.data = merge_bodies(entry.body_source or entry.body_html, form.body.data or "")
    form.headline.data = form.headline.data or entry.headline
    form.version.data = entry.version
    form.version.raw_data = [str(entry.version)]
    return _edit_page(story, entry, form, merged=True)


@bp.route("/stories/<slug>/entries/<int:entry_id>/delete", methods=["GET", "POST"])
@roles_required(*EVERYONE)
def delete_entry(slug: str, entry_id: int):
    """Ask, then delete; readers see the entry disappear."""
    story = story_or_404(slug)
    entry = _entry_or_404(story.id, entry_id)
    if not _may_edit(entry):
        abort(403, description=gettext("Only editors may delete this entry."))
    if request.method == "GET":
        return render_template("desk/entry_delete.html", story=story, entry=entry)
    version = form_number("version", VERSION_MESSAGE)
    try:
        publishing.delete_entry(story.id, entry.id, version)
    except LiveblogError as error:
        if wants_json():
            return json_error(error)
        flash(error.message, "error")
    else:
        desk_changed()
        if wants_json():
            return jsonify(message=gettext("Deleted."))
        flash(gettext("Entry deleted."), "success")
    return redirect(url_for("desk.story", slug=slug))


@bp.post("/stories/<slug>/entries/<int:entry_id>/pin")
@roles_required(*EDITORS)
def pin_entry(slug: str, entry_id: int):
    """Make an entry a key entry (or not)."""
    story = story_or_404(slug)
    pinned = request.form.get("pinned") == "1"
    return _run(slug, gettext("Key entries updated."), publishing.update_entry, story.id, entry_id,
                {"pinned": pinned}, editor=current_user)


@bp.post("/stories/<slug>/key-order")
@roles_required(*EDITORS)
def key_order(slug: str):
    """Reorder the LATEST box."""
    story = story_or_404(slug)
    ids = [ascii_int(value) for value in request.form.getlist("entry")]
    if None in ids:
        raise NotANumber(gettext("Entry ids must be whole numbers (digits 0-9)."))
    return _run(slug, gettext("Order saved."), publishing.reorder_key_entries, story.id, ids)


@bp.post("/stories/<slug>/entries/<int:entry_id>/publish")
@roles_required(*EDITORS)
def publish_entry(slug: str, entry_id: int):
    """Approve a contributor's entry, or publish a draft or scheduled entry now."""
    story = story_or_404(slug)
    return _run(slug, gettext("Published."), publishing.publish_entry, story.id, entry_id,
                current_user, form_number("version", VERSION_MESSAGE))


@bp.post("/stories/<slug>/entries/<int:entry_id>/reject")
@roles_required(*EDITORS)
def reject_entry(slug: str, entry_id: int):
    """Send a contributor's entry back."""
    story = story_or_404(slug)
    return _run(slug, gettext("Rejected."), publishing.reject_entry, story.id, entry_id,
                current_user)


def _run(slug: str, message: str, action, *args, **kwargs):
    """Run a publishing action and answer the script or the plain form."""
    try:
        action(*args, **kwargs)
    except LiveblogError as error:
        if wants_json():
            return json_error(error)
        flash(error.message, "error")
    else:
        desk_changed()
        if wants_json():
            return jsonify(message=message)
        flash(message, "success")
    return redirect(url_for("desk.story", slug=slug))


@bp.post("/stories/<slug>/preview")
@roles_required(*EVERYONE)
def preview(slug: str):
    """Render an unsaved entry exactly as readers would see it."""
    story = story_or_404(slug)
    form = EntryForm()
    try:
        _check_form(form)
        fields = entry_fields(_entry_data(form, True))
    except LiveblogError as error:
        return json_error(error)
    now = utcnow()
    draft = Entry(id=0, story_id=story.id, status=EntryStatus.PUBLISHED, published_at=now,
                  updated_at=now, version=1, seq=0, is_original=False, **fields)
    draft.story = story
    draft.author = current_user._get_current_object()
    return jsonify(html=render_entry(draft))


@bp.get("/stories/<slug>/entries/<int:entry_id>/revisions")
@roles_required(*EVERYONE)
def revisions(slug: str, entry_id: int):
    """Every version of an entry: who, when and what."""
    story = story_or_404(slug)
    entry = _entry_or_404(story.id, entry_id)
    history = db.session.scalars(
        select(EntryRevision).filter_by(entry_id=entry.id)
        .order_by(EntryRevision.version.desc())
    ).all()
    return render_template("desk/revisions.html", story=story, entry=entry, revisions=history)

