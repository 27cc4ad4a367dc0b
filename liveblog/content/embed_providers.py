"""Providers beyond X, YouTube and Vimeo: charts, maps and audio load as frames on the reader's
click; posts from social networks become static cards that load nothing from the network.

``item_for`` reads a URL into an ``Item``; ``render_item`` writes our markup for it. Every
address we write is rebuilt from IDs parsed here, never copied from what was pasted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qs, quote, urlsplit

LINK_REL = "noopener noreferrer nofollow"

# Frames our script may load (static/js/embeds.js and the CSP's frame-src say the same).
DATAWRAPPER_FRAME = "https://datawrapper.dwcdn.net/"
FLOURISH_FRAME = "https://flo.uri.sh/"
GOOGLE_MAPS_FRAME = "https://www.google.com/maps/embed?pb="
SOUNDCLOUD_FRAME = "https://w.soundcloud.com/player/?url="

# provider: (kind of item, the name readers know, frame title)
FRAMES = {
    "datawrapper": ("chart", "Datawrapper", "Datawrapper chart"),
    "flourish": ("chart", "Flourish", "Flourish chart"),
    "googlemaps": ("map", "Google Maps", "Google map"),
    "soundcloud": ("audio", "SoundCloud", "SoundCloud audio"),
}
POSTS = {
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "bluesky": "Bluesky",
    "threads": "Threads",
    "mastodon": "Mastodon",
    "facebook": "Facebook",
}
_LOAD = {"chart": "Load chart", "map": "Load map", "audio": "Load audio"}
_VIEW = {"chart": "View the chart on", "map": "View the map on", "audio": "Listen on"}

_DATAWRAPPER = re.compile(r"/([A-Za-z0-9]{5})(?:/([0-9]{1,4}))?/?")
_DATAWRAPPER_SHARE = re.compile(r"/_/([A-Za-z0-9]{5})/?")
_FLOURISH = re.compile(r"/((?:visualisation|story)/[0-9]{1,12})(?:/embed)?/?")
_MAPS_PB = re.compile(r"(?:^|&)pb=([A-Za-z0-9!._%*:+~-]{1,4000})(?:&|$)")
_SOUNDCLOUD_API = re.compile(r"/(?:tracks|playlists)/[0-9]{1,20}")
_SOUNDCLOUD_PAGE = re.compile(r"/([A-Za-z0-9_-]{1,100})/((?:sets/)?[A-Za-z0-9_-]{1,200})/?")
_SOUNDCLOUD_NOT_ITEMS = frozenset(
    {"likes", "reposts", "followers", "following", "tracks", "albums", "sets", "comments",
     "popular-tracks", "spotlight", "toptracks"}
)
_INSTAGRAM = re.compile(r"/(?:([A-Za-z0-9._]{1,30})/)?(p|reel|tv)/([A-Za-z0-9_-]{5,40})/?")
_TIKTOK = re.compile(r"/@([A-Za-z0-9._]{1,40})/(video|photo)/([0-9]{1,25})/?")
_BLUESKY = re.compile(r"/profile/([A-Za-z0-9._:%-]{1,253})/post/([a-z0-9]{10,16})/?")
_BLUESKY_HANDLE = re.compile(r"[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+")
_THREADS = re.compile(r"/@([A-Za-z0-9._]{1,30})/post/([A-Za-z0-9_-]{5,40})/?")
# Mastodon runs on thousands of hosts, so a post is known by its shape; the card loads nothing.
_MASTODON = re.compile(r"/@([A-Za-z0-9_]{1,30})/([0-9]{15,20})/?")
_FACEBOOK_POST = re.compile(r"/([A-Za-z0-9.]{1,80})/(posts|videos)/([A-Za-z0-9]{1,80})/?")
_FACEBOOK_SHARE = re.compile(r"/(share/[pvr]|reel)/([A-Za-z0-9]{1,40})/?")
_FACEBOOK_PLUGIN = re.compile(r"/plugins/(?:post|video)\.php")
_DIGITS = re.compile(r"[0-9]{1,25}")

DATAWRAPPER_HOSTS = frozenset({"datawrapper.dwcdn.net"})
DATAWRAPPER_SHARE_HOSTS = frozenset({"datawrapper.de", "www.datawrapper.de"})
FLOURISH_HOSTS = frozenset({"flo.uri.sh", "public.flourish.studio"})
GOOGLE_HOSTS = frozenset({"www.google.com", "maps.google.com"})
SOUNDCLOUD_PLAYER_HOSTS = frozenset({"w.soundcloud.com"})
SOUNDCLOUD_HOSTS = frozenset({"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"})
SOUNDCLOUD_API_HOSTS = frozenset({"api.soundcloud.com"})
INSTAGRAM_HOSTS = frozenset({"instagram.com", "www.instagram.com"})
TIKTOK_HOSTS = frozenset({"tiktok.com", "www.tiktok.com", "m.tiktok.com"})
BLUESKY_HOSTS = frozenset({"bsky.app"})
THREADS_HOSTS = frozenset({"threads.net", "www.threads.net", "threads.com", "www.threads.com"})
FACEBOOK_HOSTS = frozenset(
    {"facebook.com", "www.facebook.com", "m.facebook.com", "web.facebook.com"}
)


@dataclass(frozen=True)
class Item:
    """A chart, map, audio player or social post, by the address we would link to."""

    provider: str
    url: str  # the provider's own page for the item, rebuilt from its parsed IDs
    frame: str = ""  # frames: the player or chart address our script loads
    handle: str = ""  # posts: the author's handle when the address carries it


def _frame_item(host: str, path: str, query: str) -> Item | None:
    if host in DATAWRAPPER_HOSTS and (match := _DATAWRAPPER.fullmatch(path)):
        chart = match.group(1) + (f"/{match.group(2)}" if match.group(2) else "")
        url = f"{DATAWRAPPER_FRAME}{chart}/"
        return Item("datawrapper", url, url)
    if host in DATAWRAPPER_SHARE_HOSTS and (match := _DATAWRAPPER_SHARE.fullmatch(path)):
        url = f"{DATAWRAPPER_FRAME}{match.group(1)}/"
        return Item("datawrapper", url, url)
    if host in FLOURISH_HOSTS and (match := _FLOURISH.fullmatch(path)):
        item = match.group(1)
        return Item("flourish", f"https://public.flourish.studio/{item}/",
                    f"{FLOURISH_FRAME}{item}/embed")
    if host in GOOGLE_HOSTS and path == "/maps/embed" and (match := _MAPS_PB.search(query)):
        url = GOOGLE_MAPS_FRAME + match.group(1)
        return Item("googlemaps", url, url)
    if host in SOUNDCLOUD_PLAYER_HOSTS and path in ("/player", "/player/"):
        inner = parse_qs(query).get("url", [""])[0]
        return _soundcloud(inner)
    if host in SOUNDCLOUD_HOSTS | SOUNDCLOUD_API_HOSTS:
        return _soundcloud(f"https://{host}{path}")
    return None


def _soundcloud(address: str) -> Item | None:
    if address.startswith("//"):
        address = "https:" + address
    parts = urlsplit(address)
    if parts.scheme not in ("http", "https") or parts.query or parts.fragment:
        return None
    if parts.hostname in SOUNDCLOUD_API_HOSTS and _SOUNDCLOUD_API.fullmatch(parts.path):
        track = f"https://api.soundcloud.com{parts.path}"
        frame = SOUNDCLOUD_FRAME + quote(track, safe="")
        return Item("soundcloud", frame, frame)
    match = _SOUNDCLOUD_PAGE.fullmatch(parts.path)
    if parts.hostname not in SOUNDCLOUD_HOSTS or not match:
        return None
    if match.group(2) in _SOUNDCLOUD_NOT_ITEMS:
        return None
    page = f"https://soundcloud.com/{match.group(1)}/{match.group(2)}"
    return Item("soundcloud", page, SOUNDCLOUD_FRAME + quote(page, safe=""))


def _post_item(host: str, path: str, query: str) -> Item | None:
    if host in INSTAGRAM_HOSTS and (match := _INSTAGRAM.fullmatch(path)):
        user, kind, code = match.groups()
        return Item("instagram", f"https://www.instagram.com/{kind}/{code}/", handle=user or "")
    if host in TIKTOK_HOSTS and (match := _TIKTOK.fullmatch(path)):
        user, kind, number = match.groups()
        return Item("tiktok", f"https://www.tiktok.com/@{user}/{kind}/{number}", handle=user)
    if host in BLUESKY_HOSTS and (match := _BLUESKY.fullmatch(path)):
        actor, key = match.groups()
        if not (actor.startswith("did:") or _BLUESKY_HANDLE.fullmatch(actor)):
            return None
        handle = "" if actor.startswith("did:") else actor.lower()
        return Item("bluesky", f"https://bsky.app/profile/{handle or actor}/post/{key}",
                    handle=handle)
    if host in THREADS_HOSTS and (match := _THREADS.fullmatch(path)):
        user, code = match.groups()
        return Item("threads", f"https://www.threads.com/@{user}/post/{code}", handle=user)
    if host in FACEBOOK_HOSTS:
        return _facebook(path, parse_qs(query))
    if match := _MASTODON.fullmatch(path):
        user, number = match.groups()
        return Item("mastodon", f"https://{host}/@{user}/{number}", handle=f"{user}@{host}")
    return None


def _facebook(path: str, query: dict[str, list[str]]) -> Item | None:
    if _FACEBOOK_PLUGIN.fullmatch(path):
        inner = item_for(query.get("href", [""])[0])
        return inner if inner and inner.provider == "facebook" else None
    base = "https://www.facebook.com"
    if match := _FACEBOOK_SHARE.fullmatch(path):
        return Item("facebook", f"{base}/{match.group(1)}/{match.group(2)}/")
    if match := _FACEBOOK_POST.fullmatch(path):
        return Item("facebook", f"{base}/{match.group(1)}/{match.group(2)}/{match.group(3)}")
    if path.rstrip("/") == "/watch" and _DIGITS.fullmatch(video := query.get("v", [""])[0]):
        return Item("facebook", f"{base}/watch/?v={video}")
    story, page = query.get("story_fbid", [""])[0], query.get("id", [""])[0]
    if path == "/permalink.php" and _DIGITS.fullmatch(story) and _DIGITS.fullmatch(page):
        return Item("facebook", f"{base}/permalink.php?story_fbid={story}&id={page}")
    return None


def item_for(url: str) -> Item | None:
    """Return the Item for a chart, map, audio or post URL, or None; hosts match exactly."""
    url = url.strip()
    if not url or any(c.isspace() or ord(c) < 32 or c in "\\\"'<>" for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme.lower() not in ("http", "https") or not host or parts.port:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    path = parts.path or "/"
    return _frame_item(host, path, parts.query) or _post_item(host, path, parts.query)


@dataclass(frozen=True)
class PostDetails:
    """What a social post's official code says beyond its address, as plain text."""

    name: str = ""
    handle: str = ""
    text: tuple[str, ...] = ()


