"""The desk's forms: WTForms collects and CSRF-protects; validation.py judges the content."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Email, Length, Optional

from liveblog.errors import LiveblogError
from liveblog.models import Role
from liveblog.web.params import ascii_int

VERSION_MESSAGE = "The version must be a whole number (digits 0-9)."


class NotANumber(LiveblogError):
    """A number field of a desk form that is not ASCII digits: the form was tampered with."""

    status = 400


def form_number(name: str, message: str) -> int | None:
    """A whole number from the posted form, ASCII digits only; None when left out."""
    value = request.form.get(name)
    if value is None or value == "":
        return None
    number = ascii_int(value)
    if number is None:
        raise NotANumber(message)
    return number


class WholeNumberField(IntegerField):
    """An IntegerField that takes ASCII digits only (int() would read "٣" as 3)."""

    def process_formdata(self, valuelist):
        """Read the posted value; anything but 1-15 ASCII digits is a field error."""
        if not valuelist:
            return
        self.data = ascii_int(valuelist[0])
        if self.data is None:
            raise ValueError(VERSION_MESSAGE)


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class StoryForm(FlaskForm):
    slug = StringField("Address (slug)", validators=[Optional(), Length(max=120)])
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    summary = TextAreaField("Summary", validators=[Optional(), Length(max=2000)])
    timezone = StringField("Time zone", default="GMT", validators=[DataRequired(), Length(max=64)])
    label_format = StringField("Label format", default="UPDATE %H%M %Z",
                               validators=[DataRequired(), Length(max=64)])
    status = SelectField("Status", choices=[SelectChoice("draft", "Draft"),
                                            SelectChoice("live", "Live"),
                                            SelectChoice("ended", "Ended")], default="live")
    cover_url = StringField("Cover picture", validators=[Optional(), Length(max=500)])
    cover_alt = StringField("Cover alt text", validators=[Optional(), Length(max=300)])
    cover_caption = StringField("Cover caption", validators=[Optional(), Length(max=500)])
    cover_credit = StringField("Cover credit", validators=[Optional(), Length(max=200)])
    featured_kicker = StringField("Featured link kicker", validators=[Optional(), Length(max=80)])
    featured_title = StringField("Featured link title", validators=[Optional(), Length(max=300)])
    featured_url = StringField("Featured link URL",
                               validators=[Optional(), URL(require_tld=False), Length(max=500)])


class EntryForm(FlaskForm):
    body = TextAreaField("Entry", validators=[Length(max=100_000)])
    headline = StringField("Headline", validators=[Optional(), Length(max=300)])
    label = StringField("Label", validators=[Optional(), Length(max=80)])
    pinned = BooleanField("Key entry (shown under LATEST)")
    scheduled_for = StringField("Publish at", validators=[Optional(), Length(max=40)])
    # Which of the two readings of a time that happens twice (autumn), e.g. "-05:00".
    scheduled_offset = StringField(validators=[Optional(), Length(max=6)])
    action = HiddenField(default="publish")
    idempotency_key = HiddenField()


class EditEntryForm(EntryForm):
    version = WholeNumberField(validators=[DataRequired()])
    correction = StringField("Correction note (shown to readers)",
                             validators=[Optional(), Length(max=500)])


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False),
                                            Length(max=254)])
    display_name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.title()) for r in Role])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=200)])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r.value, r.value.title()) for r in Role])
