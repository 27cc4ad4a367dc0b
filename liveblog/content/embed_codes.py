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

from liveblog.content.embed_posts import (
    POST_CODES,
    address_of,
    links_in,
    local_name,
    read_post,
    text_of,
)
from liveblog.content.embed_providers import FRAMES, Item, PostDetails, item_for
from liveblog.content.embeds import Embed, embed_for
from liveblog.content.sanitize import has_block_markup

# Elements that fetch and run or show something from an address.
LOADERS = frozenset({"iframe", "frame", "embed", "object", "applet", "script", "portal"})
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
# Every code we read names one of these (a loader's tag or a provider's class): anything else
# goes to the cleaner unparsed. "embed" covers tiktok-, bluesky-, mastodon- and flourish-embed.
_HINT = re.compile(r"frame|script|embed|object|applet|portal|instagram-media|text-post-media"
                   r"|fb-post|fb-xfbml|fb-root", re.I)
_ADDRESSED = frozenset({"src", "srcdoc", "data", "code", "href"})
_HOST = re.compile(r"[a-z0-9.-]{1,253}|\[[0-9a-f:.]{2,45}\]")
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]{0,20}")


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


def _refusal(value: str | None, inline: bool = False) -> EmbedRefused:
    if inline:
        return EmbedRefused("inline content (srcdoc)", has_host=False)
    address = address_of(value or "")
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
        alone = local_name(parent.tag) == "p" and len(parent) == 1 and not (
            (parent.text or "").strip() or (element.tail or "").strip())
        self.links.append((url, alone))
        self._remove(element, f"{self.token}-{len(self.links) - 1}\ue000")

    def read(self) -> None:
        """Turn known codes into markers; raise EmbedRefused for any other loader."""
        for element in list(self.root.iter()):
            if not self._is_gone(element):
                self._read_element(element)
        for element in list(self.root.iter()):  # scripts last: a Mastodon code names its host
            if local_name(element.tag) == "script" and not self._is_gone(element):
                self._read_script(element)

    def _read_element(self, element) -> None:
        name, classes = local_name(element.tag), (element.get("class") or "").split()
        if name in ("blockquote", "div"):
            provider = next((POST_CODES[c] for c in classes if c in POST_CODES), None)
            if provider and (post := read_post(provider, element)):
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
        address = address_of(raw)
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
        if credit is None or local_name(credit.tag) != "div" or (frame.tail or "").strip():
            return item
        links = links_in(credit)
        page = item_for(address_of(links[-1].get("href"))) if links else None
        if page is None or page.provider != "soundcloud":
            return item
        self._remove(credit)
        return page

    def _read_script(self, element) -> None:
        raw = element.get("src") or element.get("href") or element.get(
            "{http://www.w3.org/1999/xlink}href")
        if not raw:  # inline code (Datawrapper's resizer): the cleaner drops it with its text
            return self._remove(element)
        address = address_of(raw)
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
                                    resolve_entities=False)
        html = serializer.render(getTreeWalker("etree")(self.root))
        blocks = has_block_markup(html)
        for number, (url, alone) in enumerate(self.links):
            link = f'<a href="{escape(url)}">{escape(url)}</a>'
            if not alone:
                link = f"<p>{link}</p>" if blocks else f"\n\n{link}\n\n"
            html = html.replace(f"{self.token}-{number}\ue000", link)
        return html


def _parse(html: str):
    return HTMLParser(namespaceHTMLElements=False).parseFragment(html)


def _is_code(text: str) -> bool:
    """True if text, read as HTML, holds an embed code: a loader with an address or a wrapper."""
    wrappers = {*POST_CODES, "flourish-embed", "twitter-tweet"}
    return _HINT.search(text) is not None and any(
        (local_name(element.tag) in LOADERS and _ADDRESSED.intersection(element.keys()))
        or wrappers.intersection((element.get("class") or "").split())
        or element.get("id") == "fb-root"  # the first line of Facebook's code
        for element in _parse(text).iter()
    )


def _plain_paragraph_text(element) -> str | None:
    if local_name(element.tag) != "p" or any(local_name(c.tag) != "br" for c in element):
        return None
    return text_of(element).strip()


def _code_written_as_text(raw: str) -> str:
    """Rich editors (the desk's Quill) paste code as text: read such paragraphs as the code.

    A run of plain paragraphs from one starting with "<" to one ending with ">" (a script in
    the code may span lines) is taken for code when, read as HTML, it holds an embed code.
    """
    root = _parse(raw)
    children, runs, index = list(root), [], 0
    while index < len(children):
        parts = [_plain_paragraph_text(children[index]) or ""]
        end = index
        while parts[0].startswith("<") and not parts[-1].endswith(">") and end + 1 < len(
                children) and (more := _plain_paragraph_text(children[end + 1])) is not None:
            end += 1
            parts.append(more)
        code = "\n".join(parts)
        if code.startswith("<") and code.endswith(">") and _is_code(code):
            runs.append((children[index : end + 1], code))
            index = end + 1
        else:
            index += 1
    if not runs:
        return raw
    token = f"\ue000{secrets.token_hex(8)}"
    for number, (run, _) in enumerate(runs):
        tail = run[-1].tail
        run[0].clear()
        run[0].text, run[0].tail = f"{token}-{number}\ue000", tail
        for element in run[1:]:
            root.remove(element)
    html = HTMLSerializer(quote_attr_values="always", omit_optional_tags=False,
                          resolve_entities=False).render(getTreeWalker("etree")(root))
    for number, (_, code) in enumerate(runs):
        html = html.replace(f"<p>{token}-{number}\ue000</p>", code)
    return html


def read_embed_codes(raw: str) -> PastedCodes:
    """Turn pasted embed codes into links to their items; raise EmbedRefused for the rest."""
    if not raw or "<" not in raw or not _HINT.search(raw):
        return PastedCodes(raw)
    if "&lt;" in raw:
        raw = _code_written_as_text(raw)
    reader = _Reader(_parse(raw))
    reader.read()
    if not reader.links:
        # Nothing to turn into an embed: what is left for the cleaner is what was written.
        return PastedCodes(raw)
    return PastedCodes(reader.serialize(), reader.posts)
