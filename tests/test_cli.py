"""The Flask CLI: users, tokens, stories and the demo seed."""

from __future__ import annotations

from sqlalchemy import func, select

from liveblog.api.auth import user_for_token
from liveblog.extensions import db
from liveblog.models import Entry, Story, User
from liveblog.ops.demo import DEMO_ENTRIES, DEMO_SLUG


def test_create_user_from_stdin_and_a_token(app, runner):
    result = runner.invoke(args=["users", "create", "Ann@Example.org", "--name", "Ann",
                                 "--role", "editor", "--password-stdin"],
                           input="long enough password\n")
    assert result.exit_code == 0, result.output
    token = runner.invoke(args=["tokens", "create", "ann@example.org"]).output.strip()
    assert token.startswith("lb_") and "\n" not in token
    with app.app_context():
        user = db.session.scalar(select(User).filter_by(email="ann@example.org"))
        assert user.check_password("long enough password") and user.role == "editor"
        # scrypt, deliberately slow (the suite's own users share a cheap hash: tests/servers.py)
        assert user.password_hash.startswith("scrypt:")
        assert user_for_token(token).id == user.id
    again = runner.invoke(args=["users", "create", "ann@example.org", "--name", "A",
                                "--password-stdin"], input="long enough password\n")
    assert again.exit_code != 0 and "exists" in again.output


def test_short_password_and_unknown_user_are_refused(runner):
    short = runner.invoke(args=["users", "create", "b@example.org", "--name", "B",
                                "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "8 characters" in short.output
    missing = runner.invoke(args=["tokens", "create", "nobody@example.org"])
    assert missing.exit_code != 0 and "No user" in missing.output


def test_create_story_validates(app, runner):
    ok = runner.invoke(args=["stories", "create", "election-night", "--title", "Election night",
                             "--timezone", "America/New_York"])
    assert ok.exit_code == 0, ok.output
    bad = runner.invoke(args=["stories", "create", "x", "--title", "X", "--timezone", "Nowhere"])
    assert bad.exit_code != 0 and "timezone" in bad.output
    with app.app_context():
        story = db.session.scalar(select(Story).filter_by(slug="election-night"))
        assert story.timezone == "America/New_York"


def test_demo_seeds_once_and_prints_a_working_token(app, runner, client):
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0
    token = next(line.split()[-1] for line in first.output.splitlines() if "API token" in line)
    assert token in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Entry.id))) == len(DEMO_ENTRIES)
    response = client.post(f"/api/stories/{DEMO_SLUG}/entries", json={"body": "Hello"},
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201
    html = client.get(f"/stories/{DEMO_SLUG}").get_data(as_text=True)
    for part in ('class="embed embed-tweet"', 'class="embed embed-video"', "<blockquote",
                 'class="picture-set"', "embed-tweet-text",
                 "<figure", "ORIGINAL ENTRY", "entry--key", 'class="entry-headline"'):
        assert part in html, part
