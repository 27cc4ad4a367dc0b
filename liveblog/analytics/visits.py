"""Visits without cookies: views of a story's page and embed, new visitors a day (an estimate),
referrer hosts and embedding sites, kept as daily counters (models.VisitCount).

A view is counted from the page's own small beacon (public/view_beacon.py), not from the page
request: a CDN answers most page requests, and a 304 is a revalidation, not a reader. Nothing
about the reader is kept: the address and user agent only make today's digest (visitors.py),
and a reader who sends DNT: 1 or Sec-GPC: 1 is counted as a view without even that.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from flask import Flask, current_app
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from liveblog.analytics.visitors import MemoryVisitors, RedisVisitors
from liveblog.extensions import db
from liveblog.models import VisitCount

PAGE, EMBED, REFERRER, SITE = "page", "embed", "referrer", "site"
VIEWS = (PAGE, EMBED)  # what a beacon may say it is
SOURCES = {PAGE: REFERRER, EMBED: SITE}  # where each kind of view came from
MAX_HOST = 253
# A host name as DNS spells it (IDN in punycode), or an IP address; nothing else is kept.
HOST = re.compile(r"[a-z0-9](?:[a-z0-9.:-]{0,251}[a-z0-9])?")
# Robots announce themselves in their user agent; an empty one is a script.
BOT = re.compile(
    r"bot|crawl|spider|slurp|archiver|facebookexternalhit|embedly|preview|lighthouse|pagespeed"
    r"|curl|wget|python|httpclient|okhttp|java/|go-http|libwww|scrapy|phantomjs",
    re.IGNORECASE,
)


def init_app(app: Flask) -> None:
    """Keep today's visitor digests in Redis with REDIS_URL (shared), else in this process."""
    url = app.config.get("REDIS_URL")
    app.extensions["liveblog.visitors"] = RedisVisitors(url) if url else MemoryVisitors()


def host_of(value: str | None) -> str:
    """The host name of an http(s) URL or origin, or a bare host name; "" if none to keep."""
    value = (value or "").strip()
    if not value or len(value) > 2048:
        return ""
    if "/" in value:
        try:
            parts = urlsplit(value)
            host = parts.hostname or "" if parts.scheme in ("http", "https") else ""
        except ValueError:  # a malformed IPv6 literal, a bad port
            return ""
    else:
        host = value.lower()
    host = host.rstrip(".")
    return host if len(host) <= MAX_HOST and HOST.fullmatch(host) else ""


def is_robot(user_agent: str, purpose: str) -> bool:
    """A crawler, a script or a prefetch: not a reader, so not a view."""
    return not user_agent.strip() or bool(BOT.search(user_agent)) or "prefetch" in purpose.lower()


def today() -> date:
    """The UTC day a view counts on."""
    return datetime.now(UTC).date()


def count_view(story_id: int, kind: str, source: str, address: str, user_agent: str,
               estimate: bool) -> None:
    """Count one view (PAGE or EMBED) from a source host ("" for none), in one transaction.

    With `estimate` false (DNT or GPC) the view is counted and the visitor never digested.
    """
    day = today()
    rows = [(kind, "")] + ([(SOURCES[kind], source)] if source else [])
    visitors = current_app.extensions["liveblog.visitors"]
    for row_kind, key in rows:
        new = estimate and visitors.first_visit(
            day, (str(story_id), row_kind, key, address, user_agent))
        _add(story_id, day, row_kind, key, int(new))
    db.session.commit()


def _add(story_id: int, day: date, kind: str, key: str, new: int) -> None:
    # One atomic upsert per counter: concurrent views add up, whichever process counts them.
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(VisitCount).values(
        story_id=story_id, day=day, kind=kind, key=key, views=1, uniques=new)
    table = VisitCount.__table__
    db.session.execute(insert.on_conflict_do_update(
        index_elements=["story_id", "day", "kind", "key"],
        set_={"views": table.c.views + 1, "uniques": table.c.uniques + insert.excluded.uniques},
    ))


def daily(story_id: int) -> list[dict]:
    """Page and embed views and new visitors per day, oldest first, days without views left out."""
    rows = db.session.execute(
        select(VisitCount.day, VisitCount.kind, VisitCount.views, VisitCount.uniques)
        .where(VisitCount.story_id == story_id, VisitCount.kind.in_(VIEWS))
        .order_by(VisitCount.day)
    )
    days: dict[date, dict] = {}
    for day, kind, views, uniques in rows:
        counts = days.setdefault(day, {"day": day.isoformat(), "page_views": 0,
                                       "page_uniques": 0, "embed_views": 0, "embed_uniques": 0})
        counts[f"{kind}_views"] += views
        counts[f"{kind}_uniques"] += uniques
    return list(days.values())


def top_sources(story_id: int, kind: str, limit: int = 20) -> list[dict]:
    """The hosts (REFERRER or SITE) with the most views, each with views and visitor-days."""
    query = (
        select(VisitCount.key, func.sum(VisitCount.views), func.sum(VisitCount.uniques))
        .where(VisitCount.story_id == story_id, VisitCount.kind == kind)
        .group_by(VisitCount.key)
        .order_by(func.sum(VisitCount.views).desc(), VisitCount.key)
        .limit(limit)
    )
    return [{"host": host, "views": int(views), "uniques": int(uniques)}
            for host, views, uniques in db.session.execute(query)]
