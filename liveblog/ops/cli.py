"""The Flask CLI: users, tokens, stories and the demo story."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from liveblog import publishing
from liveblog.api.auth import issue_token, revoke_tokens
from liveblog.errors import LiveblogError
from liveblog.extensions import db
from liveblog.models import Role, User


def _user(email: str) -> User:
    user = db.session.scalar(select(User).filter_by(email=email.lower()))
    if user is None:
        raise click.ClickException(f"No user with email {email}.")
    return user


@click.group("users", cls=AppGroup)
def users() -> None:
    """Manage desk accounts."""


@users.command("create")
@click.argument("email")
@click.option("--name", required=True, help="Display name, shown as the byline.")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.EDITOR.value)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Create a user; the password is prompted for, or read from stdin."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise click.ClickException("The password must have at least 8 characters.")
    if db.session.scalar(select(User).filter_by(email=email.lower())) is not None:
        raise click.ClickException(f"A user with email {email} exists.")
    user = User(email=email.lower(), display_name=name, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {email}.")


@click.group("tokens", cls=AppGroup)
def tokens() -> None:
    """Manage API tokens."""


@tokens.command("create")
@click.argument("email")
def create_token(email: str) -> None:
    """Print a new API token for the user (shown once)."""
    click.echo(issue_token(_user(email)))


@tokens.command("revoke")
@click.argument("email")
def revoke_token(email: str) -> None:
    """Revoke every API token of the user."""
    count = revoke_tokens(_user(email))
    click.echo(f"Revoked {count} token(s) of {email}.")


@click.group("stories", cls=AppGroup)
def stories() -> None:
    """Manage stories."""


@stories.command("create")
@click.argument("slug")
@click.option("--title", required=True)
@click.option("--summary", default="")
@click.option("--timezone", default="GMT", help="IANA zone for the time labels.")
@click.option("--status", type=click.Choice(["draft", "live", "ended"]), default="live")
def create_story(slug: str, title: str, summary: str, timezone: str, status: str) -> None:
    """Create a story."""
    data = {"slug": slug, "title": title, "summary": summary, "timezone": timezone,
            "status": status}
    try:
        story = publishing.create_story(data)
    except LiveblogError as error:
        details = "; ".join(f"{k} {v}" for k, v in error.fields.items())
        raise click.ClickException(f"{error.message} {details}".strip()) from None
    click.echo(f"Created story /stories/{story.slug}")


@stories.command("export")
@click.argument("slug")
@click.option("--output", "-o", type=click.File("wb"), default="-",
              help="Where to write (default: standard output).")
def export_story(slug: str, output) -> None:
    """Write a story's archive: JSON, or a zip when it has pictures."""
    from liveblog.publishing.archive import export_story as export
    from liveblog.publishing.archive import write_archive

    try:
        data, media = export(slug)
    except LiveblogError as error:
        raise click.ClickException(error.message) from None
    write_archive(data, media, output)


@stories.command("import")
@click.argument("archive", type=click.File("rb"))
@click.option("--rename", is_flag=True, help="Import under a new slug if the slug is taken.")
def import_story(archive, rename: bool) -> None:
    """Create a story from an archive written by `stories export`."""
    from liveblog.publishing.archive import import_archive

    try:
        story = import_archive(archive.read(), rename=rename)
    except LiveblogError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Imported /stories/{story.slug}")


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Seed the demo story, editor and API token on first run; print how to use them."""
    from liveblog.ops.demo import seed_demo

    seed_demo(click.echo)


def init_app(app: Flask) -> None:
    """Register the command groups."""
    for command in (users, tokens, stories, demo):
        app.cli.add_command(command)
