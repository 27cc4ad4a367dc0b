"""The key-figures box: one sentence that says it, and its one partial, _key_figures.html."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale, gettext

from liveblog.content.local_time import N_
from liveblog.models import Story

HEADINGS = {"scoreboard": N_("Score"), "figures": N_("Key figures")}


def key_figures_heading(box: dict) -> str:
    """The box's heading: its title, else what kind of box it is."""
    return box.get("title") or gettext(HEADINGS[box["kind"]])


def key_figures_summary(box: dict | None) -> str:
    """The box as one sentence, for screen readers to announce when it changes ("" for none)."""
    if not box:
        return ""
    if box["kind"] == "scoreboard":
        home, away = box["home"], box["away"]
        said = f"{home['name']} {home['score']}, {away['name']} {away['score']}"
        if box.get("period"):
            said += f", {box['period']}"
    else:
        said = "; ".join(f"{item['label']}: {item['value']}" for item in box["items"])
    return f"{key_figures_heading(box)}: {said}."


def render_key_figures(story: Story) -> str:
    """The box as the page shows it: templates/_key_figures.html, also sent in live frames."""
    with force_locale(story.language or "en"):  # a live frame speaks the story's language
        return render_template("_key_figures.html", story=story)
