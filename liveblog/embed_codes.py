"""Embed codes pasted from a provider's share dialog, read before the cleaner drops them.

A supported code becomes a link to the item, so it makes the same embed as a pasted link; a
post's author and text go beside it as plain text. A frame or script from anywhere else is
refused, naming where it comes from, so the journalist knows to paste a link instead.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from html import escape
from urllib.parse import urlsplit

from bleach.html5lib_shim import HTMLParser, HTMLSerializer, getTreeWalker

from .embed_providers import FRAMES, Item, PostDetails, item_for
from .embeds import Embed, embed_for
from .sanitize import has_block_markup

# Elements that fetch and run or show something from an address.
LOADERS = frozenset({"iframe", "frame", "embed", "object", "applet", "script", "portal"})
# What each provider's official code wraps its post in, by class.
POST_CODES = {
    "instagram-media": "instagram",
    "tiktok-embed": "tiktok",
    "bluesky-embed": "bluesky",
    "text-post-media": "threads",
    "mastodon-embed": "mastodon",
    "fb-post": "facebook",
    "fb-xfbml-parse-ignore": "facebook",
}
# Scripts that come with the codes we turn into our own markup: dropped without a word.
PROVIDER_SCRIPTS = frozenset(
    {
        "platform.twitter.com/widgets.js",
        "www.instagram.com/embed.js",
        "instagram.com/embed.js",
        "www.tiktok.com/embed.js",
        "embed.bsky.app/static/embed.js",
        "www.threads.net/embed.js",
        "www.threads.com/embed.js",
        "player.vimeo.com/api/player.js",
        "www.youtube.com/iframe_api",
        "public.flourish.studio/resources/embed.js",
        "w.soundcloud.com/player/api.js",
    }
)
_FACEBOOK_SDK = re.compile(r"connect\.facebook\.net/[a-z]{2}_[A-Z]{2}/(?:sdk|all)\.js")
_DATAWRAPPER_SCRIPT = re.compile(r"/([A-Za-z0-9]{5})(?:/[0-9]{1,4})?/embed\.js")
_HINT = re.compile(r"frame|script|embed|object|applet|portal|blockquote|div", re.I)
# Browsers drop these anywhere in an address, and trim C0 controls and spaces at its ends.
_URL_NOISE = re.compile(r"[\t\n\r]")
_HOST = re.compile(r"[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\]")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,20}")
_HANDLE_AT_END = re.compile(r"\(@([A-Za-z0-9._]{1,30})\)\s*$")
_BLANK_LINE = re.compile(r"\n\s*\n")


class EmbedRefused(ValueError):
    """A pasted frame or script that cannot be made safe; the message names its source."""

    def __init__(self, source: str, has_host: bool):
        self.message = (
            f"An embed code {'from' if has_host else 'with'} {source} cannot be placed; "
            "paste a link to the post instead."
        )
        super().__init__(self.message)


@dataclass
class PastedCodes:
    """The body with embed codes turned into links, and each post's details by its URL."""

    body: str
    posts: dict[str, PostDetails] = field(default_factory=dict)


def _local(tag) -> str:
    # html5lib names SVG and MathML elements "{namespace}name"; a frame hides in either too.
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _address(value: str) -> str:
    value = _URL_NOISE.sub("", value).strip("".join(map(chr, range(33))))
    value = value.replace("\\", "/")  # "https:\\host" and "/\host" both reach host
    return "https:" + value if value.startswith("//") else value


def _refusal(value: str | None, inline: bool = False) -> EmbedRefused:
    if inline:
        return EmbedRefused("inline content (srcdoc)", has_host=False)
    address = _address(value or "")
    if not address:
        return EmbedRefused("no address", has_host=False)
    try:
        parts = urlsplit(address)
        host, scheme = parts.hostname or "", parts.scheme.lower()
    except ValueError:
        host, scheme = "", ""
    if host and scheme in ("http", "https"):
        return EmbedRefused(host if _HOST.fullmatch(host) else "an unknown host", has_host=True)
    if scheme and _SCHEME.fullmatch(scheme):
        return EmbedRefused(f"a {scheme}: address", has_host=False)
    return EmbedRefused("a relative address", has_host=False)


def _script_key(address: str) -> tuple[str, str]:
    try:
        parts = urlsplit(address)
        return (parts.hostname or ""), parts.path
    except ValueError:
        return "", ""


