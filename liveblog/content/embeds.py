"""Turn a lone pasted URL into embed markup that we write ourselves, from an allowlist.

Which function handles what:

- ``expand_embeds`` walks the top level of cleaned HTML. A ``<p>`` holding nothing but one URL
  (bare text or a single link) goes to ``embed_for``; a ``<blockquote>`` whose last link is a
  post on X/Twitter (what is left of Twitter's official embed code once ``clean_html`` has taken
  its class and script away) goes to ``_tweet_from_blockquote``.
- ``embed_for`` decides whether a URL belongs to a known provider, by exact host, and returns
  an ``Embed`` (X, YouTube, Vimeo, pictures) or an ``embed_providers.Item`` (charts, maps,
  audio, other social posts); ``render_embed`` turns either into markup.
- Pasted embed codes are read before cleaning, by ``embed_codes``, into links that come here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

from liveblog.content.embed_providers import Item, PostDetails, item_for, render_item

LINK_REL = "noopener noreferrer nofollow"

TWITTER_HOSTS = frozenset(
    {"twitter.com", "www.twitter.com", "mobile.twitter.com", "x.com", "www.x.com"}
)
YOUTUBE_HOSTS = frozenset(
    {"youtube.com", "www.youtube.com", "m.youtube.com"}
    | {"youtube-nocookie.com", "www.youtube-nocookie.com"}  # the privacy-mode player's code
)
YOUTU_BE_HOSTS = frozenset({"youtu.be"})
VIMEO_HOSTS = frozenset({"vimeo.com", "www.vimeo.com"})
VIMEO_PLAYER_HOSTS = frozenset({"player.vimeo.com"})
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")

_TWEET_PATH = re.compile(r"/([A-Za-z0-9_]{1,15})/status(?:es)?/([0-9]{1,20})(?:/.*)?")
_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_PATH = re.compile(r"/(?:shorts|embed|live)/([A-Za-z0-9_-]{11})/?")
_YOUTUBE_TIME = re.compile(r"(?:(\d{1,2})h)?(?:(\d{1,4})m)?(?:(\d{1,6})s?)?")
_VIMEO_PAGE_PATH = re.compile(r"/([0-9]{1,12})(?:/([0-9a-f]{6,20}))?/?")
_VIMEO_PLAYER_PATH = re.compile(r"/video/([0-9]{1,12})/?")
_VIMEO_HASH = re.compile(r"[0-9a-f]{6,20}")
_AUTHOR = re.compile(r"^[\s\u2014\u2013-]*(.*?)\s*\(@[A-Za-z0-9_]{1,15}\)\s*$", re.S)

# Twitter switched to Snowflake IDs in November 2010; this is the last sequential ID.
_LAST_SEQUENTIAL_TWEET = 29_700_859_247
_TWITTER_EPOCH_MS = 1_288_834_974_657
_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
_VOID = frozenset({"br", "hr", "img"})


@dataclass(frozen=True)
class Embed:
    """A URL recognised as one provider's item: a post, a video or an image."""

    provider: str  # "twitter", "youtube", "vimeo" or "image"
    id: str  # post or video ID; for images, the URL itself
    handle: str = ""  # twitter: the author's handle
    start: int = 0  # youtube: seconds into the video
    secret: str = ""  # vimeo: the hash of an unlisted video


