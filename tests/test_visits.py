"""Visits without cookies: the view beacon, what it counts and refuses, what it never keeps, and
the desk page, CSV and stats API that show the same numbers."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
import redis as redis_lib
from desk_support import log_in
from sqlalchemy import select, text

from liveblog.analytics import visits
from liveblog.analytics.visitors import KEEP_SECONDS, SALT_KEY, SEEN_KEY, MemoryVisitors
from liveblog.desk.analytics import thinned
from liveblog.extensions import db
from liveblog.models import Role, VisitCount

pytest_plugins = ["redis_support"]

ADDRESS = "203.0.113.77"
AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 visits-test-agent"
ANALYTICS_TABLES = ("visit_counts", "audience_samples", "entry_reach")


def view(client, slug: str = "storm", address: str = ADDRESS, agent: str = AGENT,
         headers: dict | None = None, **body):
    """Send a view beacon as a reader's page would."""
    return client.post(f"/stories/{slug}/views", json={"kind": "page", **body},
                       headers={"User-Agent": agent, **(headers or {})},
                       environ_base={"REMOTE_ADDR": address})


def counts(app) -> dict[tuple[str, str], tuple[int, int]]:
    """Every counter of the day: (kind, key) -> (views, uniques)."""
    with app.app_context():
        rows = db.session.scalars(select(VisitCount)).all()
        return {(row.kind, row.key): (row.views, row.uniques) for row in rows}


@pytest.fixture
def story(actions):
    return actions.create_story("storm", status="live")


def test_views_uniques_referrers_and_sites_are_counted(app, client, story):
    assert view(client, source="news.example.com").status_code == 204
    view(client, source="https://news.example.com/path?who=me#x")  # the same reader again
    view(client, address="198.51.100.2", source="NEWS.example.com.")  # another reader
    view(client, address="198.51.100.3")  # direct
    view(client, kind="embed", source="https://blog.example:8443/post")
    view(client, kind="embed", address="198.51.100.2", source="blog.example")
    assert counts(app) == {
        ("page", ""): (4, 3),
        ("referrer", "news.example.com"): (3, 2),
        ("embed", ""): (2, 2),
        ("site", "blog.example"): (2, 2),
    }


def test_dnt_and_gpc_count_the_view_without_the_unique_estimate(app, client, story):
    view(client, headers={"DNT": "1"}, source="news.example.com")
    view(client, address="198.51.100.9", headers={"Sec-GPC": "1"})
    assert counts(app) == {("page", ""): (2, 0), ("referrer", "news.example.com"): (1, 0)}


@pytest.mark.parametrize("agent, headers", [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", {}),
    ("curl/8.5.0", {}),
    ("", {}),
    (AGENT, {"Sec-Purpose": "prefetch"}),
    (AGENT, {"Purpose": "prefetch"}),
    (AGENT, {"Sec-Purpose": "prefetch;prerender"}),
])
def test_robots_and_prefetches_are_not_counted(app, client, story, agent, headers):
    assert view(client, agent=agent, headers=headers).status_code == 204
    assert counts(app) == {}


@pytest.mark.parametrize("body, status", [
    (b"not json", 400),
    (b"[]", 400),
    (b'{"kind": "feed"}', 400),
    (b'{"kind": "page", "source": 7}', 400),
    (b'{"kind": "page", "source": "' + b"a" * 2000 + b'"}', 413),
])
def test_bad_beacons_are_a_clear_4xx_and_count_nothing(app, client, story, body, status):
    response = client.post("/stories/storm/views", data=body, headers={"User-Agent": AGENT},
                           content_type="application/json")
    assert response.status_code == status
    assert counts(app) == {}


@pytest.mark.parametrize("source", ["javascript:alert(1)", "<b>x</b>.example", "=cmd|x",
                                    "http://" + "a" * 260 + ".example", "-lead.example"])
def test_only_a_host_name_is_kept_of_a_source(app, client, story, source):
    view(client, source=source)
    assert counts(app) == {("page", ""): (1, 1)}


