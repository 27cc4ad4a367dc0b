"""The desk's story pages: the list, creating a story, its settings, going live and ending."""

from __future__ import annotations

import io
import re

from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select

from liveblog import publishing
from liveblog.content.labels import (
    DEFAULT_TIMEZONE,
    format_label,
    is_valid_label_format,
    is_valid_timezone,
    zone_names,
)
from liveblog.desk.access import EDITORS, EVERYONE, bp, roles_required
from liveblog.desk.embed_box import embed_codes
from liveblog.desk.forms import EntryForm, StoryForm
from liveblog.desk.idempotency import new_idempotency_key
from liveblog.desk.state import desk_changed, desk_state
from liveblog.errors import LiveblogError
from liveblog.extensions import db
from liveblog.live import audience
from liveblog.models import Entry, EntryStatus, Story, StoryStatus, utcnow
from liveblog.publishing.archive import export_story as export_archive
from liveblog.publishing.archive import import_archive, write_archive
from liveblog.publishing.key_figures import FIGURE_ROWS, key_figures_history, key_figures_version
from liveblog.queries import desk_entries, pinned_entries
from liveblog.web.i18n import LANGUAGES

STORY_FIELDS = ("title", "summary", "timezone", "label_format", "language", "status", "cover_url",
                "cover_alt", "cover_caption", "cover_credit", "featured_kicker", "featured_title",
                "featured_url")


def story_or_404(slug: str) -> Story:
    """A story by slug, any status (the desk sees drafts)."""
    story = db.session.scalar(select(Story).filter_by(slug=slug))
    if story is None:
        abort(404, description=gettext("No story called %(slug)s.", slug=repr(slug)))
    return story


def _slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80] or "story"


@bp.get("/")
@roles_required(*EVERYONE)
def stories():
    """Every story, live ones first, with its count of published entries."""
    counts = dict(db.session.execute(
        select(Entry.story_id, func.count(Entry.id))
        .where(Entry.status == EntryStatus.PUBLISHED).group_by(Entry.story_id)
    ).all())
    listed = db.session.scalars(select(Story).order_by(Story.updated_at.desc())).all()
    listed.sort(key=lambda story: story.status != StoryStatus.LIVE)
    return render_template("desk/stories.html", stories=listed, counts=counts)


