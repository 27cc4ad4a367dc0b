"""The words of our embed markup in the page's language, put in as an entry is rendered.

Embeds are written in English when an entry is saved (content/embeds.py, embed_providers.py),
before any story's language is known; the words are ours and sit in a few known places of our
own markup, so a page in another language swaps them there and nowhere else. An English page is
given the stored HTML as it is.
"""

from __future__ import annotations

import re
from datetime import datetime

from flask_babel import gettext
from markupsafe import Markup, escape

from liveblog.content.local_time import N_, local_strftime
from liveblog.web.i18n import DEFAULT_LANGUAGE, current_language

# What embeds.py and embed_providers.py write, by the place it is written.
BUTTONS = (N_("Play video"), N_("Load chart"), N_("Load map"), N_("Load audio"))
# Translators: with its article where the language needs one ("la carte"): "Loads %(kind)s".
KINDS = {"chart": N_("chart"), "map": N_("map"), "audio": N_("audio")}
_LINKS = (
    (re.compile(r"Watch on (?P<name>[\w .-]{1,40})"), N_("Watch on %(name)s")),
    (re.compile(r"View post on (?P<name>[\w .-]{1,40})"), N_("View post on %(name)s")),
    (re.compile(r"View the chart on (?P<name>[\w .-]{1,40})"), N_("View the chart on %(name)s")),
    (re.compile(r"View the map on (?P<name>[\w .-]{1,40})"), N_("View the map on %(name)s")),
    (re.compile(r"Listen on (?P<name>[\w .-]{1,40})"), N_("Listen on %(name)s")),
)
_NOTES = (
    (re.compile(r"Loads the (?P<name>[\w .-]{1,40}) player \(privacy mode\)"),
     N_("Loads the %(name)s player (privacy mode)")),
    (re.compile(r"Loads the (?P<kind>chart|map|audio) from (?P<name>[\w .-]{1,40})"),
     N_("Loads the %(kind)s from %(name)s")),
)
# A quoted post's date, as the entry's own dates are written ("30 Nov 2026").
POST_DATE = N_("%d %b %Y")
_BUTTON = re.compile(r'(<button type="button" class="embed-activate">)([^<]{1,80})'
                     r'(<span class="embed-note">)([^<]{1,120})(</span></button>)')
_CAPTION = re.compile(r'(<figcaption><a href="[^"<>]*" rel="[^"<>]*">)([^<]{1,120})'
                      r"(</a></figcaption>)")
_POST_LINK = re.compile(r'(<a class="embed-(?:tweet|post)-link" href="[^"<>]*" rel="[^"<>]*">)'
                        r"([^<]{1,120})(</a>)")
_TWEET_DATE = re.compile(r'(<time class="embed-tweet-date" datetime="'
                         r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)">)([^<]{1,40})(</time>)')


def localized_embeds(body_html: str) -> Markup:
    """An entry's stored HTML with our embeds' words in the page's language (as safe markup)."""
    language = current_language()
    if language == DEFAULT_LANGUAGE or "embed" not in body_html:
        return Markup(body_html)
    html = _BUTTON.sub(_button, body_html)
    html = _CAPTION.sub(_words, html)
    html = _POST_LINK.sub(_words, html)
    html = _TWEET_DATE.sub(lambda match: _tweet_date(match, language), html)
    return Markup(html)


def _translated(text: str, patterns) -> str:
    # The stored text is escaped HTML; its parts are read back, translated and escaped again.
    for pattern, message in patterns:
        found = pattern.fullmatch(text)
        if found:
            parts = dict(found.groupdict())
            if "kind" in parts:
                parts["kind"] = gettext(KINDS[parts["kind"]])
            return str(escape(gettext(message, **parts)))
    return text


def _button(match: re.Match) -> str:
    label = gettext(match.group(2)) if match.group(2) in BUTTONS else match.group(2)
    note = _translated(match.group(4), _NOTES)
    return f"{match.group(1)}{escape(label)}{match.group(3)}{note}{match.group(5)}"


def _words(match: re.Match) -> str:
    return f"{match.group(1)}{_translated(match.group(2), _LINKS)}{match.group(3)}"


def _tweet_date(match: re.Match, language: str) -> str:
    moment = datetime.strptime(match.group(2), "%Y-%m-%dT%H:%M:%SZ")
    label = local_strftime(moment, gettext(POST_DATE), language).lstrip("0")
    return f"{match.group(1)}{escape(label)}{match.group(4)}"
