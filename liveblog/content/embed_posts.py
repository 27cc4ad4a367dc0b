"""What a pasted social post's official code says: the post's address, its author and text.

Everything comes out as plain text or as an ``Item`` rebuilt from parsed IDs; the card is
written later, after cleaning, by ``embed_providers.render_post``.
"""

from __future__ import annotations

import re

from liveblog.content.embed_providers import Item, PostDetails, item_for

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
# Browsers drop these anywhere in an address, and trim C0 controls and spaces at its ends.
_URL_NOISE = re.compile(r"[\t\n\r]")
_HANDLE_AT_END = re.compile(r"\(@([A-Za-z0-9._]{1,30})\)\s*$")
_BLANK_LINE = re.compile(r"\n\s*\n")


def local_name(tag) -> str:
    """An element's name without its namespace, lower-case."""
    # html5lib names SVG and MathML elements "{namespace}name"; a frame hides in either too.
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def address_of(value: str) -> str:
    """A pasted address as a browser reads it: noise removed, "//host" made https."""
    value = _URL_NOISE.sub("", value).strip("".join(map(chr, range(33))))
    value = value.replace("\\", "/")  # "https:\\host" and "/\host" both reach host
    return "https:" + value if value.startswith("//") else value


def text_of(element, skip=()) -> str:
    """Plain text of an element in reading order, line breaks kept, skipped elements left out."""
    out = [element.text or ""]
    for child in element:
        name = local_name(child.tag)
        if name == "br":
            out.append("\n")
        elif child not in skip and name not in ("script", "style", "svg", "template"):
            out.append(text_of(child, skip))
        out.append(child.tail or "")
    return "".join(out)


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p for p in (" ".join(b.split()) for b in _BLANK_LINE.split(text)) if p)


def links_in(element) -> list:
    """Every link with an address inside an element."""
    return [a for a in element.iter() if local_name(a.tag) == "a" and a.get("href")]


def _post_address(provider: str, element) -> Item | None:
    candidates = [element.get(name, "") for name in (
        "data-instgrm-permalink", "cite", "data-text-post-permalink", "data-href")]
    candidates.append(element.get("data-embed-url", "").removesuffix("/embed"))
    candidates += [a.get("href") for a in reversed(links_in(element))]
    for candidate in candidates:
        item = item_for(address_of(candidate)) if candidate else None
        if item and item.provider == provider:
            return item
    return None


def read_post(provider: str, element) -> tuple[Item, PostDetails] | None:
    """The post a provider's code shows, with its author and text; None if it names no post."""
    item = _post_address(provider, element)
    if item is None:
        return None
    links = links_in(element)
    own = [a for a in links if (found := item_for(address_of(a.get("href")))) and found == item]
    at_links = [a for a in links if text_of(a).strip().startswith("@")]
    name, handle, text = "", "", ()
    bylines = [p for p in element.iter() if local_name(p.tag) == "p"]
    if provider == "instagram" and bylines:
        words = " ".join(text_of(bylines[-1]).split())
        if match := _HANDLE_AT_END.search(words):
            handle, name = match.group(1), words[: match.start()].strip()
            name = name.rsplit(" by ", 1)[-1]
    elif provider == "tiktok":
        text = _paragraphs(" ".join(text_of(element, skip=at_links[:1]).split()))
    elif provider == "bluesky":
        paragraphs = [p for p in element if local_name(p.tag) == "p"]
        text = _paragraphs(text_of(paragraphs[0], skip=own)) if paragraphs else ()
        handle = text_of(at_links[-1]).strip().lstrip("@") if at_links else ""
        byline = (element.text or "") + "".join(child.tail or "" for child in element)
        name = " ".join(byline.split("(")[0].split()).strip("\u2014\u2013- ")
        # The code names the author by DID; a pasted link, like the card, by handle.
        key = item.url.rsplit("/", 1)[1]
        if handle and (better := item_for(f"https://bsky.app/profile/{handle}/post/{key}")):
            item = better
    elif provider == "facebook":
        quote = next((q for q in element.iter() if local_name(q.tag) == "blockquote"), element)
        text = tuple(t for p in quote if local_name(p.tag) == "p" for t in _paragraphs(text_of(p)))
        authors = [a for a in quote if local_name(a.tag) == "a" and a not in own]
        name = " ".join(text_of(authors[0]).split()) if authors else ""
    return item, PostDetails(name[:200], handle[:100], text)
