"""The page scripts: small ES modules, one live-socket client for the reader page and the desk."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser_support import browser_tests
from playwright.sync_api import expect
from test_desk_browser import desk_as, new_page, open_desk

STATIC = Path(__file__).resolve().parent.parent / "static"
MAX_LINES = 300
# import {a, b as c} from "./x.js";  import * as x from "./x.js";  import "./x.js";
IMPORT = re.compile(r'^import\s+(?:(\{[^}]*\}|\*\s+as\s+\w+|\w+)\s+from\s+)?"([^"]+)";', re.M)
EXPORT = re.compile(r"^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+(\w+)", re.M)
RECONNECT = 5000  # ms: the client's first backoff is at most 1 s; room for a slow machine
STOPPED = 1500  # ms: long enough for a first retry (ceiling 1 s) to have been made

IMPORT_MAP = re.compile(r'<script type="importmap">(.*?)</script>', re.S)
# An inline script that is not the page's import map, as an injection would add it.
INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = true;";
  document.body.append(script);
}"""
# Every violation is also a DOM event; record them where the test can read them.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective);
});
"""

__all__ = ["new_page"]  # the fixture, shared with the desk's other browser tests


def own_text_files() -> list[Path]:
    """Every text file under static/ except the vendored libraries."""
    files = []
    for path in sorted(STATIC.rglob("*")):
        if not path.is_file() or STATIC / "vendor" in path.parents:
            continue
        data = path.read_bytes()
        if b"\0" not in data:
            files.append(path)
    return files


def modules() -> dict[Path, str]:
    """Our JavaScript files by path, with their source."""
    return {path: path.read_text() for path in own_text_files() if path.suffix == ".js"}


def imports(path: Path, source: str) -> list[tuple[Path, list[str]]]:
    """(module imported, names imported by name) for each import statement of a module."""
    found = []
    for clause, target in IMPORT.findall(source):
        names = []
        if clause.startswith("{"):
            names = [part.split(" as ")[0].strip() for part in clause.strip("{}").split(",")]
        found.append(((path.parent / target).resolve(), [name for name in names if name]))
    return found


def reachable(entry: Path) -> set[Path]:
    """Every module an entry module loads, itself included."""
    sources = modules()
    seen, waiting = set(), [entry.resolve()]
    while waiting:
        path = waiting.pop()
        if path in seen:
            continue
        seen.add(path)
        waiting += [target for target, _ in imports(path, sources[path])]
    return seen


def test_no_file_of_ours_under_static_is_over_300_lines():
    files = own_text_files()
    assert STATIC / "js" / "live.js" in files and STATIC / "desk" / "desk.js" in files
    long = {str(path.relative_to(STATIC)): len(path.read_text().splitlines()) for path in files}
    assert {name: lines for name, lines in long.items() if lines > MAX_LINES} == {}


def test_every_import_names_a_module_that_exports_it():
    sources = modules()
    missing = []
    for path, source in sources.items():
        for target, names in imports(path, source):
            if target not in sources:
                missing.append(f"{path.relative_to(STATIC)}: no module {target}")
                continue
            exported = set(EXPORT.findall(sources[target]))
            missing += [f"{path.relative_to(STATIC)}: {target.name} has no export {name}"
                        for name in names if name not in exported]
    assert missing == []


def test_the_reader_page_and_the_desk_share_one_live_socket_client():
    client = (STATIC / "js" / "live-socket.js").resolve()
    assert client in reachable(STATIC / "js" / "live.js")
    assert client in reachable(STATIC / "desk" / "desk.js")
    # No second copy of the protocol: the client is the only script that opens a socket.
    opening = [path for path, source in modules().items() if "new WebSocket(" in source]
    assert opening == [client]


def in_chromium(test):
    """Mark a test as one that drives Debian's Chromium (the static checks here need none)."""
    # The scripts do not depend on the database: judged on one engine.
    for mark in [*browser_tests, pytest.mark.databases("sqlite")]:
        test = mark(test)
    return test


class StandIn:
    """Answers the page's first live socket itself, then lets the real server answer the rest."""

    def __init__(self, first):
        self.first = first  # what the stand-in does with the first socket
        self.routes = []

    def __call__(self, route) -> None:
        """Route handler for the page's live sockets."""
        self.routes.append(route)
        if len(self.routes) == 1:
            self.first(route)
        else:
            route.connect_to_server()

    def after(self, index: int) -> str:
        """The `after` query value of the page's socket at index."""
        return parse_qs(urlsplit(self.routes[index].url).query)["after"][0]


@pytest.fixture
def open_live_page(actions, new_page):
    """Open the reader page or the desk of the story `storm`, its live sockets routed first."""

    def open_page(kind: str, stand_in: StandIn):
        if kind == "reader":
            page = new_page()
            page.route_web_socket(re.compile(r"/api/stories/storm/live"), stand_in)
            page.goto("/stories/storm")
            return page
        page = desk_as(new_page, actions, "desk@example.org")
        page.route_web_socket(re.compile(r"/api/stories/storm/live"), stand_in)
        return open_desk(page, "storm")

    return open_page


def shown(kind: str, entry: dict) -> str:
    """The selector of an entry as the reader page or the desk shows it."""
    return f"#entry-{entry['id']}" if kind == "reader" else f"#desk-entry-{entry['id']}"


def close_with(code: int):
    """A stand-in that closes the socket at once with this code, as the server would."""
    return lambda route: route.close(code=code, reason="stand-in")


