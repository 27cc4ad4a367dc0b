"""Server-side rendering of one entry: one partial for the page, the feeds and live frames."""

from flask import render_template

from .models import Entry


def render_entry(entry: Entry) -> str:
    """Render an entry with templates/_entry.html."""
    return render_template("_entry.html", entry=entry)


def entry_json(entry: Entry) -> dict:
    """An entry's JSON with its server-rendered HTML, as the API returns it."""
    return {**entry.to_dict(), "html": render_entry(entry)}