def test_other_sites_drafts_and_unknown_stories_cannot_count(app, client, actions, story):
    actions.create_story("draft-one", status="draft")
    assert view(client, headers={"Origin": "https://evil.example"}).status_code == 403
    assert view(client, slug="draft-one").status_code == 404
    assert view(client, slug="nothing-here").status_code == 404
    assert view(client, headers={"Origin": "http://localhost"}).status_code == 204
    assert counts(app) == {("page", ""): (1, 1)}


def test_views_are_rate_limited_per_address(app, client, story):
    app.config["VISIT_LIMIT"] = "3 per minute"
    statuses = [view(client, agent=f"{AGENT} {n}").status_code for n in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    assert counts(app) == {("page", ""): (3, 3)}


def test_no_cookie_is_set_and_nothing_of_the_reader_is_stored(app, client, story, database):
    for path in ("/stories/storm", "/stories/storm/embed"):
        assert "Set-Cookie" not in client.get(path, headers={"User-Agent": AGENT}).headers
    beacon = view(client, source="news.example.com")
    assert "Set-Cookie" not in beacon.headers
    view(client, kind="embed", source="blog.example", headers={"DNT": "0"})
    with app.app_context():
        tables = db.inspect(db.engine).get_table_names()  # every table, not only analytics'
        assert set(ANALYTICS_TABLES) <= set(tables)
        stored = " ".join(
            repr(tuple(row)) for name in tables
            for row in db.session.execute(text(f'SELECT * FROM "{name}"')))
    assert "news.example.com" in stored  # the scan reads the rows...
    for secret in (ADDRESS, AGENT, "visits-test-agent", "203.0.113"):
        assert secret not in stored  # ...and none holds the address or user agent


def test_a_new_day_has_a_new_salt_and_forgets_every_visitor():
    visitors = MemoryVisitors()
    reader = ("1", "page", "", ADDRESS, AGENT)
    assert visitors.first_visit(date(2026, 12, 1), reader)
    assert not visitors.first_visit(date(2026, 12, 1), reader)
    salt = visitors.salt
    assert visitors.first_visit(date(2026, 12, 2), reader)
    assert visitors.salt != salt and len(visitors.seen) == 1


def test_past_the_daily_bound_views_count_but_not_as_new_visitors():
    visitors = MemoryVisitors(limit=2)
    day = date(2026, 12, 1)
    assert [visitors.first_visit(day, (str(n),)) for n in range(4)] == [True, True, False, False]


def test_host_of_keeps_the_host_name_only():
    assert visits.host_of("https://User:pw@News.Example.COM:8443/a?b#c") == "news.example.com"
    assert visits.host_of("news.example.com") == "news.example.com"
    assert visits.host_of("http://[2001:db8::1]:5000/") == "2001:db8::1"
    assert visits.host_of("") == visits.host_of("http://") == visits.host_of("http://[x") == ""


def _admin_token(actions) -> str:
    return actions.create_user("admin@example.org", Role.ADMIN)[1]


def test_the_stats_api_is_for_admins_only(client, actions, story):
    path = "/api/stories/storm/stats"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=actions.headers()).status_code == 403  # an editor
    admin = actions.headers(_admin_token(actions))
    answer = client.get(path, headers=admin)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    assert client.get("/api/stories/nothing/stats", headers=admin).status_code == 404


def test_the_desk_chart_says_how_often_readers_are_sampled(app, client, actions, story):
    app.config["AUDIENCE_SAMPLE_SECONDS"] = 30
    _admin_token(actions)
    log_in(client, "admin@example.org")
    html = client.get("/admin/stories/storm/analytics").get_data(as_text=True)
    assert "Open readers, sampled every 30 seconds;" in html