@bp.route("/stories/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new_story():
    """Create a story."""
    form = StoryForm()
    if form.validate_on_submit():
        data = {name: form[name].data for name in STORY_FIELDS}
        data["slug"] = (form.slug.data or "").strip() or _slugify(form.title.data)
        try:
            story = publishing.create_story(data)
        except LiveblogError as error:
            _form_errors(form, error)
        else:
            flash(gettext("Story “%(title)s” created.", title=story.title), "success")
            return redirect(url_for("desk.story", slug=story.slug))
    return render_template("desk/story_form.html", form=form, story=None,
                           zones=_zones()), 422 if form.errors else 200


@bp.post("/stories/import")
@roles_required(*EDITORS)
def import_story():
    """Create a story from an archive file (JSON, or a zip with pictures)."""
    upload = request.files.get("archive")
    if upload is None or not upload.filename:
        flash(gettext("Choose an archive file to import."), "error")
        return redirect(url_for("desk.stories"))
    try:
        story = import_archive(upload.read(), rename=request.form.get("rename") == "1")
    except LiveblogError as error:
        flash(error.message, "error")
        return redirect(url_for("desk.stories"))
    flash(gettext("Imported “%(title)s”.", title=story.title), "success")
    return redirect(url_for("desk.story", slug=story.slug))


@bp.get("/stories/<slug>/export")
@roles_required(*EDITORS)
def export_story(slug: str):
    """Download a story's archive."""
    data, media = export_archive(story_or_404(slug).slug)
    buffer = io.BytesIO()
    write_archive(data, media, buffer)
    name = f"{slug}.{'zip' if media else 'json'}"
    return send_file(io.BytesIO(buffer.getvalue()), as_attachment=True, download_name=name,
                     mimetype="application/zip" if media else "application/json")


@bp.route("/stories/<slug>/settings", methods=["GET", "POST"])
@roles_required(*EDITORS)
def story_settings(slug: str):
    """Edit a story's title, zone, label format, cover and featured link."""
    story = story_or_404(slug)
    form = StoryForm(obj=story)
    del form.slug
    if form.validate_on_submit():
        data = {name: form[name].data or "" for name in STORY_FIELDS}
        try:
            publishing.update_story(story.id, data)
        except LiveblogError as error:
            _form_errors(form, error)
        else:
            flash(gettext("Story settings saved."), "success")
            return redirect(url_for("desk.story", slug=slug))
    return render_template("desk/story_form.html", form=form, story=story,
                           zones=_zones()), 422 if form.errors else 200


@bp.get("/stories/<slug>/end")
@roles_required(*EDITORS)
def end_story(slug: str):
    """Ask before ending: what readers will see, and whether to archive too."""
    return render_template("desk/story_end.html", story=story_or_404(slug))


@bp.post("/stories/<slug>/status")
@roles_required(*EDITORS)
def story_status(slug: str):
    """Go live, end or reopen a story; open readers are told at once. Ending is asked first."""
    story = story_or_404(slug)
    status = request.form.get("status", "")
    if status == StoryStatus.ENDED and request.form.get("confirmed") != "1":
        return redirect(url_for("desk.end_story", slug=slug), 303)
    change = {"status": status}
    if status == "ended":
        change["archived"] = request.form.get("archived") == "1"
    try:
        publishing.update_story(story.id, change)
    except LiveblogError as error:
        flash(error.message, "error")
    else:
        desk_changed()  # other open desks show the ended (or reopened) story
        flash({"ended": gettext("The story has ended."), "live": gettext("The story is live.")}.get(
            status, gettext("Status changed.")), "success")
    return redirect(url_for("desk.story", slug=slug))


@bp.get("/stories/<slug>")
@roles_required(*EVERYONE)
def story(slug: str):
    """The story desk: compose, the live list of entries, drafts, the approval queue."""
    return render_story_desk(story_or_404(slug))


def render_story_desk(story: Story, form: EntryForm | None = None,
                      time_choices: list[dict] | None = None) -> str:
    """Render the story desk; a form given back keeps the journalist's text and its errors."""
    return render_template(
        "desk/story.html", story=story, groups=desk_entries(story.id), time_choices=time_choices,
        key_entries=pinned_entries(story.id), key_ids_swapped=_swapped,
        form=form or EntryForm(idempotency_key=new_idempotency_key()),
        readers=audience.reader_count(story.id), may_publish=current_user.can_publish,
        embed=embed_codes(story),
        label_now=format_label(utcnow(), story.timezone, story.label_format, story.language),
        watch=desk_state(story.id, current_user.id),
        watch_url=url_for("desk.watch", slug=story.slug),
        key_figures_version=key_figures_version(story.id),
        key_figures_history=key_figures_history(story.id), key_figure_rows=FIGURE_ROWS,
    )


@bp.get("/stories/<slug>/readers")
@roles_required(*EVERYONE)
def story_readers(slug: str):
    """The story's open readers over every process, for the desk's counter to refresh."""
    story = story_or_404(slug)
    response = jsonify(readers=audience.reader_count(story.id))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/label-preview")
@roles_required(*EVERYONE)
def label_preview():
    """The label an entry posted now would get, for the story form's live preview."""
    zone = request.args.get("timezone", DEFAULT_TIMEZONE)
    fmt = request.args.get("label_format", "UPDATE %H%M %Z")
    if not is_valid_timezone(zone) or not is_valid_label_format(fmt):
        return jsonify(error={"status": 422, "message": gettext("Unknown zone or format.")}), 422
    language = request.args.get("language")  # the story's, for its labels' words
    return jsonify(label=format_label(utcnow(), zone, fmt,
                                      language if language in LANGUAGES else None))


def _swapped(entries: list[Entry], index: int, offset: int) -> list[int]:
    """The key entries' ids with one moved up (-1) or down (+1): a reorder button's order."""
    ids = [entry.id for entry in entries]
    ids[index], ids[index + offset] = ids[index + offset], ids[index]
    return ids


def _zones() -> list[str]:
    return sorted(zone_names())


def _form_errors(form, error: LiveblogError) -> None:
    """Show the service's field messages on the form, and its message on top."""
    for name, message in error.fields.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    form.form_errors.append(error.message)