def _split(url: str):
    """Split an absolute http(s) URL with no userinfo, or return None."""
    url = url.strip()
    if not url or any(c.isspace() or ord(c) < 32 or c in "\\\"'<>" for c in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return parts


def _seconds(value: str) -> int:
    match = _YOUTUBE_TIME.fullmatch(value)
    if not value or not match:
        return 0
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def _youtube(host: str, path: str, query: dict[str, list[str]]) -> Embed | None:
    video_id = ""
    if host in YOUTU_BE_HOSTS:
        video_id = path.strip("/")
    elif path.rstrip("/") == "/watch":
        video_id = query.get("v", [""])[0]
    elif match := _YOUTUBE_PATH.fullmatch(path):
        video_id = match.group(1)
    # "videoseries" fits an ID's shape but names a playlist, which our player cannot show.
    if not _YOUTUBE_ID.fullmatch(video_id) or video_id == "videoseries":
        return None
    start = _seconds(query.get("t", query.get("start", [""]))[0])
    return Embed("youtube", video_id, start=start)


def _vimeo(host: str, path: str, query: dict[str, list[str]]) -> Embed | None:
    if host in VIMEO_PLAYER_HOSTS:
        match, secret = _VIMEO_PLAYER_PATH.fullmatch(path), query.get("h", [""])[0]
    else:
        match = _VIMEO_PAGE_PATH.fullmatch(path)
        secret = (match.group(2) or "") if match else ""
    if not match:
        return None
    return Embed("vimeo", match.group(1), secret=secret if _VIMEO_HASH.fullmatch(secret) else "")


def embed_for(url: str) -> Embed | Item | None:
    """The Embed or Item for a URL (a provider's by exact host, a picture by extension), or None."""
    parts = _split(url)
    if parts is None:
        return None
    host, path = parts.hostname, parts.path or "/"
    query = parse_qs(parts.query)
    if host in TWITTER_HOSTS:
        match = _TWEET_PATH.fullmatch(path)
        return Embed("twitter", match.group(2), handle=match.group(1)) if match else None
    if host in YOUTUBE_HOSTS or host in YOUTU_BE_HOSTS:
        return _youtube(host, path, query)
    if host in VIMEO_HOSTS or host in VIMEO_PLAYER_HOSTS:
        return _vimeo(host, path, query)
    if item := item_for(url):
        return item
    if path.lower().endswith(IMAGE_EXTENSIONS):
        return Embed("image", url.strip())
    return None


def tweet_time(tweet_id: str) -> datetime | None:
    """Return when a post was made, read from its Snowflake ID; None for older IDs."""
    number = int(tweet_id)
    if number <= _LAST_SEQUENTIAL_TWEET:
        return None
    return datetime.fromtimestamp(((number >> 22) + _TWITTER_EPOCH_MS) / 1000, tz=UTC)


def _link(href: str, text: str, css_class: str = "") -> str:
    class_attr = f' class="{css_class}"' if css_class else ""
    return f'<a{class_attr} href="{escape(href)}" rel="{LINK_REL}">{escape(text)}</a>'


def _video(provider: str, src: str, title: str, watch_url: str, watch_text: str) -> str:
    # The privacy-mode player loads only when the reader asks for it (static/js/embeds.js):
    # until then the provider learns nothing about who reads the story.
    name = title.removesuffix(" video")
    return (
        f'<figure class="embed embed-video" data-provider="{provider}">'
        f'<div class="embed-frame" data-embed-src="{escape(src)}" data-embed-title="{title}">'
        f'<button type="button" class="embed-activate">Play video'
        f'<span class="embed-note">Loads the {name} player (privacy mode)</span></button>'
        f"</div><figcaption>{_link(watch_url, watch_text)}</figcaption></figure>"
    )


def _tweet(embed: Embed, text_html: str = "", name: str = "") -> str:
    url = f"https://x.com/{embed.handle}/status/{embed.id}"
    meta = [f'<span class="embed-tweet-name">{escape(name)}</span>'] if name else []
    # x.com/i/status/ID is a real address but "i" is not an author.
    if embed.handle != "i":
        meta.append(f'<span class="embed-tweet-handle">@{embed.handle}</span>')
    if when := tweet_time(embed.id):
        label = f"{when.day} {_MONTHS[when.month - 1]} {when.year}"
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        meta.append(f'<time class="embed-tweet-date" datetime="{stamp}">{label}</time>')
    meta.append(_link(url, "View post on X", "embed-tweet-link"))
    text = f'<div class="embed-tweet-text">{text_html}</div>' if text_html else ""
    return (
        f'<blockquote class="embed embed-tweet" cite="{escape(url)}" data-provider="twitter">'
        f'{text}<footer class="embed-tweet-meta">{" ".join(meta)}</footer></blockquote>'
    )


def render_embed(embed: Embed | Item, details: PostDetails | None = None) -> str:
    """Return our markup for an Embed; nothing in it comes from the journalist but the URL."""
    if isinstance(embed, Item):
        return render_item(embed, details)
    if embed.provider == "twitter":
        return _tweet(embed)
    if embed.provider == "youtube":
        src = f"https://www.youtube-nocookie.com/embed/{embed.id}"
        watch = f"https://www.youtube.com/watch?v={embed.id}"
        if embed.start:
            src, watch = f"{src}?start={embed.start}", f"{watch}&t={embed.start}s"
        return _video("youtube", src, "YouTube video", watch, "Watch on YouTube")
    if embed.provider == "vimeo":
        src = f"https://player.vimeo.com/video/{embed.id}?dnt=1"
        watch = f"https://vimeo.com/{embed.id}"
        if embed.secret:
            src, watch = f"{src}&h={embed.secret}", f"{watch}/{embed.secret}"
        return _video("vimeo", src, "Vimeo video", watch, "Watch on Vimeo")
    return (
        f'<figure class="embed embed-image"><img src="{escape(embed.id)}" alt="" loading="lazy">'
        "</figure>"
    )


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    start: int
    end: int = -1
    children: list[_Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def links(self) -> list[_Node]:
        found = [self] if self.tag == "a" else []
        for child in self.children:
            if isinstance(child, _Node):
                found += child.links()
        return found


class _TreeBuilder(HTMLParser):
    """Build a small tree of cleaned HTML, remembering where top-level elements sit."""

    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.source = source
        self.root = _Node("#root", {}, 0, len(source))
        self._stack = [self.root]
        self._lines = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._lines[line - 1] + column

    def handle_starttag(self, tag, attrs):
        node = _Node(tag, {k: v or "" for k, v in attrs}, self._offset())
        self._stack[-1].children.append(node)
        if tag in _VOID:
            node.end = node.start + len(self.get_starttag_text() or "")
        else:
            self._stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        for depth in range(len(self._stack) - 1, 0, -1):
            if self._stack[depth].tag == tag:
                self._stack[depth].end = self.source.index(">", self._offset()) + 1
                del self._stack[depth:]
                return

    def handle_data(self, data):
        self._stack[-1].children.append(data)


def _lone_url_embed(paragraph: _Node) -> Embed | None:
    parts = [c for c in paragraph.children if not (isinstance(c, str) and not c.strip())]
    if len(parts) != 1:
        return None
    only = parts[0]
    if isinstance(only, str):
        candidates = [only]
    elif only.tag == "a":
        candidates = [only.attrs.get("href", ""), only.text()]
    else:
        return None
    for candidate in candidates:
        if candidate.strip() and not any(c.isspace() for c in candidate.strip()):
            if embed := embed_for(candidate):
                return embed
    return None


def _inline(nodes: list[_Node | str]) -> str:
    """Rebuild quoted text from its words, line breaks and web links only."""
    out = []
    for node in nodes:
        if isinstance(node, str):
            out.append(escape(node, quote=False))
        elif node.tag == "br":
            out.append("<br>")
        elif node.tag == "a" and _split(node.attrs.get("href", "")):
            out.append(
                f'<a href="{escape(node.attrs["href"])}" rel="{LINK_REL}">'
                f"{_inline(node.children)}</a>"
            )
        else:
            out.append(_inline(node.children))
    return "".join(out)


def _tweet_from_blockquote(quote: _Node) -> str | None:
    links = quote.links()
    embed = embed_for(links[-1].attrs.get("href", "")) if links else None
    if embed is None or embed.provider != "twitter":
        return None
    paragraphs = [c for c in quote.children if isinstance(c, _Node) and c.tag == "p"]
    text_html = "".join(f"<p>{_inline(p.children)}</p>" for p in paragraphs if p.text().strip())
    byline = "".join(c for c in quote.children if isinstance(c, str))
    match = _AUTHOR.match(byline)
    return _tweet(embed, text_html, match.group(1).strip() if match else "")


def expand_embeds(cleaned_html: str, posts: dict[str, PostDetails] | None = None) -> str:
    """Replace top-level lone-URL paragraphs and pasted tweets with embed markup.

    posts holds, by URL, what a pasted post's official code said of its author and text.
    """
    if "<p" not in cleaned_html and "<blockquote" not in cleaned_html:
        return cleaned_html
    builder = _TreeBuilder(cleaned_html)
    builder.feed(cleaned_html)
    builder.close()
    out, position = [], 0
    for node in builder.root.children:
        if isinstance(node, str) or node.end < 0:
            continue
        replacement = None
        if node.tag == "p":
            embed = _lone_url_embed(node)
            details = (posts or {}).get(embed.url) if isinstance(embed, Item) else None
            replacement = render_embed(embed, details) if embed else None
        elif node.tag == "blockquote":
            replacement = _tweet_from_blockquote(node)
        if replacement is not None:
            out += [cleaned_html[position : node.start], replacement]
            position = node.end
    out.append(cleaned_html[position:])
    return "".join(out)
