"""A story's analytics page in the desk, and its CSV: the numbers analytics/stats.py gathers,
which the stats API gives admins too."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Response, current_app, render_template
from flask_babel import format_timedelta
from markupsafe import Markup
from sqlalchemy import select

from liveblog.analytics.stats import stats_csv, story_stats
from liveblog.content.filters import html_time, story_time
from liveblog.desk.access import EDITORS, bp, roles_required
from liveblog.desk.stories import story_or_404
from liveblog.extensions import db
from liveblog.models import Entry

EXCERPT_CHARS = 80
# A story live for days has tens of thousands of samples; the page (chart and table) shows at
# most this many points, each the highest of its run of samples, so the peak is always drawn.
MAX_POINTS = 1500


def _seconds(iso: str) -> float:
    """An ISO time from the stats as seconds since the epoch, which the chart plots."""
    return datetime.fromisoformat(iso).timestamp()


def _excerpts(entry_ids: list[int]) -> dict[int, str]:
    """Each entry's headline, else the start of its text, to name it in the reach table."""
    rows = db.session.execute(
        select(Entry.id, Entry.headline, Entry.body_html).where(Entry.id.in_(entry_ids)))
    excerpts = {}
    for entry_id, headline, body_html in rows:
        text = headline or Markup(body_html).striptags()
        excerpts[entry_id] = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"
    return excerpts


def thinned(samples: list[dict], limit: int = MAX_POINTS) -> tuple[list[dict], int]:
    """At most `limit` samples, each the highest of a run of `size` in a row; (points, size)."""
    size = -(-len(samples) // limit) if samples else 1
    if size <= 1:
        return samples, 1
    runs = (samples[start:start + size] for start in range(0, len(samples), size))
    return [max(run, key=lambda sample: sample["readers"]) for run in runs], size


@bp.get("/stories/<slug>/analytics")
@roles_required(*EDITORS)
def story_analytics(slug: str):
    """Readers over time with each entry's mark, visits, referrers, embedding sites, reach."""
    story = story_or_404(slug)
    stats = story_stats(story)
    points, run = thinned(stats["readers"])
    chart = {
        "timezone": story.timezone,
        "times": [_seconds(sample["at"]) for sample in points],
        "readers": [sample["readers"] for sample in points],
        "entries": [_seconds(entry["published_at"]) for entry in stats["entries"]],
    }
    return render_template(
        "desk/story_analytics.html", story=story, stats=stats, chart=chart, points=points, run=run,
        excerpts=_excerpts([entry["id"] for entry in stats["entries"]]),
        # "10 seconds" in the editor's language, whatever AUDIENCE_SAMPLE_SECONDS says.
        sample_period=format_timedelta(
            timedelta(seconds=current_app.config["AUDIENCE_SAMPLE_SECONDS"]), threshold=1000),
        local=lambda iso: story_time(datetime.fromisoformat(iso), story.timezone) if iso else "",
        machine=lambda iso: html_time(datetime.fromisoformat(iso)),  # for datetime attributes
    )


@bp.get("/stories/<slug>/analytics.csv")
@roles_required(*EDITORS)
def story_analytics_csv(slug: str):
    """The analytics page's numbers as one CSV table (section, time, name, then the counts)."""
    story = story_or_404(slug)
    response = Response(stats_csv(story_stats(story)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{story.slug}-stats.csv"'
    return response
