"""The desk's forms: WTForms collects, renders and CSRF-protects; validation.py's rules say
how long each field may be, and the service judges the content."""

from __future__ import annotations

from babel import Locale
from flask import request
from flask_babel import lazy_gettext as _l
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
from wtforms.validators import DataRequired, Email, Length, Optional

from liveblog.desk.bylines import CoauthorsField
from liveblog.errors import LiveblogError
from liveblog.models import Role
from liveblog.publishing.validation import ENTRY, POLL, SCHEDULED_FOR, STORY, Rule
from liveblog.web.i18n import LANGUAGES
from liveblog.web.params import ascii_int

# Lazy: a module-level message is read in the language of the request that shows it.
VERSION_MESSAGE = _l("The version must be a whole number (digits 0-9).")


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
        raise NotANumber(str(message))
    return number


class WholeNumberField(IntegerField):
    """An IntegerField that takes ASCII digits only (int() would read "٣" as 3)."""

    def process_formdata(self, valuelist):
        """Read the posted value; anything but 1-15 ASCII digits is a field error."""
        if not valuelist:
            return
        self.data = ascii_int(valuelist[0])
        if self.data is None:
            raise ValueError(str(VERSION_MESSAGE))


class Chars(Length):
    """WTForms' length check (its message, and maxlength on the input) with the rule's bound."""

    def __init__(self, rule: Rule):  # not Length's: the bound is the rule's, read live
        self.rule = rule
        self.min = -1
        self.message = None

    @property
    def max(self) -> int:
        """The rule's greatest length."""
        return self.rule.max_chars

    @property
    def field_flags(self) -> dict:
        """What the input states in HTML, read when a form is made."""
        return {"maxlength": self.rule.max_chars}


def checks(rule: Rule, filled: bool | None = None) -> list:
    """A field's validators from its rule: filled in if the rule needs a character, its length."""
    filled = rule.min_chars > 0 if filled is None else filled
    return [DataRequired() if filled else Optional(), Chars(rule)]


# The desk's names for a story's status and an account's role (the stored values are English).
STATUS_CHOICES = {"draft": _l("Draft"), "live": _l("Live"), "ended": _l("Ended")}
ROLE_CHOICES = {"admin": _l("Admin"), "editor": _l("Editor"), "contributor": _l("Contributor")}


def _role_choices() -> list[SelectChoice]:
    return [SelectChoice(r.value, ROLE_CHOICES.get(r.value, r.value.title())) for r in Role]


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class StoryForm(FlaskForm):
    # Left empty, the slug is made from the title.
    slug = StringField(_l("Address (slug)"), validators=checks(STORY["slug"], filled=False))
    title = StringField(_l("Title"), validators=checks(STORY["title"]))
    summary = TextAreaField(_l("Summary"), validators=checks(STORY["summary"]))
    timezone = StringField(_l("Time zone"), default="GMT", validators=checks(STORY["timezone"]))
    label_format = StringField(_l("Label format"), default="UPDATE %H%M %Z",
                               validators=checks(STORY["label_format"]))
    status = SelectField(_l("Status"), default="live", choices=[
        SelectChoice(value, STATUS_CHOICES.get(value, value.title()))
        for value in STORY["status"].choices])
    # The readers' language: the page's words, direction, dates and labels (docs/languages.md).
    language = SelectField(_l("Story language"), default="en")
    cover_url = StringField(_l("Cover picture"), validators=checks(STORY["cover_url"]))
    cover_alt = StringField(_l("Cover alt text"), validators=checks(STORY["cover_alt"]))
    cover_caption = StringField(_l("Cover caption"), validators=checks(STORY["cover_caption"]))
    cover_credit = StringField(_l("Cover credit"), validators=checks(STORY["cover_credit"]))
    featured_kicker = StringField(_l("Featured link kicker"),
                                  validators=checks(STORY["featured_kicker"]))
    featured_title = StringField(_l("Featured link title"),
                                 validators=checks(STORY["featured_title"]))
    featured_url = StringField(_l("Featured link URL"), validators=checks(STORY["featured_url"]))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.language.choices = language_choices()  # defined below, with the account's


class EntryForm(FlaskForm):
    # Not required here: a picture alone is an entry, which only the service can tell.
    body = TextAreaField(_l("Entry"), validators=checks(ENTRY["body"], filled=False))
    headline = StringField(_l("Headline"), validators=checks(ENTRY["headline"]))
    label = StringField(_l("Label"), validators=checks(ENTRY["label"]))
    pinned = BooleanField(_l("Key entry (shown under LATEST)"))
    coauthors = CoauthorsField(_l("Co-authors"))  # after the author, in the byline
    scheduled_for = StringField(_l("Publish at"), validators=checks(SCHEDULED_FOR))
    # Which of the two readings of a time that happens twice (autumn), e.g. "-05:00".
    scheduled_offset = StringField(validators=[Optional(), Length(max=6)])
    # An optional poll under the entry (desk/polls.py reads these three).
    poll_question = StringField(_l("Poll question"),
                                validators=checks(POLL["question"], filled=False))
    poll_options = TextAreaField(_l("Answers, one per line (2 to 6)"), validators=[
        Optional(), Length(max=POLL["options"].items[1] * (POLL["options"].max_chars + 2))])
    poll_closes_at = StringField(_l("Voting closes at"), validators=checks(POLL["closes_at"]))
    action = HiddenField(default="publish")
    idempotency_key = HiddenField()


class EditEntryForm(EntryForm):
    version = WholeNumberField(validators=[DataRequired()])
    correction = StringField(_l("Correction note (shown to readers)"),
                             validators=checks(ENTRY["correction"]))


class UserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                                Length(max=254)])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), choices=_role_choices())
    password = PasswordField(_l("Password"),
                             validators=[DataRequired(), Length(min=8, max=200)])


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=_role_choices())


def language_choices() -> list[SelectChoice]:
    """Each desk language by its own name ("Français", "العربية"), marked with its lang."""
    choices = []
    for tag in LANGUAGES:
        name = Locale.parse(tag).get_display_name(tag)
        choices.append(SelectChoice(tag, name[:1].upper() + name[1:], render_kw={"lang": tag}))
    return choices


class AccountForm(FlaskForm):
    language = SelectField(_l("Desk language"), choices=language_choices())
