"""Server-side rendering of one entry: one partial for the page, the feeds and live frames."""

from flask import current_app
from flask_babel import force_locale

from liveblog.models import Entry


def render_entry(entry: Entry) -> str:
    """Render an entry with templates/_entry.html, in its story's language."""
    # Straight from the environment, not render_template: the partial needs none of what the
    # context processors add for pages (the signed-in user, the CSRF token, the page's
    # language), and running them cost a third of every entry's rendering.
    template = current_app.jinja_env.get_template("_entry.html")
    # Live frames and feeds are rendered outside the story's page (publishing, the API), so the
    # story's language is set here rather than by the view.
    with force_locale(entry.story.language or "en"):
        return template.render(entry=entry)


def entry_json(entry: Entry) -> dict:
    """An entry's JSON with its server-rendered HTML, as the API returns it."""
    data = entry.to_dict()
    # The API answers a new or edited entry with the HTML its event was built with a moment
    # before; rendering it again cost as much as the rest of the answer. The partial reads
    # nothing but what the JSON holds and the story's zone, so equal keys mean equal HTML.
    key = (data, entry.story.timezone, entry.story.language)
    rendered = getattr(entry, "_rendered", None)
    if rendered is None or rendered[0] != key:
        rendered = (key, render_entry(entry))
        entry._rendered = rendered
    return {**data, "html": rendered[1]}