def render_item(item: Item, details: PostDetails | None = None) -> str:
    """Our markup for a chart, map, audio player or post."""
    if item.provider in FRAMES:
        return render_frame(item)
    details = details or PostDetails()
    return render_post(item, details.name, details.handle, details.text)


def _link(href: str, text: str, css_class: str = "") -> str:
    class_attr = f' class="{css_class}"' if css_class else ""
    return f'<a{class_attr} href="{escape(href)}" rel="{LINK_REL}">{escape(text)}</a>'


def render_frame(item: Item) -> str:
    """A click-to-load chart, map or audio player; nothing loads until the reader asks."""
    kind, name, title = FRAMES[item.provider]
    return (
        f'<figure class="embed embed-{kind}" data-provider="{item.provider}">'
        f'<div class="embed-frame" data-embed-src="{escape(item.frame)}" '
        f'data-embed-title="{title}">'
        f'<button type="button" class="embed-activate">{_LOAD[kind]}'
        f'<span class="embed-note">Loads the {kind} from {name}</span></button>'
        f"</div><figcaption>{_link(item.url, f'{_VIEW[kind]} {name}')}</figcaption></figure>"
    )


def render_post(item: Item, name: str = "", handle: str = "", text: tuple[str, ...] = ()) -> str:
    """A static card for a social post: author, text where known, and a link to the post."""
    handle = handle or item.handle
    meta = [f'<span class="embed-post-name">{escape(name)}</span>'] if name else []
    if handle:
        meta.append(f'<span class="embed-post-handle">@{escape(handle)}</span>')
    meta.append(_link(item.url, f"View post on {POSTS[item.provider]}", "embed-post-link"))
    body = "".join(f"<p>{escape(paragraph, quote=False)}</p>" for paragraph in text if paragraph)
    body = f'<div class="embed-post-text">{body}</div>' if body else ""
    return (
        f'<blockquote class="embed embed-post" cite="{escape(item.url)}" '
        f'data-provider="{item.provider}">{body}'
        f'<footer class="embed-post-meta">{" ".join(meta)}</footer></blockquote>'
    )
