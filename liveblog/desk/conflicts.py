"""A refused stale save: their version and the journalist's, both formatted, and a merge of the two.

The journalist then chooses: keep theirs, use mine (saved against their version, so a third
save in between is refused again), or edit the merge.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from html import escape

from liveblog.content.bodies import prepare_body
from liveblog.content.sanitize import paragraphs
from liveblog.errors import Invalid
from liveblog.models import Entry

# Top-level blocks as the desk's editor writes them; anything else stays one block.
_BLOCK = re.compile(
    r"<(p|h[1-6]|ul|ol|blockquote|figure|pre|div|table)\b[^>]*>.*?</\1\s*>|<hr\b[^>]*>",
    re.IGNORECASE | re.DOTALL,
)


def blocks(body: str) -> list[str]:
    """A body's top-level blocks (paragraphs, lists, quotes, pictures), text between kept."""
    source = paragraphs(body or "").strip()
    found, position = [], 0
    for match in _BLOCK.finditer(source):
        if source[position : match.start()].strip():
            found.append(source[position : match.start()].strip())
        found.append(match.group(0))
        position = match.end()
    if source[position:].strip():
        found.append(source[position:].strip())
    return found


def merge_bodies(theirs: str, mine: str) -> str:
    """Their blocks and mine in order, shared ones once: where the journalist's merge starts."""
    ours, yours = blocks(theirs), blocks(mine)
    merged: list[str] = []
    for _, a1, a2, b1, b2 in SequenceMatcher(None, ours, yours, autojunk=False).get_opcodes():
        merged += ours[a1:a2]
        merged += [block for block in yours[b1:b2] if block not in ours[a1:a2]]
    return "\n".join(merged)


def formatted(body: str) -> str:
    """The body as readers would get it; text that would be refused is shown as plain text."""
    try:
        return prepare_body(body or "")
    except Invalid:
        return f"<p>{escape(body or '')}</p>"


def conflict_details(entry: Entry, headline: str, body: str) -> dict:
    """Their version (source and HTML), mine formatted, and the merge, for page or script."""
    theirs_source = entry.body_source or entry.body_html
    return {
        "theirs": {"version": entry.version, "headline": entry.headline or "",
                   "body": theirs_source, "body_html": entry.body_html},
        "yours": {"headline": headline or "", "body_html": formatted(body)},
        "merged": merge_bodies(theirs_source, body),
    }