def _text(element, skip=()) -> str:
    """Plain text of an element in reading order, line breaks kept, skipped elements left out."""
    out = [element.text or ""]
    for child in element:
        name = _local(child.tag)
        if name == "br":
            out.append("\n")
        elif child not in skip and name not in ("script", "style", "svg", "template"):
            out.append(_text(child, skip))
        out.append(child.tail or "")
    return "".join(out)


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p for p in (" ".join(b.split()) for b in _BLANK_LINE.split(text)) if p)


def _links(element) -> list:
    return [a for a in element.iter() if _local(a.tag) == "a" and a.get("href")]


def _post_address(provider: str, element) -> Item | None:
    candidates = [element.get(name, "") for name in (
        "data-instgrm-permalink", "cite", "data-text-post-permalink", "data-href")]
    candidates.append(element.get("data-embed-url", "").removesuffix("/embed"))
    candidates += [a.get("href") for a in reversed(_links(element))]
    for candidate in candidates:
        item = item_for(_address(candidate)) if candidate else None
        if item and item.provider == provider:
            return item
    return None


def _read_post(provider: str, element) -> tuple[Item, PostDetails] | None:
    item = _post_address(provider, element)
    if item is None:
        return None
    links = _links(element)
    own = [a for a in links if (found := item_for(_address(a.get("href")))) and found == item]
    at_links = [a for a in links if _text(a).strip().startswith("@")]
    name, handle, text = "", "", ()
    if provider == "instagram" and (byline := [p for p in element.iter() if _local(p.tag) == "p"]):
        words = " ".join(_text(byline[-1]).split())
        if match := _HANDLE_AT_END.search(words):
            handle, name = match.group(1), words[: match.start()].strip()
            name = name.rsplit(" by ", 1)[-1]
    elif provider == "tiktok":
        text = _paragraphs(" ".join(_text(element, skip=at_links[:1]).split()))
    elif provider == "bluesky":
        paragraphs = [p for p in element if _local(p.tag) == "p"]
        text = _paragraphs(_text(paragraphs[0], skip=own)) if paragraphs else ()
        handle = _text(at_links[-1]).strip().lstrip("@") if at_links else ""
        byline = (element.text or "") + "".join(child.tail or "" for child in element)
        name = " ".join(byline.split("(")[0].split()).strip("\u2014\u2013- ")
        # The code names the author by DID; a pasted link, like the card, by handle.
        key = item.url.rsplit("/", 1)[1]
        if handle and (better := item_for(f"https://bsky.app/profile/{handle}/post/{key}")):
            item = better
    elif provider == "facebook":
        quote = next((q for q in element.iter() if _local(q.tag) == "blockquote"), element)
        text = tuple(t for p in quote if _local(p.tag) == "p" for t in _paragraphs(_text(p)))
        authors = [a for a in quote if _local(a.tag) == "a" and a not in own]
        name = " ".join(_text(authors[0]).split()) if authors else ""
    return item, PostDetails(name[:200], handle[:100], text)


