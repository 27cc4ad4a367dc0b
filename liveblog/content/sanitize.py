"""The one HTML cleaner for journalist input: an explicit allowlist, plain text kept plain."""

from __future__ import annotations

import html
import re
import threading

from bleach.html5lib_shim import Filter
from bleach.sanitizer import Cleaner

LINK_REL = "noopener noreferrer nofollow"

ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "b", "em", "i", "u", "s", "a", "ul", "ol", "li", "blockquote"}
    | {"h2", "h3", "h4", "figure", "figcaption", "img", "code", "pre", "cite", "hr"}
    | {"picture", "source"}
)

# Bleach turns tags it does not know into text *before* parsing, so a stripped <script> would
# leave its body behind as words. These are handed to the parser as real elements instead and
# then removed whole, contents and all, by _DropContentFilter.
DROP_WITH_CONTENT = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "embed", "applet"}
    | {"svg", "math", "textarea", "title", "xmp", "noembed", "noframes"}
)

_TAG = re.compile(r"</?[A-Za-z][^>]*>|<!--")
# Text with inline markup but no blocks (as an API client may send) still gets its paragraphs.
_BLOCK_TAG = re.compile(r"<(p|div|ul|ol|li|blockquote|h[1-6]|figure|pre|table|hr)\b", re.I)
_SRCSET_CANDIDATE = {"img": re.compile(r"/media/[0-9]+/[0-9]+\.jpg [0-9]+w"),
                     "source": re.compile(r"/media/[0-9]+/[0-9]+\.webp [0-9]+w")}
_SIZES = re.compile(r"[a-z0-9().:, -]+")
_EMPTY_PARAGRAPH = re.compile(r"<p>(\s|<br>)*</p>")
_BLANK_LINE = re.compile(r"\n[ \t\f\v]*\n")
# Unicode's noncharacters as a regular expression's class (no brackets): U+FDD0-U+FDEF and the
# last two code points of every plane. The API's schemas (api/schemas.py) say the same with it.
NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}-{chr(plane << 16 | 0xFFFF)}" for plane in range(17))
# What no HTML or XML document may carry: C0 controls but tab, newline and carriage return, DEL,
# C1 controls, and Unicode's noncharacters (U+FDD0-U+FDEF and the last two of every plane). One
# of them in a headline made the story's Atom feed unparseable for every reader.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f" + NONCHARACTERS + "]")
# bleach keeps character references as written, so "&#1;" would bring a forbidden one back.
_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")
# Browsers ignore these inside URLs, so "jav&#x09;ascript:" must be judged as "javascript:".
_URL_NOISE = re.compile(r"[`\x00-\x20\x7f-\xa0\s]+")


def _normal_url(value: str) -> str:
    return _URL_NOISE.sub("", html.unescape(value)).lower()


def _is_local_path(url: str) -> bool:
    # "//host" and "/\host" both leave the site in a browser.
    return url.startswith("/") and not url.startswith(("//", "/\\"))


def is_web_url(value: str) -> bool:
    """True if value is an absolute http(s) URL once entities and hidden characters are gone."""
    return _normal_url(value).startswith(("http://", "https://"))


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    url = _normal_url(value)
    if tag == "a":
        if name == "href":
            return is_web_url(value) or url.startswith(("mailto:", "#")) or _is_local_path(url)
        return name == "title"
    if tag == "img":
        if name == "src":
            return is_web_url(value) or _is_local_path(url)
        if name in ("width", "height"):
            return value.isascii() and value.isdigit() and len(value) <= 5
        if name in ("srcset", "sizes"):
            return _allow_renditions(tag, name, value)
        return name == "alt"
    if tag == "source":  # inside <picture>: our own WebP renditions, nothing else
        if name == "type":
            return value == "image/webp"
        return name in ("srcset", "sizes") and _allow_renditions(tag, name, value)
    if tag == "blockquote":
        return name == "cite" and is_web_url(value)
    return False


def _allow_renditions(tag: str, name: str, value: str) -> bool:
    if name == "sizes":
        return _SIZES.fullmatch(value) is not None
    # Only our own renditions: an outside srcset would bypass the src checks on <img>.
    pattern = _SRCSET_CANDIDATE[tag]
    return all(pattern.fullmatch(candidate.strip()) for candidate in value.split(","))


