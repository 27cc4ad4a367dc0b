"""Integer parameters take ASCII digits only: "٣" (Arabic-Indic three) and "²" are refused."""

from __future__ import annotations

import pytest
from desk_support import log_in, post_form
from sqlalchemy import select

from liveblog.extensions import db
from liveblog.models import Entry, EntryStatus

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