class _Reader:
    """One walk over a parsed fragment: codes become markers, strangers are refused."""

    def __init__(self, root):
        self.root = root
        self.parents = {child: parent for parent in root.iter() for child in parent}
        self.token = f"\ue000{secrets.token_hex(8)}"
        self.links: list[tuple[str, bool]] = []  # (URL, alone in its own <p>)
        self.posts: dict[str, PostDetails] = {}
        self.gone: set = set()
        self.mastodon_hosts: set[str] = set()

    def _is_gone(self, element) -> bool:
        while element is not None:
            if element in self.gone:
                return True
            element = self.parents.get(element)
        return False

    def _remove(self, element, text: str = "") -> None:
        parent = self.parents[element]
        index = list(parent).index(element)
        text += element.tail or ""
        if index:
            parent[index - 1].tail = (parent[index - 1].tail or "") + text
        else:
            parent.text = (parent.text or "") + text
        parent.remove(element)
        self.gone.add(element)

    def _replace(self, element, url: str) -> None:
        parent = self.parents[element]
        alone = _local(parent.tag) == "p" and len(parent) == 1 and not (
            (parent.text or "").strip() or (element.tail or "").strip())
        self.links.append((url, alone))
        self._remove(element, f"{self.token}-{len(self.links) - 1}\ue000")

    def read(self) -> None:
        """Turn known codes into markers; raise EmbedRefused for any other loader."""
        for element in list(self.root.iter()):
            if not self._is_gone(element):
                self._read_element(element)
        for element in list(self.root.iter()):  # scripts last: a Mastodon code names its host
            if _local(element.tag) == "script" and not self._is_gone(element):
                self._read_script(element)

    def _read_element(self, element) -> None:
        name, classes = _local(element.tag), (element.get("class") or "").split()
        if name in ("blockquote", "div"):
            provider = next((POST_CODES[c] for c in classes if c in POST_CODES), None)
            if provider and (post := _read_post(provider, element)):
                item, details = post
                self.posts[item.url] = details
                if provider == "mastodon":
                    self.mastodon_hosts.add(urlsplit(item.url).hostname or "")
                self._replace(element, item.url)
            elif "flourish-embed" in classes and (source := element.get("data-src")):
                item = item_for(f"https://public.flourish.studio/{source.split('?')[0]}/")
                if item and item.provider == "flourish":
                    self._replace(element, item.url)
        elif name == "a" and "flourish-credit" in classes:
            self._remove(element)
        elif name in LOADERS and name != "script":
            self._read_frame(element, name, classes)

    def _read_frame(self, element, name: str, classes: list[str]) -> None:
        if element.get("srcdoc") is not None:
            raise _refusal(None, inline=True)
        raw = next((element.get(a) for a in ("src", "data", "code") if element.get(a)), "")
        address = _address(raw)
        found = embed_for(address) if name == "iframe" else None
        if "mastodon-embed" in classes and address.endswith("/embed"):
            found = item_for(address.removesuffix("/embed"))
            self.mastodon_hosts.add(urlsplit(address).hostname or "")
        if isinstance(found, Embed) and found.provider in ("youtube", "vimeo"):
            return self._replace(element, address)
        if isinstance(found, Item) and found.provider == "soundcloud":
            found = self._soundcloud_credit(element, found)
        if isinstance(found, Item) and (found.provider in FRAMES or found.provider in (
                "facebook", "mastodon")):
            return self._replace(element, found.url)
        raise _refusal(raw)

    def _soundcloud_credit(self, frame, item: Item) -> Item:
        # SoundCloud's code ends with a line of credits; its last link is the track's page.
        parent = self.parents[frame]
        siblings = list(parent)
        index = siblings.index(frame)
        credit = siblings[index + 1] if index + 1 < len(siblings) else None
        if credit is None or _local(credit.tag) != "div" or (frame.tail or "").strip():
            return item
        pages = [item_for(_address(a.get("href"))) for a in _links(credit)]
        if pages and all(p and p.provider == "soundcloud" for p in pages[-1:]):
            self._remove(credit)
            return pages[-1]
        return item

    def _read_script(self, element) -> None:
        raw = element.get("src") or element.get("href") or element.get(
            "{http://www.w3.org/1999/xlink}href")
        if not raw:  # inline code (Datawrapper's resizer): the cleaner drops it with its text
            return self._remove(element)
        address = _address(raw)
        host, path = _script_key(address)
        if f"{host}{path}" in PROVIDER_SCRIPTS or _FACEBOOK_SDK.fullmatch(f"{host}{path}"):
            return self._remove(element)
        if path == "/embed.js" and host in self.mastodon_hosts:
            return self._remove(element)
        if host == "datawrapper.dwcdn.net" and (match := _DATAWRAPPER_SCRIPT.fullmatch(path)):
            item = item_for(f"https://datawrapper.dwcdn.net/{match.group(1)}/")
            if item:
                return self._replace(element, item.url)
        raise _refusal(raw)

    def serialize(self) -> str:
        """The fragment as HTML, each marker now a link in a paragraph of its own."""
        serializer = HTMLSerializer(quote_attr_values="always", omit_optional_tags=False,
                                    resolve_entities=False, sanitize=False)
        html = serializer.render(getTreeWalker("etree")(self.root))
        blocks = has_block_markup(html)
        for number, (url, alone) in enumerate(self.links):
            link = f'<a href="{escape(url)}">{escape(url)}</a>'
            if not alone:
                link = f"<p>{link}</p>" if blocks else f"\n\n{link}\n\n"
            html = html.replace(f"{self.token}-{number}\ue000", link)
        return html


def read_embed_codes(raw: str) -> PastedCodes:
    """Turn pasted embed codes into links to their items; raise EmbedRefused for the rest."""
    if not raw or "<" not in raw or not _HINT.search(raw):
        return PastedCodes(raw)
    reader = _Reader(HTMLParser(namespaceHTMLElements=False).parseFragment(raw))
    reader.read()
    if not reader.links:
        # Nothing to turn into an embed: what is left for the cleaner is what was written.
        return PastedCodes(raw)
    return PastedCodes(reader.serialize(), reader.posts)
