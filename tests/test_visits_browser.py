"""Visits in Chromium: known readers (direct, from a link on another site, through an embed on
another site, one with DNT) are counted exactly, with no cookie and nothing of them stored; the
desk's chart renders and its CSV and the API agree. With LIVEBLOG_SCREENSHOTS=1 the chart is
saved to docs/screenshots/desk-analytics.png."""

from __future__ import annotations

import csv
import io
import os
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect
from servers import SERVER_POLL_SECONDS
from sqlalchemy import text, update
from test_desk_browser import log_in, new_page
from test_page_quality import AXE
from test_scripts import RECORD_VIOLATIONS
from werkzeug.serving import make_server

from liveblog.extensions import db
from liveblog.models import AudienceSample, Entry, EntryReach, Event, Role, Story, utcnow

pytestmark = browser_tests
__all__ = ["new_page"]

SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "desk-analytics.png"
OTHER_SITE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Other site</title>
</head><body><p><a id="to-story" href="{site}/stories/storm">The storm, live</a></p>
{embed}</body></html>"""
EMBED = ('<div data-liveblog="{site}/stories/storm">Storm watch</div>'
         '<script async src="{site}/static/embed.js"></script>')
ANALYTICS_TABLES = ("visit_counts", "audience_samples", "entry_reach")


@pytest.fixture
def other_site(live_server):
    """Another site (localhost, another port): /links links to the story, /host embeds it."""
    pages = {"/links": OTHER_SITE.format(site=live_server, embed=""),
             "/host": OTHER_SITE.format(site=live_server, embed=EMBED.format(site=live_server))}

    def serve(environ, start_response):
        # The embedding page sends no referrer: its frame learns the site from our loader alone.
        quiet = [("Referrer-Policy", "no-referrer")] if environ["PATH_INFO"] == "/host" else []
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), *quiet])
        return [pages.get(environ["PATH_INFO"], "").encode()]

    server = make_server("127.0.0.1", 0, serve, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(SERVER_POLL_SECONDS,),
                              daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def is_view(response) -> bool:
    return response.url.endswith("/stories/storm/views") and response.request.method == "POST"


def counted(page, action):
    """Run the action (a navigation) and wait for the view it sends to be answered."""
    with page.expect_response(is_view, timeout=10000) as beacon:
        response = action()
    assert beacon.value.status == 204
    assert "set-cookie" not in beacon.value.headers
    return response


def test_known_visits_are_counted_exactly_without_cookies_or_traces(
        new_page, live_server, other_site, actions, app):
    actions.create_story("storm", status="live")
    actions.post_entry(body="<p>Rain spreading north</p>")
    story_url = f"{live_server}/stories/storm"

    direct = new_page(user_agent="Mozilla/5.0 Reader-A")  # opens the page, then reloads it
    first = counted(direct, lambda: direct.goto(story_url))
    counted(direct, direct.reload)
    linked = new_page(user_agent="Mozilla/5.0 Reader-B")  # follows a link on another site
    linked.goto(f"{other_site}/links")
    counted(linked, lambda: linked.click("#to-story"))
    private = new_page(user_agent="Mozilla/5.0 Reader-C", extra_http_headers={"DNT": "1"})
    counted(private, lambda: private.goto(story_url))
    embedder = new_page(user_agent="Mozilla/5.0 Reader-D")  # reads the story embedded elsewhere
    with embedder.expect_response(lambda r: r.url.endswith("/stories/storm/embed")) as frame:
        counted(embedder, lambda: embedder.goto(f"{other_site}/host"))
    expect(embedder.frame_locator("iframe").locator("#entries > .entry")).to_have_count(1)

    assert "set-cookie" not in first.headers and "set-cookie" not in frame.value.headers
    for page in (direct, linked, private, embedder):
        assert page.context.cookies() == []  # no cookie of any origin

    admin = actions.create_user("admin@example.org", Role.ADMIN)[1]
    stats = actions.client.get("/api/stories/storm/stats", headers=actions.headers(admin))
    day = stats.get_json()["days"]
    assert [{key: value for key, value in row.items() if key != "day"} for row in day] == [
        {"page_views": 4, "page_uniques": 2, "embed_views": 1, "embed_uniques": 1}]
    assert stats.get_json()["referrers"] == [{"host": "localhost", "views": 1, "uniques": 1}]
    assert stats.get_json()["sites"] == [{"host": "localhost", "views": 1, "uniques": 1}]

    with app.app_context():
        stored = " ".join(
            repr(tuple(row)) for name in ANALYTICS_TABLES
            for row in db.session.execute(text(f"SELECT * FROM {name}")))
    assert "localhost" in stored
    for trace in ("127.0.0.1", "Reader-", "Mozilla"):
        assert trace not in stored


def epoch(iso: str) -> float:
    """An ISO time from the API or the CSV in seconds since the epoch, as the chart plots it."""
    return datetime.fromisoformat(iso).timestamp()


def _seed_audience(app) -> None:
    """Two hours of readers sampled every 10 s, entries published along the way, their reach."""
    with app.app_context():
        story = db.session.scalar(db.select(Story).filter_by(slug="storm"))
        start = utcnow().replace(microsecond=0) - timedelta(hours=2)
        for step in range(720):
            rise = min(step, 300) - max(0, step - 500) // 2
            readers = max(0, 40 + rise + (step * 37) % 23)
            db.session.add(AudienceSample(story_id=story.id,
                                          taken_at=start + timedelta(seconds=10 * step),
                                          readers=readers))
        entries = db.session.scalars(db.select(Entry.id).filter_by(story_id=story.id)
                                     .order_by(Entry.id)).all()
        for n, entry_id in enumerate(entries):
            went_out = start + timedelta(minutes=15 + 25 * n)
            db.session.execute(update(Entry).where(Entry.id == entry_id).values(
                published_at=went_out))
            db.session.execute(update(Event).where(Event.entry_id == entry_id).values(
                created_at=went_out))
            db.session.add(EntryReach(entry_id=entry_id, seen=30 + 20 * n))
        db.session.commit()


def test_the_desk_chart_renders_and_the_csv_and_api_match_it(new_page, actions, app):
    actions.create_story("storm", status="live", title="Storm watch: the coast braces")
    for words in ("Warnings issued for the coast", "Rain bands arrive", "Ferries cancelled",
                  "Power cuts in the north"):
        actions.post_entry(body=f"<p>{words}</p>")
    client = actions.client
    for n, (source, kind) in enumerate([("news.example.com", "page"), ("news.example.com", "page"),
                                        ("social.example", "page"), ("", "page"),
                                        ("partner.example", "embed")]):
        client.post("/stories/storm/views", json={"kind": kind, "source": source},
                    headers={"User-Agent": f"Mozilla/5.0 seed {n % 3}"})
    _seed_audience(app)
    admin_token = actions.create_user("admin@example.org", Role.ADMIN, name="Ada Admin")[1]
    api = client.get("/api/stories/storm/stats", headers=actions.headers(admin_token)).get_json()

    page = log_in(new_page(viewport={"width": 1280, "height": 900}), "admin@example.org")
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto("/admin/stories/storm")
    page.click("#analytics-link")
    chart = page.locator("#readers-chart")
    expect(chart).to_have_attribute("data-rendered", "true")
    expect(chart.locator("canvas")).to_have_count(1)
    assert chart.locator("canvas").bounding_box()["height"] > 100
    # The plot has pixels in the readers' colour and in the entries' marks.
    assert page.evaluate("""() => {
      const canvas = document.querySelector('#readers-chart canvas');
      const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let line = 0, mark = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        if (pixels[i] < 60 && pixels[i + 2] > 150 && pixels[i + 3] > 200) line++;
        if (pixels[i] > 150 && pixels[i + 1] < 120 && pixels[i + 3] > 60) mark++;
      }
      return line > 200 && mark > 50;
    }""")
    assert page.evaluate("window.__violations") == []  # uPlot lives within the desk's CSP
    plotted = page.evaluate("JSON.parse(document.getElementById('analytics-data').textContent)")
    assert plotted["readers"] == [sample["readers"] for sample in api["readers"]]
    assert plotted["times"] == [epoch(sample["at"]) for sample in api["readers"]]
    # Each entry's mark stands where the API says it was published.
    assert plotted["entries"] == [epoch(entry["published_at"]) for entry in api["entries"]]
    assert len(plotted["entries"]) == 4
    expect(page.locator("#analytics-peak")).to_contain_text(f"{api['peak']['readers']} readers")
    if os.path.exists(AXE):  # make test-tools fetches axe-core
        with open(AXE) as source:
            page.evaluate(source.read())
        found = page.evaluate("axe.run(document, {resultTypes: ['violations']})")["violations"]
        assert [(item["id"], [node["target"] for node in item["nodes"]]) for item in found] == []
    page.locator("#readers-title").scroll_into_view_if_needed()
    if os.environ.get("LIVEBLOG_SCREENSHOTS") == "1":  # only when asked: PNGs vary per run
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    shown = {key: page.locator(f"#{key}-table tbody tr").all_inner_texts()
             for key in ("days", "referrers", "sites", "reach")}
    assert [row.split("\t")[1:] for row in shown["days"]] == [
        [str(day[f"{kind}_{what}"]) for kind in ("page", "embed") for what in ("views", "uniques")]
        for day in api["days"]]
    for key in ("referrers", "sites"):
        assert [row.split("\t") for row in shown[key]] == [
            [source["host"], str(source["views"]), str(source["uniques"])]
            for source in api[key]]
    assert [row.split("\t")[2:] for row in shown["reach"]] == [
        [str(entry["connected"]), str(entry["seen"])] for entry in reversed(api["entries"])]

    with page.expect_download() as download:
        page.click("#analytics-csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(epoch(row["time"]), int(row["readers"])) for row in rows
            if row["section"] == "readers"] == \
        list(zip(plotted["times"], plotted["readers"], strict=True))
    assert [(row["name"], int(row["views"]), int(row["uniques"])) for row in rows
            if row["section"] == "referrer"] == \
        [(source["host"], source["views"], source["uniques"]) for source in api["referrers"]]
    assert [(int(row["connected"]), int(row["seen"])) for row in rows
            if row["section"] == "entry"] == \
        [(entry["connected"], entry["seen"]) for entry in api["entries"]]


# The fill under the readers' line in one column of the plot: the pixels blue enough to be it.
FILL_IN_COLUMN = """(fraction) => {
  const canvas = document.querySelector('#readers-chart canvas');
  const x = Math.round(canvas.width * fraction);
  const pixels = canvas.getContext('2d').getImageData(x, 0, 1, canvas.height).data;
  let filled = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] > 0 && pixels[i + 2] > pixels[i] + 50) filled++;
  }
  return filled;
}"""


def test_the_chart_holds_each_sample_until_the_next_so_an_empty_hour_reads_zero(
        new_page, actions, app):
    # The sampler stores a 0 once when the last reader leaves and nothing while nobody reads:
    # drawn as a line from sample to sample, an hour without readers would read as a slow rise.
    actions.create_story("storm", status="live")
    with app.app_context():
        story = db.session.scalar(db.select(Story).filter_by(slug="storm"))
        start = utcnow().replace(microsecond=0) - timedelta(hours=2)
        for seconds, readers in ((0, 40), (10, 0), (3600, 40), (3610, 0)):
            db.session.add(AudienceSample(story_id=story.id, readers=readers,
                                          taken_at=start + timedelta(seconds=seconds)))
        db.session.commit()
    actions.create_user("admin@example.org", Role.ADMIN)
    page = log_in(new_page(viewport={"width": 1280, "height": 900}), "admin@example.org")
    page.goto("/admin/stories/storm/analytics")
    expect(page.locator("#readers-chart")).to_have_attribute("data-rendered", "true")
    # Halfway through the hour nobody read: the readers' line lies on 0, nothing under it.
    assert page.evaluate(FILL_IN_COLUMN, 0.5) < 10
