"""What the tools that judge a page see on readers' pages: Nu HTML checker, axe-core, Lighthouse.

Two stories on one real server: the demo story (every kind of entry, a cover) and one written only
through the API (no summary, a few entries, a YouTube link). The tools come from npm, pinned in
tests/tools/package-lock.json (`make test-tools`). The pages are the same on either database, so
they are judged once, in the SQLite run: Lighthouse alone takes a minute or more.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from http.cookiejar import CookieJar

import pytest
from browser_support import CHROMIUM, browser_tests
from servers import ROOT, SERVER_POLL_SECONDS
from werkzeug.serving import make_server

from liveblog import create_app
from liveblog.extensions import db
from liveblog.ops.demo import DEMO_EMAIL, DEMO_SLUG, seed_demo

TOOLS = os.path.join(ROOT, "tests", "tools")
VNU = os.path.join(TOOLS, "node_modules", "vnu-jar", "build", "dist", "vnu.jar")
AXE = os.path.join(TOOLS, "node_modules", "axe-core", "axe.min.js")
LIGHTHOUSE_RUNS = os.path.join(TOOLS, "lighthouse-runs.mjs")
API_SLUG = "harbour-vote"
UPCOMING_SLUG = "budget-day"
# A story in Arabic: right to left, its words, labels and dates in Arabic (docs/languages.md).
ARABIC_SLUG = "gulf-storm"
# Lighthouse's mobile profile (a Moto G Power): the viewport axe looks through too.
PHONE = {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75,
         "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1350, "height": 940}}
# Each story must score 100 in every category in LIGHTHOUSE_IN_A_ROW runs in a row, within
# LIGHTHOUSE_AT_MOST runs. A run that a busy machine spoils (a first frame presented late, which
# Lighthouse's speed index takes from what it observed, times 1.4; long tasks from other
# processes' load, counted as blocking time) costs a run, not the test; a page that loses points
# every time fails. A run on a machine slower than the phone Lighthouse imitates
# (benchmarkIndex < 150, `busy`) does not judge performance; the other categories are judged
# in every run.
LIGHTHOUSE_IN_A_ROW = 2
LIGHTHOUSE_AT_MOST = 4

pytestmark = [
    *browser_tests,
    pytest.mark.slow,
    # No xdist_group: pytest 9.2 ignores the node id suffix xdist 3.8 uses for --dist loadgroup,
    # so the tests spread over workers (each seeds its own server, a few seconds). Lighthouse is
    # marked serial instead: it runs alone, after the parallel phase.
    pytest.mark.databases("sqlite"),  # pages do not depend on the database: judged once
]
# The tests that run the tools from npm.
needs_tools = [
    pytest.mark.skipif(not (os.path.exists(VNU) and os.path.exists(AXE)),
                       reason="the page tools are not installed: run `make test-tools`"),
    pytest.mark.skipif(not (shutil.which("java") and shutil.which("node")),
                       reason="the Nu checker needs java and Lighthouse needs node"),
]


def with_tools(test):
    """Mark a test as one that needs the npm tools (skipped, naming `make test-tools`, without)."""
    for mark in needs_tools:
        test = mark(test)
    return test


def _call_api(base: str, token: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201
        return json.load(answer)


def _write_api_story(base: str, token: str) -> None:
    # What a newsroom's own tool would send: no summary, no cover, plain entries and a video link.
    # Its question form is open, so the tools judge the form too.
    # Its key-figures box is a scoreboard (the demo story's holds figures), judged the same way.
    # A story that opens tomorrow: its page says when, and is judged like the others.
    opens = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    _call_api(base, token, "/api/stories", {"slug": UPCOMING_SLUG, "title": "Budget day",
                                            "status": "draft", "opens_at": opens})
    _call_api(base, token, "/api/stories", {
        "slug": API_SLUG, "questions_open": True, "title": "Council votes on the harbour plan",
        "key_figures": {"kind": "scoreboard", "title": "The vote", "period": "Counted",
                        "home": {"name": "For", "score": 31},
                        "away": {"name": "Against", "score": 12}}})
    for entry in (
        {"body": "<p>Councillors meet at six to vote on the plan to raise the harbour wall.</p>"},
        {"headline": "Debate opens with a call for delay",
         "body": "<p>The first speaker asks for a month's delay to hear the fishermen.</p>"},
        {"body": "<p>The vote, as it happened:</p>"
                 "<p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>"},
        {"headline": "Plan passes by 31 votes to 12", "pinned": True,
         "body": "<p>Work on the wall starts in the spring.</p>"},
    ):
        _call_api(base, token, f"/api/stories/{API_SLUG}/entries", entry)
    # A poll with a vote in it, so the tools judge its bars and buttons too.
    poll = _call_api(base, token, f"/api/stories/{API_SLUG}/entries", {
        "body": "<p>Tell us what you think.</p>",
        "poll": {"question": "Should the wall go higher?", "options": ["Yes", "No", "Not sure"]},
    })["poll"]
    _call_api(base, token, f"/api/polls/{poll['id']}/votes",
              {"option": 0, "voter": "page-quality-reader-0001"})
    # A reader's question waits in the desk's queue, so the tools judge the queue's items too.
    question = urllib.request.Request(
        f"{base}/api/stories/{API_SLUG}/questions", method="POST",
        data=json.dumps({"name": "Ana", "text": "When does the work start?"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(question, timeout=30) as answer:
        assert answer.status == 202


def _write_arabic_story(base: str, token: str) -> None:
    # The API story's kinds of entry in Arabic: a scoreboard, a key entry, a poll with a vote,
    # a video link and an open question form, so the tools judge the mirrored page as a whole.
    _call_api(base, token, "/api/stories", {
        "slug": ARABIC_SLUG, "language": "ar", "questions_open": True,
        "title": "عاصفة فوق الخليج: التغطية المباشرة",
        "summary": "رياح قوية وأمطار غزيرة على الساحل، وإغلاق الموانئ حتى إشعار آخر.",
        "key_figures": {"kind": "scoreboard", "title": "التصويت", "period": "النتيجة النهائية",
                        "home": {"name": "مع", "score": 31}, "away": {"name": "ضد", "score": 12}}})
    for entry in (
        {"body": "<p>بدأت العاصفة تضرب الساحل الشرقي صباح اليوم.</p>"},
        {"headline": "إغلاق الموانئ", "pinned": True,
         "body": "<p>أعلنت السلطات إغلاق أربعة موانئ حتى إشعار آخر.</p>"},
        {"body": "<p>مشاهد من الساحل:</p><p>https://www.youtube.com/watch?v=aqz-KE-bpKQ</p>"},
    ):
        _call_api(base, token, f"/api/stories/{ARABIC_SLUG}/entries", entry)
    poll = _call_api(base, token, f"/api/stories/{ARABIC_SLUG}/entries", {
        "body": "<p>شاركونا رأيكم.</p>",
        "poll": {"question": "هل تؤيد إغلاق المدارس غدًا؟", "options": ["نعم", "لا", "لا أعرف"]},
    })["poll"]
    _call_api(base, token, f"/api/polls/{poll['id']}/votes",
              {"option": 0, "voter": "page-quality-reader-0002"})


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory):
    """A real server with the demo story and a story written through the API; yields its base."""
    folder = tmp_path_factory.mktemp("page-quality")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIVEBLOG_INSTANCE", str(folder / "instance"))
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'news.sqlite3'}",
                          "API_WRITE_LIMIT": "100000 per minute"})
        with app.app_context():
            db.create_all()
            seed_demo(lambda line: None)
        with open(os.path.join(app.instance_path, "demo-token.txt")) as saved:
            token = saved.read().strip()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, args=(SERVER_POLL_SECONDS,),
                                  daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{server.server_port}"
        try:
            _write_api_story(base, token)
            _write_arabic_story(base, token)
            yield base
        finally:
            server.shutdown()
            thread.join(timeout=5)
            server.server_close()
            with app.app_context():
                db.engine.dispose()


READER_PAGES = [f"/stories/{DEMO_SLUG}", f"/stories/{API_SLUG}",
                f"/stories/{DEMO_SLUG}/embed", f"/stories/{API_SLUG}/embed",
                f"/stories/{ARABIC_SLUG}", f"/stories/{ARABIC_SLUG}/embed"]
# Pages without the live page's controls, judged by the Nu checker only.
STILL_PAGES = [f"/stories/{UPCOMING_SLUG}"]
# What a host site includes in its own page (public/fragment.py): judged inside the smallest page.
FRAGMENTS = [f"/stories/{DEMO_SLUG}/fragment", f"/stories/{API_SLUG}/fragment?limit=3"]
HOST_PAGE = ('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A host page</title>'
             "</head><body><main><h1>News</h1>{}</main></body></html>")


DESK_PAGES = [f"/admin/stories/{DEMO_SLUG}", f"/admin/stories/{API_SLUG}/questions",
              f"/admin/stories/{DEMO_SLUG}/analytics"]


def _desk_pages(base: str) -> dict[str, str]:
    # The desk's story page and question queue as the demo editor sees them after logging in.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(f"{base}/admin/login", timeout=30) as page:
        form = page.read().decode()
    token = form.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    login = urllib.parse.urlencode({"csrf_token": token, "email": DEMO_EMAIL,
                                    "password": "demo-password"}).encode()
    with opener.open(f"{base}/admin/login", data=login, timeout=30) as answer:
        assert "/admin/login" not in answer.url, "the demo editor could not log in"
    pages = {}
    for path in DESK_PAGES:
        with opener.open(base + path, timeout=30) as page:
            pages[path] = page.read().decode()
    return pages


@pytest.fixture(scope="module")
def nu_checking(newsroom, tmp_path_factory):
    """The Nu checker started on every page (and the stylesheet); yields (process, file -> page)."""
    folder = tmp_path_factory.mktemp("nu")
    pages = {}
    for path in READER_PAGES + STILL_PAGES:
        with urllib.request.urlopen(newsroom + path, timeout=30) as page:
            pages[path] = page.read().decode()
    for path in FRAGMENTS:
        with urllib.request.urlopen(newsroom + path, timeout=30) as fragment:
            pages[path] = HOST_PAGE.format(fragment.read().decode())
    pages.update(_desk_pages(newsroom))
    files = {}  # file name -> the address it was read from
    for number, (path, html) in enumerate(pages.items()):
        (folder / f"page-{number}.html").write_text(html, encoding="utf-8")
        files[f"page-{number}.html"] = path
    for sheet in ("liveblog.css", "fragment.css"):
        shutil.copy(os.path.join(ROOT, "static", "css", sheet), folder / sheet)
        files[sheet] = f"/static/css/{sheet}"
    # One JVM for every page: starting it is most of the cost.
    process = subprocess.Popen(
        ["java", "-Xss4m", "-jar", VNU, "--format", "json", "--stdout", "--also-check-css",
         *(str(folder / name) for name in files)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process, files
    finally:
        if process.poll() is None:
            process.kill()
        if not process.stdout.closed:  # the test did not read it: close the pipes
            process.communicate(timeout=30)


def _axe(browser, url: str, scheme: str, device: dict, axe_source: str) -> tuple[list, list]:
    context = browser.new_context(color_scheme=scheme, reduced_motion="no-preference", **device)
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        # live.js has run (it adds the order toggle), so its controls are judged too.
        page.wait_for_selector("#order-toggle", state="attached", timeout=15000)
        # Evaluated through the DevTools protocol, which the page's CSP does not govern; a
        # <script> tag would be refused by it, as it should be.
        page.evaluate(axe_source)
        # Passes are left out of the answer: collecting them is most of axe's time.
        results = page.evaluate("axe.run(document, {resultTypes: ['violations', 'incomplete']})")
    finally:
        context.close()
    return results["violations"], results["incomplete"]


@with_tools
def test_axe_finds_no_violation_in_light_dark_phone_and_desktop(newsroom, browser):
    with open(AXE) as source:
        axe_source = source.read()
    found, to_review = [], []
    # Both schemes on a phone, every page; the story pages on a desktop too.
    looks = [(scheme, "phone", PHONE, path)
             for scheme in ("light", "dark") for path in READER_PAGES]
    looks += [("light", "desktop", DESKTOP, path)
              for path in (*READER_PAGES[:2], f"/stories/{ARABIC_SLUG}")]
    for scheme, device_name, device, path in looks:
        violations, incomplete = _axe(browser, newsroom + path, scheme, device, axe_source)
        for violation in violations:
            targets = [node["target"] for node in violation["nodes"]][:5]
            found.append(f"{path} ({scheme}, {device_name}): {violation['id']} "
                         f"({violation['impact']}) {violation['help']}: {targets}")
        to_review += [f"{path} ({scheme}, {device_name}): {item['id']}"
                      for item in incomplete]
    print("axe asks for a human look at:", *to_review or ["nothing"], sep="\n  ")
    assert not found, "\n".join(found)


@with_tools
def test_the_nu_checker_finds_no_error_on_reader_and_desk_pages(nu_checking):
    process, files = nu_checking
    stdout, stderr = process.communicate(timeout=240)
    assert stdout.startswith("{"), stderr[-2000:]
    errors, warnings = [], []
    for message in json.loads(stdout)["messages"]:
        name = message.get("url", "").rsplit("/", 1)[-1]
        where = files.get(name, message.get("url"))
        line = f"{where}:{message.get('lastLine')}: {message['message']}"
        (errors if message["type"] in ("error", "non-document-error") else warnings).append(line)
    print("Nu checker warnings:", *warnings or ["none"], sep="\n  ")
    assert not errors, "\n".join(errors)


# Alone, after the parallel tests: other tests' load is what spoils runs. The calibrated slowdown
# and the runs in a row are for a machine that is busy for other reasons.
@pytest.mark.serial
@with_tools
def test_lighthouse_on_a_phone_scores_100_in_every_category_run_after_run(newsroom):
    urls = [f"{newsroom}/stories/{DEMO_SLUG}", f"{newsroom}/stories/{API_SLUG}",
            f"{newsroom}/stories/{ARABIC_SLUG}"]
    ran = subprocess.run(
        ["node", LIGHTHOUSE_RUNS, str(LIGHTHOUSE_IN_A_ROW), str(LIGHTHOUSE_AT_MOST), *urls],
        capture_output=True, text=True, timeout=240 * len(urls), cwd=TOOLS,
        env={**os.environ, "CHROME_PATH": CHROMIUM})
    assert ran.returncode == 0, ran.stderr[-3000:]
    runs = [json.loads(line) for line in ran.stdout.splitlines() if line.startswith("{")]
    report = []
    for run in runs:
        calibrated, default = run["calibrated"], run["default"]
        report.append(f"run {run['run']} {urllib.parse.urlsplit(run['url']).path}"
                      f"{' (busy)' if run['busy'] else ''}: "
                      f"benchmarkIndex {run['benchmarkIndex']}, CPU slowdown "
                      f"{run['cpuSlowdownMultiplier']}x: {calibrated['scores']} "
                      f"{calibrated['metrics']} {calibrated['short'] or ''} "
                      f"{calibrated['runtimeError'] or ''}; at the default 4x: {default['scores']}")
    print("Lighthouse, phone profile:", *report, sep="\n  ")
    steady = ("accessibility", "best-practices", "seo")
    assert all(not run["calibrated"]["runtimeError"] and
               all(run["calibrated"]["scores"][category] == 1 for category in steady)
               for run in runs), \
        "\n".join(report)
    best = {url: max((run["inARow"] for run in runs if run["url"] == url), default=0)
            for url in urls}
    short = [url for url in urls if best[url] < LIGHTHOUSE_IN_A_ROW]
    measured = {url: sum(not run["busy"] for run in runs if run["url"] == url) for url in urls}
    if short and all(measured[url] < LIGHTHOUSE_IN_A_ROW for url in short):
        pytest.skip("this machine was too busy to judge performance (benchmarkIndex < 150):\n"
                    + "\n".join(report))
    assert not short, "\n".join(
        [f"runs in a row at 100 (of {LIGHTHOUSE_IN_A_ROW} needed): {best}", *report])


def test_controls_that_live_js_adds_after_the_first_paint_move_no_entry(newsroom, browser):
    # Lighthouse saw the entries jump down (CLS 0.037) when live.js added the order toggle after
    # the first paint. Here live.js is held back until the page has painted, so that it always
    # comes late, and every layout shift is counted.
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        held = []
        page.route("**/static/js/live.js*", lambda route: held.append(route))
        page.goto(f"{newsroom}/stories/{API_SLUG}", wait_until="commit")
        page.wait_for_function("() => performance.getEntriesByType('paint').length > 0",
                               timeout=15000)
        page.evaluate("""() => {
            window.shifted = 0;
            new PerformanceObserver(list => list.getEntries().forEach(shift => {
                window.shifted += shift.value;
            })).observe({type: "layout-shift", buffered: true});
        }""")
        assert page.locator("#order-toggle").count() == 0
        assert len(held) == 1, "live.js was not asked for"
        held[0].continue_()
        page.wait_for_selector("#order-toggle", state="visible", timeout=15000)
        # Two frames later every shift of the toggle's arrival has been reported.
        page.evaluate("new Promise(done => requestAnimationFrame(() => "
                      "requestAnimationFrame(done)))")
        assert page.evaluate("window.shifted") == 0
    finally:
        context.close()


def test_live_js_loads_no_locale_or_zone_data_at_load(newsroom, browser):
    # Intl loads ICU's data when its first formatter is made: 30-40 ms of the main thread, and a
    # zone's rules 25-60 ms more (Lighthouse counted live.js's share as blocking time). Relative
    # times are written by hand; the story's clock waits for the first live update.
    context = browser.new_context(**PHONE)
    try:
        context.add_init_script("""
            window.formattersMade = [];
            for (const name of ["DateTimeFormat", "RelativeTimeFormat", "NumberFormat"]) {
                const Made = Intl[name];
                Intl[name] = function (locale, options) {
                    window.formattersMade.push(name);
                    return new Made(locale, options);
                };
                Intl[name].prototype = Made.prototype;
            }
        """)
        page = context.new_page()
        page.goto(f"{newsroom}/stories/{DEMO_SLUG}", wait_until="load")
        page.wait_for_selector("#order-toggle", state="attached", timeout=15000)
        assert page.evaluate("window.formattersMade") == []
        times = page.locator("time.entry-time").all_inner_texts()
        assert times, "no entry times"
        assert all(re.fullmatch(r"\d+ (minute|hour)s? ago", text) for text in times), times
    finally:
        context.close()