@in_chromium
@pytest.mark.parametrize("kind", ["reader", "desk"])
@pytest.mark.parametrize("cause", ["heartbeat ahead", 1012, 1013])
def test_both_pages_resume_from_their_seq(kind, cause, actions, open_live_page):
    # A heartbeat carries the server's seq: a page short of it has lost an event on the way. A
    # restarting server (1012) or one whose database is down (1013) closes: come back and resume.
    actions.create_story()
    seq = actions.post_entry(body="<p>Before the page</p>")["seq"]
    heartbeat = json.dumps({"type": "heartbeat", "seq": seq + 1})
    ahead = cause == "heartbeat ahead"
    stand_in = StandIn((lambda route: route.send(heartbeat)) if ahead else close_with(cause))
    page = open_live_page(kind, stand_in)
    # Only a connection to the real server, after the first, can bring this one.
    missed = actions.post_entry(body="<p>Missed by the first socket</p>")
    expect(page.locator(shown(kind, missed))).to_have_count(1, timeout=RECONNECT)
    assert len(stand_in.routes) == 2 and stand_in.after(1) == str(seq)
    page_seq = page.locator("#story" if kind == "reader" else "#story-desk")
    expect(page_seq).to_have_attribute("data-seq", str(missed["seq"]))


@in_chromium
@pytest.mark.parametrize("kind", ["reader", "desk"])
@pytest.mark.parametrize("code", [4404, 4410])
def test_both_pages_stop_for_a_story_gone_or_archived(kind, code, actions, open_live_page):
    # A draft (4404) or archived (4410) story has no live stream: asking again would only load
    # the server. The reader is told only of a story gone; the desk is told why its list stops.
    actions.create_story()
    stand_in = StandIn(close_with(code))
    page = open_live_page(kind, stand_in)
    if kind == "desk":
        note = page.locator("#live-note")
        expect(note).to_be_visible()
        expect(note).to_contain_text("draft" if code == 4404 else "archived")
    elif code == 4404:
        expect(page.locator("#live-connection")).to_have_text("This story is no longer available.")
    page.wait_for_timeout(STOPPED)
    assert len(stand_in.routes) == 1
    if kind == "reader" and code == 4410:
        expect(page.locator("#live-connection")).to_be_hidden()


def page_scripts(client, path: str) -> tuple[dict, str, str]:
    """A page's import map, the map's text, and the script-src of the page's policy."""
    response = client.get(path)
    assert response.status_code == 200
    (text,) = IMPORT_MAP.findall(response.get_data(as_text=True))
    policy = dict(part.strip().split(" ", 1)
                  for part in response.headers["Content-Security-Policy"].split(";"))
    return json.loads(text)["imports"], text, policy["script-src"]


def versioned(path: Path) -> str:
    """The fingerprint a static file's URL carries."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@pytest.mark.databases("sqlite")  # files, not data: one engine
def test_a_changed_module_gets_a_new_versioned_url_in_the_import_map(app, client, actions,
                                                                     tmp_path):
    static = tmp_path / "static"
    shutil.copytree(STATIC, static, ignore=shutil.ignore_patterns("vendor"))
    app.static_folder = str(static)
    actions.create_story()
    socket_client = static / "js" / "live-socket.js"
    before, text, scripts = page_scripts(client, "/stories/storm")
    assert before["/static/js/live-socket.js"] == \
        f"/static/js/live-socket.js?v={versioned(socket_client)}"
    assert set(before) == {f"/static/js/{path.name}" for path in (static / "js").glob("*.js")}
    # The policy lets this map run, and no other inline script.
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert scripts == f"'self' https://platform.twitter.com 'sha256-{digest}'"
    current = client.get(before["/static/js/live-socket.js"])
    current.close()
    assert current.headers["Cache-Control"] == "public, max-age=31536000, immutable"

    socket_client.write_text(socket_client.read_text() + "// a fix, deployed\n")
    after, _, new_scripts = page_scripts(client, "/stories/storm")
    assert after["/static/js/live-socket.js"] == \
        f"/static/js/live-socket.js?v={versioned(socket_client)}"
    assert {k: v for k, v in after.items() if before[k] != v} == \
        {"/static/js/live-socket.js": after["/static/js/live-socket.js"]}
    assert new_scripts != scripts
    # A page cached before the deploy still gets today's file, kept only briefly.
    stale = client.get(before["/static/js/live-socket.js"])
    assert stale.headers["Cache-Control"] == "public, max-age=300"
    assert stale.get_data(as_text=True).endswith("// a fix, deployed\n")
    stale.close()


def static_scripts(page) -> list[str]:
    """Start recording the page's requests for our scripts."""
    asked = []
    page.on("request", lambda request: "/static/" in request.url and request.url.split("?")[0]
            .endswith(".js") and asked.append(request.url))
    return asked


@in_chromium
@pytest.mark.parametrize("kind", ["reader", "desk"])
def test_modules_load_by_fingerprint_and_no_other_inline_script_runs(kind, actions, new_page):
    actions.create_story()
    if kind == "reader":
        page = new_page()
        path = "/stories/storm"
    else:
        page = desk_as(new_page, actions, "desk@example.org")
        path = "/admin/stories/storm"
    page.add_init_script(RECORD_VIOLATIONS)
    asked = static_scripts(page)
    page.goto(path)
    # The page is live: its modules ran, the shared socket client among them.
    entry = actions.post_entry(body="<p>Within the policy</p>")
    expect(page.locator(shown(kind, entry))).to_have_count(1, timeout=RECONNECT)
    assert any("/static/js/live-socket.js?v=" in url for url in asked), asked
    assert [url for url in asked if not re.search(r"\?v=[0-9a-f]{12}$", url)] == []
    # The import map ran within the policy; another inline script does not.
    assert page.evaluate("window.__violations") == []
    page.evaluate(INJECT)
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__violations") == ["script-src-elem"]
    assert page.evaluate("window.injected") is None
