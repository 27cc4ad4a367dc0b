"""A story's schedule in the desk: when it opens, when it ends, when a quiet story is archived."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, NumberRange, Optional

from liveblog import publishing
from liveblog.desk.access import EDITORS, bp, roles_required
from liveblog.desk.forms import WholeNumberField
from liveblog.desk.stories import story_or_404
from liveblog.errors import Invalid, LiveblogError
from liveblog.models import Story, as_utc
from liveblog.publishing.times import local_time
from liveblog.publishing.validation import STORY

TIMES = ("opens_at", "closes_at")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"  # what <input type="datetime-local"> shows and sends


class HoursField(WholeNumberField):
    """A whole number of hours, ASCII digits only."""

    def process_formdata(self, valuelist):
        """Read the posted value, with this field's own message for anything but digits."""
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(gettext("Give a whole number of hours (digits 0-9).")) from None


class ScheduleForm(FlaskForm):
    opens_at = StringField(_l("Goes live at"),
                           validators=[Optional(), Length(max=STORY["opens_at"].max_chars)])
    closes_at = StringField(_l("Ends at"),
                            validators=[Optional(), Length(max=STORY["closes_at"].max_chars)])
    archive_after_hours = HoursField(
        _l("Archive after this many hours without an entry"),
        validators=[Optional(), NumberRange(*STORY["archive_after_hours"].items)])


def _shown(story: Story, name: str) -> str:
    """A stored time as the story's zone reads it, for the form."""
    moment = as_utc(getattr(story, name))
    return moment.astimezone(ZoneInfo(story.timezone)).strftime(LOCAL_FORMAT) if moment else ""


def _changes(form: ScheduleForm, story: Story) -> dict:
    """The form as the service takes it: times typed in the story's zone, empty clears."""
    data: dict = {"archive_after_hours": form.archive_after_hours.data}
    for name in TIMES:
        typed = (form[name].data or "").strip()
        try:
            data[name] = local_time(typed, story.timezone) if typed else None
        except Invalid as error:  # a time the clocks skip or repeat, or not a time at all
            raise Invalid(error.message, {name: error.message}) from None
    return data


@bp.route("/stories/<slug>/schedule", methods=["GET", "POST"])
@roles_required(*EDITORS)
def story_schedule(slug: str):
    """Set when a story opens and ends, and after how many quiet hours it is archived."""
    story = story_or_404(slug)
    form = ScheduleForm(data={"opens_at": _shown(story, "opens_at"),
                              "closes_at": _shown(story, "closes_at"),
                              "archive_after_hours": story.archive_after_hours})
    if form.validate_on_submit():
        try:
            publishing.update_story(story.id, _changes(form, story))
        except LiveblogError as error:
            for name, message in error.fields.items():
                if name in form:
                    form[name].errors = [*form[name].errors, message]
            form.form_errors.append(error.message)
        else:
            flash(gettext("Schedule saved."), "success")
            return redirect(url_for("desk.story", slug=slug))
    return render_template("desk/story_schedule.html", story=story, form=form), \
        422 if form.errors or form.form_errors else 200
