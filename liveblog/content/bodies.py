"""Entry bodies as stored: journalist input cleaned, lone links turned into embeds, pictures set."""

import re

from liveblog.content.embed_codes import EmbedRefused, read_embed_codes
from liveblog.content.embeds import expand_embeds
from liveblog.content.sanitize import clean_html, paragraphs
from liveblog.errors import Invalid

# Two or more pictures in a row (figures without our embed class) make a picture set.
_PICTURE_RUN = re.compile(r"(?:<figure>(?:(?!</?figure).)*</figure>\s*){2,}", re.DOTALL)


def prepare_body(raw: str) -> str:
    """Return the HTML to store for an entry body written by the desk or the API.

    Raises Invalid (on the body) for a pasted frame or script we cannot make safe.
    """
    try:
        pasted = read_embed_codes(raw)
    except EmbedRefused as refusal:
        raise Invalid("Some fields are not valid.", {"body": refusal.message}) from None
    return group_picture_sets(expand_embeds(clean_html(paragraphs(pasted.body)), pasted.posts))


def group_picture_sets(html: str) -> str:
    """Wrap each run of consecutive pictures in a picture set, laid out as a grid."""
    return _PICTURE_RUN.sub(lambda run: f'<div class="picture-set">{run.group(0).strip()}</div>',
                            html)
