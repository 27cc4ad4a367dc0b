"""The demo story seeded by `make run`: one of every kind of entry, written by us."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from liveblog import publishing
from liveblog.api.auth import issue_token
from liveblog.content.media import picture_markup, picture_url, store_picture, stored_widths
from liveblog.extensions import db
from liveblog.models import Role, Story, User, utcnow

DEMO_SLUG = "harbour-bridge-storm"
DEMO_EMAIL = "editor@example.org"

# (minutes before now, fields) from the oldest entry, the ORIGINAL ENTRY, to the newest.
DEMO_ENTRIES: list[tuple[int, dict]] = [
    (185, {"body": (
        "<p>Storm Ada is moving up the estuary faster than forecast. Harbour authorities have "
        "closed the old swing bridge to all traffic and asked residents of the lower quays to "
        "move vehicles to higher ground before the evening tide.</p>"
        "<p>This page will follow the storm through the night.</p>")}),
    (150, {"headline": "Evacuation centre opens at the Corn Exchange", "body": (
        "<p>The council has opened the <strong>Corn Exchange</strong> as a rest centre, with "
        "hot food, camp beds and space for pets. Details are on the "
        "<a href=\"https://example.org/storm-help\">council's storm page</a>.</p>")}),
    (120, {"body": (
        "<blockquote cite=\"https://example.org/harbour-master\"><p>We have not seen water "
        "this high against the sea wall in forty years. Please keep away from the "
        "promenade.</p><p><cite>Marta Okafor, harbour master</cite></p></blockquote>")}),
    # A pasted embed code: the card shows the post's words and author with no script of X's.
    (95, {"body": (
        "<blockquote class=\"twitter-tweet\"><p>Water over the quay wall at Harbour Street. "
        "Please stay away from the front tonight.</p>&mdash; Liveblog Demo (@LiveblogDemo) "
        "<a href=\"https://twitter.com/LiveblogDemo/status/2125490000000000000\">"
        "November 25, 2026</a></blockquote>"
        "<script async src=\"https://platform.twitter.com/widgets.js\"></script>")}),
    (70, {"headline": "Bridge deck lifted clear of the surge", "pinned": True, "body": (
        "<p>Engineers have raised the deck of the swing bridge by two metres, the first time "
        "the emergency procedure has been used since the bridge reopened in 2009.</p>"
        "<ul><li>No injuries reported</li><li>Ferries suspended until morning</li></ul>")}),
    # A picture set: {harbour} and {bridge} become stored, responsive pictures when seeding.
    (45, {"body": "{harbour}{bridge}"}),
    (25, {"body": (
        "<p>Video sent in by the demo desk (an open movie stands in for reader footage):</p>"
        "<p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>")}),
    (5, {"headline": "Tide has peaked, says harbour master", "pinned": True, "body": (
        "<p>The water level at the inner harbour gauge fell for the first time tonight. The "
        "bridge stays closed until inspectors have checked the bearings at first light.</p>")}),
]


def _demo_token_path() -> str:
    return os.path.join(current_app.instance_path, "demo-token.txt")


def seed_demo(echo: Callable[[str], None]) -> None:
    """Create the demo editor, token and story unless they exist, then print how to use them."""
    editor = db.session.scalar(select(User).filter_by(email=DEMO_EMAIL))
    if editor is None:
        editor = User(email=DEMO_EMAIL, display_name="Demo Editor", role=Role.EDITOR.value)
        editor.set_password("demo-password")
        db.session.add(editor)
        db.session.commit()
    token_path = _demo_token_path()
    if not os.path.exists(token_path):
        # Kept in the instance folder so every `make run` can print it; a demo-only convenience.
        with open(token_path, "w") as handle:
            handle.write(issue_token(editor))
    with open(token_path) as handle:
        token = handle.read().strip()
    if db.session.scalar(select(Story).filter_by(slug=DEMO_SLUG)) is None:
        _seed_story(editor)
    base = f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
    echo(f"Demo story:  {base}/stories/{DEMO_SLUG}")
    echo(f"The desk:    {base}/admin/")
    echo(f"Demo editor: {DEMO_EMAIL} / demo-password")
    echo(f"API token:   {token}")
    echo("Post an entry:")
    echo(f"  curl -X POST {base}/api/stories/{DEMO_SLUG}/entries \\")
    echo(f"       -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\")
    echo("       -d '{\"body\": \"<p>Hello from curl</p>\"}'")


# The demo's pictures go through the desk's upload path, so they get widths, WebP and sizes.
DEMO_PICTURES = {
    "harbour": ("harbour.png", "Waves breaking over the harbour wall under a grey sky",
                "Waves over the harbour wall at high tide."),
    "bridge": ("bridge.png", "The swing bridge with its deck raised against an orange evening "
               "sky", "The bridge deck raised at dusk."),
}
DEMO_CREDIT = "Illustration: liveblog demo"


def _store_demo_pictures(editor: User) -> dict[str, tuple[str, str]]:
    # name -> (figure markup for an entry, URL of the largest JPEG for the cover)
    stored = {}
    for name, (filename, alt, caption) in DEMO_PICTURES.items():
        path = os.path.join(current_app.static_folder, "demo", filename)
        with open(path, "rb") as picture:
            media = store_picture(picture, filename, editor.id)
        largest = picture_url(media, stored_widths(media)[-1])
        stored[name] = (str(picture_markup(media, alt, caption, DEMO_CREDIT)), largest)
    return stored


def _seed_story(editor: User) -> None:
    pictures = _store_demo_pictures(editor)
    story = publishing.create_story({
        "slug": DEMO_SLUG,
        "title": "Storm Ada: harbour bridge closed as surge hits the quays",
        "summary": "Live updates as Storm Ada reaches the estuary. Times are UK time.",
        "timezone": "Europe/London",
        "cover_url": pictures["harbour"][1],
        "cover_alt": "Grey waves rolling against the harbour wall under a low sky",
        "cover_caption": "The harbour wall at the height of the storm.",
        "cover_credit": "Illustration: liveblog demo",
        "featured_kicker": "TUESDAY FEATURE",
        "featured_title": "How a Victorian sea wall holds back a modern storm",
        "featured_url": "https://example.org/features/sea-wall",
        # The key-figures box at the top: the desk updates it, readers see it change live.
        "key_figures": {"kind": "figures", "title": "Storm Ada in numbers", "items": [
            {"label": "Strongest gust", "value": "78 mph"},
            {"label": "Homes without power", "value": "12,400"},
            {"label": "Flood warnings", "value": "9"},
        ]},
    }, editor=editor)
    now = utcnow()
    for minutes_ago, fields in DEMO_ENTRIES:
        body = fields["body"]
        for name, (markup, _) in pictures.items():
            body = body.replace("{" + name + "}", markup)
        publishing.create_entry(story.id, editor, {**fields, "body": body},
                                published_at=now - timedelta(minutes=minutes_ago))