def test_the_desk_page_csv_and_api_show_the_same_numbers(app, client, actions, story):
    entry = actions.post_entry(body="<p>The storm reaches the coast</p>")
    view(client, source="news.example.com")
    view(client, address="198.51.100.2", source="news.example.com")
    view(client, kind="embed", source="blog.example", headers={"Sec-GPC": "1"})
    token = _admin_token(actions)
    api = client.get("/api/stories/storm/stats", headers=actions.headers(token)).get_json()
    assert api["story"] == "storm"
    assert api["days"] == [{"day": visits.today().isoformat(), "page_views": 2,
                            "page_uniques": 2, "embed_views": 1, "embed_uniques": 0}]
    assert api["referrers"] == [{"host": "news.example.com", "views": 2, "uniques": 2}]
    assert api["sites"] == [{"host": "blog.example", "views": 1, "uniques": 0}]
    assert [item["id"] for item in api["entries"]] == [entry["id"]]

    log_in(client, "admin@example.org")
    page = client.get("/admin/stories/storm/analytics")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "news.example.com</td><td>2</td><td>2</td>" in html
    assert "blog.example</td><td>1</td><td>0</td>" in html
    assert f"<td>{api['days'][0]['day']}</td><td>2</td><td>2</td><td>1</td><td>0</td>" in html
    assert "The storm reaches the coast" in html
    assert 'href="/admin/stories/storm/analytics"' in client.get(
        "/admin/stories/storm").get_data(as_text=True)

    exported = client.get("/admin/stories/storm/analytics.csv")
    assert exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    by_section = {}
    for row in rows:
        by_section.setdefault(row["section"], []).append(row)
    assert [(row["name"], row["views"], row["uniques"]) for row in by_section["day"]] == [
        ("page", "2", "2"), ("embed", "1", "0")]
    assert [(row["name"], row["views"], row["uniques"]) for row in by_section["referrer"]] == [
        ("news.example.com", "2", "2")]
    assert [(row["name"], row["views"], row["uniques"]) for row in by_section["site"]] == [
        ("blog.example", "1", "0")]
    assert [(row["name"], row["time"]) for row in by_section["entry"]] == [
        (str(entry["id"]), api["entries"][0]["published_at"])]
    assert by_section["peak"][0]["readers"] == str(api["peak"]["readers"])


def test_the_analytics_page_is_for_editors_not_contributors(client, actions, story):
    actions.create_user("writer@example.org", Role.CONTRIBUTOR)
    log_in(client, "writer@example.org")
    assert client.get("/admin/stories/storm/analytics").status_code == 403
    assert client.get("/admin/stories/storm/analytics.csv").status_code == 403


def test_processes_sharing_redis_agree_on_who_is_new_and_keep_no_salt(two_processes, redis_server):
    (first, second), token = two_processes
    first.app.test_client().post("/api/stories", json={"slug": "storm", "title": "Storm",
                                                       "status": "live"},
                                 headers={"Authorization": f"Bearer {token}"})
    for process in (first, second, second):  # one reader, served by either process
        assert view(process.app.test_client()).status_code == 204
    view(second.app.test_client(), address="198.51.100.4")  # another reader
    assert counts(first.app) == {("page", ""): (4, 2)}
    client = redis_lib.Redis.from_url(redis_server.url)
    day = visits.today().isoformat()
    assert 0 < client.ttl(SALT_KEY.format(day)) <= KEEP_SECONDS  # gone a day after the day
    seen = client.smembers(SEEN_KEY.format(day))
    assert len(seen) == 2 and all(len(digest) == 16 for digest in seen)
    assert not any(ADDRESS.encode() in digest for digest in seen)

    redis_server.stop()  # Redis away: views still count, only the estimate misses them
    assert view(first.app.test_client(), address="198.51.100.5").status_code == 204
    assert counts(first.app) == {("page", ""): (5, 2)}


def test_a_long_story_shows_at_most_so_many_points_and_keeps_its_peak():
    samples = [{"at": f"t{n}", "readers": (n * 7919) % 1000} for n in range(4001)]
    samples[2222]["readers"] = 5000
    points, run = thinned(samples, limit=1500)
    assert run == 3 and len(points) == 1334
    assert points[1:3] == [max(samples[3:6], key=lambda s: s["readers"]),
                           max(samples[6:9], key=lambda s: s["readers"])]
    assert {"at": "t2222", "readers": 5000} in points
    assert thinned(samples[:1500], limit=1500) == (samples[:1500], 1)
    assert thinned([], limit=1500) == ([], 1)
