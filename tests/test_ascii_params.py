"""Integer parameters take ASCII digits only: "٣" (Arabic-Indic three) and "²" are refused."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from desk_support import log_in, post_form
from sqlalchemy import select
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

import liveblog
from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus
from liveblog.web.params import AsciiIntConverter

THREE = "\u0663"  # int() reads it as 3, and str.isdigit() says yes
ONE = "\u0661"
SQUARED = "\u00b2"  # isdigit() says yes; int() raises


@pytest.fixture
def entries(actions):
    actions.create_story()
    return [actions.post_entry(body=f"<p>{n}</p>", pinned=True)["id"] for n in range(3)]


def status_of(app, entry_id: int) -> str:
    with app.app_context():
        return db.session.scalar(select(Entry.status).where(Entry.id == entry_id))


@pytest.mark.parametrize("path", [
    f"/api/stories/storm/events?after={THREE}",
    f"/api/stories/storm/events?after={SQUARED}",
    f"/api/stories/storm/events?limit={ONE}0",
    f"/api/stories/storm/entries?limit={ONE}",
    f"/api/stories/storm/entries?before={THREE}",
    "/api/stories/storm/entries?limit=1" + "0" * 20,
])
def test_the_api_refuses_a_query_number_in_other_digits_with_json(client, entries, path):
    answer = client.get(path)
    assert answer.status_code == 400
    assert "whole number" in answer.get_json()["error"]["message"]


def test_an_entry_address_in_other_digits_names_no_entry(app, client, actions, entries):
    assert entries[2] == 3
    read = client.get(f"/api/stories/storm/entries/{THREE}")
    assert read.status_code == 404 and read.is_json
    deleted = client.delete(f"/api/stories/storm/entries/{THREE}", headers=actions.headers())
    assert deleted.status_code == 404 and deleted.is_json
    assert status_of(app, 3) == EntryStatus.PUBLISHED
    assert client.get(f"/stories/storm/entries/{THREE}").status_code == 404


@pytest.mark.parametrize("version", [ONE, SQUARED, f'"{ONE}"', "1" * 16])
def test_if_match_in_other_digits_is_a_json_400(app, client, actions, entries, version):
    answer = client.patch(f"/api/stories/storm/entries/{entries[0]}", json={"body": "x"},
                          headers=actions.headers(**{"If-Match": version}))
    assert answer.status_code == 400 and answer.is_json
    assert status_of(app, entries[0]) == EntryStatus.PUBLISHED


@pytest.mark.parametrize("query", [f"before={THREE}", f"through={THREE}", f"before={SQUARED}"])
def test_the_story_page_refuses_other_digits(client, entries, query):
    answer = client.get(f"/stories/storm?{query}")
    assert answer.status_code == 400
    assert "entry number" in answer.get_data(as_text=True)


@pytest.fixture
def desk(client, entries):
    log_in(client, "editor@example.org")
    return client


@pytest.mark.parametrize("version", [ONE, SQUARED])
@pytest.mark.parametrize("json", [False, True])
def test_the_desk_refuses_a_version_in_other_digits(app, desk, entries, version, json):
    url = f"/admin/stories/storm/entries/{entries[0]}/delete"
    answer = post_form(desk, url, {"version": version}, json=json)
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "version must be a whole number" in text.lower()
    assert status_of(app, entries[0]) == EntryStatus.PUBLISHED
    edit = post_form(desk, f"/admin/stories/storm/entries/{entries[0]}/edit",
                     {"body": "<p>Changed</p>", "version": version}, json=json)
    assert edit.status_code in (400, 422)
    with app.app_context():
        assert db.session.get(Entry, entries[0]).version == 1


def key_orders(app) -> list[int]:
    with app.app_context():
        return db.session.scalars(select(Entry.key_order).order_by(Entry.id)).all()


def test_the_desk_refuses_key_order_in_other_digits(app, desk, entries):
    before = key_orders(app)
    # Entry 3 written in Arabic-Indic digits: the old check read it as 3 and reordered.
    answer = post_form(desk, "/admin/stories/storm/key-order",
                       {"entry": [THREE, str(entries[1]), str(entries[0])]}, json=True)
    assert answer.status_code == 400
    assert "whole number" in answer.get_json()["error"]["message"]
    assert key_orders(app) == before


def test_desk_addresses_in_other_digits_name_no_entry(desk):
    assert desk.get(f"/admin/stories/storm/entries/{THREE}/edit").status_code == 404


# Every route, exhaustively: a number in a path is ASCII digits, or the route is not matched.
NUMBER_IN_PATH = re.compile(r"<int:\w+>")
OTHER_IN_PATH = re.compile(r"<[^>]+>")


def numbered_rules(app) -> list:
    """Every route with a whole number in its path."""
    return [rule for rule in app.url_map.iter_rules() if NUMBER_IN_PATH.search(rule.rule)]


def path_with(rule, digits: str) -> str:
    return OTHER_IN_PATH.sub("storm", NUMBER_IN_PATH.sub(digits, rule.rule))


def matched_endpoint(app, path: str, method: str) -> str | None:
    adapter = app.url_map.bind("localhost")
    try:
        return adapter.match(path, method=method)[0]
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None


def test_every_number_in_a_route_takes_ascii_digits_only(app):
    assert app.url_map.converters["int"] is AsciiIntConverter
    rules = numbered_rules(app)
    assert {rule.endpoint for rule in rules} >= {
        "api.get_entry", "desk.edit_entry", "reader.entry_permalink", "media.serve"}
    for rule in rules:
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert matched_endpoint(app, path_with(rule, "3"), method) == rule.endpoint
            for digits in (THREE, SQUARED, f"{ONE}0"):
                assert matched_endpoint(app, path_with(rule, digits), method) != rule.endpoint


# Every whole number a query string carries, by the module that reads it, with a URL that reads
# it and an ASCII value it takes. "٣" gets a 400, except where nonsense is read as not given by
# design (oEmbed's optional limits): there it gets the answer the URL gets without it.
REFUSED, IGNORED = "refused", "ignored"
OEMBED = "/oembed?url=http://localhost/stories/storm&"
QUERY_NUMBERS = [
    ("api/views.py", "limit", "/api/stories/storm/entries?", "2", REFUSED),
    ("api/views.py", "before", "/api/stories/storm/entries?", "3", REFUSED),
    ("api/views.py", "after", "/api/stories/storm/events?", "1", REFUSED),
    ("api/views.py", "limit", "/api/stories/storm/events?", "2", REFUSED),
    ("public/pages.py", "before", "/stories/storm?", "3", REFUSED),
    ("public/pages.py", "through", "/stories/storm?", "1", REFUSED),
    ("public/oembed.py", "maxwidth", OEMBED, "300", IGNORED),
    ("public/oembed.py", "maxheight", OEMBED, "300", IGNORED),
    ("public/oembed.py", "limit", OEMBED, "5", IGNORED),
    ("public/fragment.py", "limit", "/stories/storm/fragment?", "2", REFUSED),
    ("public/fragment.py", "limit", "/stories/storm/embed?", "2", REFUSED),
    ("desk/watch.py", "wait", "/admin/stories/storm/watch?", "0", REFUSED),
    ("desk/watch.py", "entry", "/admin/stories/storm/watch?wait=0&", "1", REFUSED),
    ("desk/questions.py", "wait", "/admin/stories/storm/questions/watch?", "0", REFUSED),
]
# The socket's ?after= reads other digits as not given, as for a new reader (test_live.py:
# test_an_after_that_is_not_ascii_digits_is_read_as_a_new_reader, with "٣" among them), and so
# does a GRIP edge's (test_grip.py: test_the_origin_replays_then_subscribes...).
SOCKET_NUMBERS = [("live/stream.py", "after"), ("live/grip_origin.py", "after")]
# Query parameters that are text, not numbers.
QUERY_TEXTS = [("public/oembed.py", "format"), ("public/oembed.py", "url"), ("web/assets.py", "v"),
               ("desk/account.py", "next"), ("desk/watch.py", "since"),
               ("desk/stories.py", "timezone"), ("desk/stories.py", "label_format"),
               ("desk/stories.py", "language")]
PACKAGE = Path(liveblog.__file__).parent


def _reads_args(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "args" and \
        isinstance(node.value, ast.Name) and node.value.id == "request"


def _names_read(call: ast.AST) -> list[ast.AST]:
    """What request.args.get(x), .getlist(x), [x] or `x in request.args` reads."""
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and \
            _reads_args(call.func.value) and call.args:
        return [call.args[0]]
    if isinstance(call, ast.Subscript) and _reads_args(call.value):
        return [call.slice]
    if isinstance(call, ast.Compare) and any(_reads_args(c) for c in call.comparators):
        return [call.left]
    return []


def query_parameters_read(source: str) -> set[str]:
    """Every query parameter a module names, directly or through a helper given its name."""
    tree = ast.parse(source)
    names, helpers = set(), {}
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        parameters = [a.arg for a in function.args.args]
        for node in ast.walk(function):
            for read in _names_read(node):
                if isinstance(read, ast.Name) and read.id in parameters:
                    helpers[function.name] = (parameters.index(read.id), read.id)
    for node in ast.walk(tree):
        for read in _names_read(node):
            if isinstance(read, ast.Constant):
                names.add(read.value)
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in helpers:
            index, keyword = helpers[node.func.id]
            given = node.args[index:index + 1] + [k.value for k in node.keywords
                                                   if k.arg == keyword]
            names.update(arg.value for arg in given if isinstance(arg, ast.Constant))
    return names


def test_the_table_of_query_numbers_names_every_query_parameter():
    read = {(str(path.relative_to(PACKAGE)), name)
            for path in PACKAGE.rglob("*.py")
            for name in query_parameters_read(path.read_text())}
    known = {(module, name) for module, name, *_ in QUERY_NUMBERS}
    assert read == known | set(SOCKET_NUMBERS) | set(QUERY_TEXTS)


@pytest.mark.parametrize(("module", "name", "url", "ascii", "kind"), QUERY_NUMBERS,
                         ids=[f"{row[0]}-{row[2].split('?')[0]}-{row[1]}" for row in QUERY_NUMBERS])
def test_every_query_number_refuses_other_digits(desk, module, name, url, ascii, kind):
    plain = desk.get(url.rstrip("?&"))
    taken = desk.get(f"{url}{name}={ascii}")
    assert plain.status_code == taken.status_code == 200
    for digits in (THREE, SQUARED, f"{ONE}0", f"{THREE}\u0030"):
        answer = desk.get(f"{url}{name}={digits}")
        if kind == REFUSED:
            assert answer.status_code == 400, (digits, answer.status_code)
            assert answer.is_json == url.startswith("/api/")
        else:
            assert answer.status_code == 200
            assert answer.get_json() == plain.get_json() != taken.get_json()


@pytest.mark.parametrize("user_id", [ONE, SQUARED])
def test_a_session_naming_its_user_in_other_digits_is_logged_out(client, entries, user_id):
    assert log_in(client, "editor@example.org").status_code == 302
    with client.session_transaction() as session:
        assert session["_user_id"] == "1"
        session["_user_id"] = user_id
    answer = client.get("/admin/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/admin/login")
