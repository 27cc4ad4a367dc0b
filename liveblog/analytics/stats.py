"""A story's numbers in one shape, for the desk's analytics page, its CSV and the stats API:
readers over time and the peak (audience.py), each entry's reach, and visits (visits.py)."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from liveblog.analytics import audience, visits
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus, Story, iso, utcnow

CSV_COLUMNS = ("section", "time", "name", "views", "uniques", "readers", "connected", "seen")


def story_stats(story: Story) -> dict:
    """Every number the desk shows about a story's audience, as JSON-ready values."""
    readers, peak_at = audience.peak(story.id)
    reach = audience.entry_reach(story.id)
    published = db.session.execute(
        select(Entry.id, Entry.published_at)
        .where(Entry.story_id == story.id, Entry.status == EntryStatus.PUBLISHED)
        .order_by(Entry.published_at, Entry.id)
    )
    return {
        "story": story.slug,
        "generated_at": iso(utcnow()),
        "peak": {"readers": readers, "at": iso(peak_at)},
        "readers": [{"at": iso(at), "readers": count}
                    for at, count in audience.readers_over_time(story.id)],
        "entries": [{"id": entry_id, "published_at": iso(published_at),
                     "connected": reach.get(entry_id, {}).get("connected", 0),
                     "seen": reach.get(entry_id, {}).get("seen", 0)}
                    for entry_id, published_at in published],
        "days": visits.daily(story.id),
        "referrers": visits.top_sources(story.id, visits.REFERRER),
        "sites": visits.top_sources(story.id, visits.SITE),
    }


def stats_rows(stats: dict) -> list[dict]:
    """The same numbers as rows of one table: a section, then the columns that apply to it."""
    rows = [{"section": "peak", "time": stats["peak"]["at"] or "",
             "readers": stats["peak"]["readers"]}]
    rows += [{"section": "readers", "time": sample["at"], "readers": sample["readers"]}
             for sample in stats["readers"]]
    for day in stats["days"]:
        for kind in visits.VIEWS:
            rows.append({"section": "day", "time": day["day"], "name": kind,
                         "views": day[f"{kind}_views"], "uniques": day[f"{kind}_uniques"]})
    for section, key in (("referrer", "referrers"), ("site", "sites")):
        rows += [{"section": section, "name": source["host"], "views": source["views"],
                  "uniques": source["uniques"]} for source in stats[key]]
    rows += [{"section": "entry", "time": entry["published_at"], "name": entry["id"],
              "connected": entry["connected"], "seen": entry["seen"]}
             for entry in stats["entries"]]
    return rows


def stats_csv(stats: dict) -> str:
    """The stats as CSV; every text in it is a time, a kind or a host name, so no formula."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(stats_rows(stats))
    return out.getvalue()
