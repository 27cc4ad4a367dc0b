"""Entry bodies as stored: journalist input cleaned, then lone links turned into embeds."""

from .embeds import expand_embeds
from .sanitize import clean_html, paragraphs, plain_text


def prepare_body(raw: str) -> str:
    """Return the HTML to store for an entry body written by the desk or the API."""
    return expand_embeds(clean_html(paragraphs(raw)))


# Headlines and labels need no embeds, only the plain-text cleaner.
prepare_plain = plain_text