class _DropContentFilter(Filter):
    """Remove DROP_WITH_CONTENT elements together with everything inside them."""

    def __iter__(self):
        depth = 0
        for token in super().__iter__():
            kind = token["type"]
            if depth:
                # The tree walker emits balanced start/end tags, so counting them finds the exit.
                depth += {"StartTag": 1, "EndTag": -1}.get(kind, 0)
            elif kind in ("StartTag", "EmptyTag") and token["name"] in DROP_WITH_CONTENT:
                depth = 1 if kind == "StartTag" else 0
            else:
                yield token


class _LinkImageFilter(Filter):
    """Give every link our rel, unwrap links left without an href, lazy-load images."""

    def __iter__(self):
        unwrapped: list[bool] = []
        for token in super().__iter__():
            name, kind = token.get("name"), token["type"]
            if name == "a" and kind == "StartTag":
                attrs = dict(token.get("data") or {})
                unwrapped.append((None, "href") not in attrs)
                if unwrapped[-1]:
                    continue
                attrs[(None, "rel")] = LINK_REL
                token["data"] = attrs
            elif name == "a" and kind == "EndTag":
                if unwrapped and unwrapped.pop():
                    continue
            elif name == "img" and kind in ("StartTag", "EmptyTag"):
                attrs = dict(token.get("data") or {})
                if (None, "src") not in attrs:
                    continue
                attrs[(None, "loading")] = "lazy"
                token["data"] = attrs
            yield token


_CLEANER = Cleaner(
    tags=ALLOWED_TAGS | DROP_WITH_CONTENT,
    attributes=_allow_attribute,
    protocols={"http", "https", "mailto"},
    strip=True,
    strip_comments=True,
    filters=[_DropContentFilter, _LinkImageFilter],
)
_TEXT_CLEANER = Cleaner(
    tags=DROP_WITH_CONTENT, attributes={}, strip=True, filters=[_DropContentFilter]
)
# A bleach Cleaner keeps parser state between calls; requests and sockets share these two.
_LOCK = threading.Lock()


def paragraphs(text: str) -> str:
    """Give text without block markup its paragraphs: blank lines split, single newlines break.

    Text with no tags at all is plain text and is escaped; inline markup is kept for the cleaner.
    """
    if not text or has_block_markup(text):
        return text or ""
    return _paragraphs(text, escape=not _TAG.search(text))


def has_block_markup(text: str) -> bool:
    """True if text holds block elements (paragraphs, lists, quotes...) and needs no paragraphs."""
    return _BLOCK_TAG.search(text) is not None


def _paragraphs(text: str, escape: bool) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = []
    for block in _BLANK_LINE.split(text):
        lines = [line.strip() for line in block.strip().split("\n")]
        if escape:
            lines = [html.escape(line, quote=False) for line in lines]
        if any(lines):
            paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
    return "\n".join(paragraphs)


def clean_html(html_text: str) -> str:
    """Return journalist HTML reduced to the allowlist."""
    if not html_text or not html_text.strip():
        return ""
    with _LOCK:
        cleaned = remove_forbidden_characters(_CLEANER.clean(html_text))
    cleaned = _NUMERIC_REFERENCE.sub(_drop_forbidden_reference, cleaned)
    # Paragraphs left empty by removed markup (or by editors) would show as blank gaps.
    return _EMPTY_PARAGRAPH.sub("", cleaned).strip()


def plain_text(value: str, max_length: int | None = None) -> str:
    """Return value as one line of plain text, cut to max_length characters with an ellipsis."""
    if not value:
        return ""
    with _LOCK:
        stripped = _TEXT_CLEANER.clean(value)
    text = " ".join(remove_forbidden_characters(html.unescape(stripped)).split())
    if max_length is not None and len(text) > max_length:
        text = text[: max(max_length - 1, 0)].rstrip() + "…"
    return text


def remove_forbidden_characters(text: str) -> str:
    """Remove the characters no HTML or XML document may carry; everything else is kept."""
    return _FORBIDDEN.sub("", text) if text else text


def _drop_forbidden_reference(match: re.Match) -> str:
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    if 0x80 <= code <= 0x9F:  # what browsers do: "&#150;" is Windows-1252's en dash
        try:
            return f"&#{ord(bytes([code]).decode('cp1252'))};"
        except UnicodeDecodeError:
            return ""
    # Surrogates and points past Unicode are no characters at all.
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or _FORBIDDEN.match(chr(code)):
        return ""
    return match.group(0)
