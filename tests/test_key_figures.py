"""The key-figures box: its rules, the API, the page and the embed, its history, the desk."""

from __future__ import annotations

import io
import json

import pytest
from desk_support import log_in, post_form
from sqlalchemy import select

from liveblog.extensions import db
from liveblog.models import Event, KeyFiguresChange, Role
from liveblog.publishing.archive import export_story, import_archive, write_archive
from liveblog.publishing.validation import key_figures_value

SCOREBOARD = {"kind": "scoreboard", "title": "Final", "period": "2nd half, 67'",
              "home": {"name": "Reds", "score": 2}, "away": {"name": "Blues", "score": 1}}
FIGURES = {"kind": "figures", "items": [{"label": "Seats declared", "value": "412/650"},
                                        {"label": "Turnout", "value": "61.2%"}]}
HOSTILE = '<script>alert(1)</script>Reds \u202e\u0007<img src=x onerror=alert(2)>'


def patch_box(client, actions, box, slug: str = "storm"):
    return client.patch(f"/api/stories/{slug}", json={"key_figures": box},
                        headers=actions.headers())


def story_events(client) -> list[dict]:
    return client.get("/api/stories/storm/events").get_json()["events"]


def test_a_box_is_set_shown_changed_and_cleared_through_the_api(client, actions):
    created = actions.create_story(key_figures=FIGURES)
    assert created["key_figures"] == {**FIGURES, "title": None}
    changed = patch_box(client, actions, SCOREBOARD)
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["key_figures"] == SCOREBOARD
    assert client.get("/api/stories/storm").get_json()["key_figures"] == SCOREBOARD
    page = client.get("/stories/storm").get_data(as_text=True)
    assert '<th scope="row">Reds</th><td class="scoreboard-score" data-side="home">2</td>' in page
    assert "2nd half, 67&#39;" in page and 'aria-labelledby="key-figures-title"' in page
    cleared = patch_box(client, actions, None)
    assert cleared.get_json()["key_figures"] is None
    assert 'class="key-figures ' not in client.get("/stories/storm").get_data(as_text=True)
    # Each change is a story.updated event in the log, carrying the box as the page shows it.
    events = [event for event in story_events(client) if event["type"] == "story.updated"]
    assert [event["story"]["key_figures"] for event in events] == [SCOREBOARD, None]
    assert "Reds" in events[0]["key_figures_html"] and 'id="key-figures"' in events[1][
        "key_figures_html"]


def test_figures_show_as_a_description_list_in_the_page_and_the_embed(client, actions):
    actions.create_story(key_figures=FIGURES)
    for path in ("/stories/storm", "/stories/storm/embed"):
        html = client.get(path).get_data(as_text=True)
        assert '<dl class="figures">' in html, path
        assert "<dt>Seats declared</dt><dd>412/650</dd>" in html
        assert 'id="key-figures-live" aria-live="polite"' in html
        assert 'data-summary="Key figures: Seats declared: 412/650; Turnout: 61.2%."' in html


@pytest.mark.parametrize("box, field", [
    ({"kind": "chart"}, "key_figures.kind"),
    ("Reds 2 Blues 1", "key_figures"),
    ({**SCOREBOARD, "home": {"name": "Reds", "score": -1}}, "key_figures.home.score"),
    ({**SCOREBOARD, "away": {"name": "Blues", "score": 10_000}}, "key_figures.away.score"),
    ({**SCOREBOARD, "away": {"name": "Blues", "score": "3"}}, "key_figures.away.score"),
    ({**SCOREBOARD, "away": {"name": "Blues", "score": True}}, "key_figures.away.score"),
    ({**SCOREBOARD, "away": {"name": " \u202e ", "score": 1}}, "key_figures.away.name"),
    ({**SCOREBOARD, "home": {"name": "R" * 61, "score": 1}}, "key_figures.home.name"),
    ({**SCOREBOARD, "home": {"name": "Reds\x00", "score": 1}}, "key_figures.home.name"),
    ({**SCOREBOARD, "items": []}, "key_figures.items"),
    ({"kind": "scoreboard", "home": {"name": "Reds", "score": 1}}, "key_figures.away"),
    ({**FIGURES, "items": [{"label": "x", "value": "1"}] * 9}, "key_figures.items"),
    ({**FIGURES, "items": []}, "key_figures.items"),
    ({**FIGURES, "items": [{"label": "Seats", "value": "<b></b>"}]}, "key_figures.items.0.value"),
    ({**FIGURES, "items": [{"label": "Seats", "value": "1", "colour": "red"}]},
     "key_figures.items.0.colour"),
    ({**FIGURES, "title": "T" * 81}, "key_figures.title"),
    ({**FIGURES, "period": "1st"}, "key_figures.period"),
])
def test_a_box_outside_the_rules_is_refused_field_by_field(box, field):
    errors: dict[str, str] = {}
    assert key_figures_value(box, errors) is None
    assert field in errors, errors


def test_the_api_refuses_a_bad_box_with_a_422_naming_the_field(client, actions):
    actions.create_story()
    response = patch_box(client, actions, {**SCOREBOARD, "home": {"name": "Reds", "score": -1}})
    assert response.status_code == 422, response.get_json()
    assert "key_figures.home.score" in response.get_json()["error"]["fields"]
    assert client.get("/api/stories/storm").get_json()["key_figures"] is None


def test_hostile_text_is_stored_as_plain_text_and_rendered_inert(client, actions):
    actions.create_story(questions_open=False)
    box = {"kind": "figures", "title": HOSTILE,
           "items": [{"label": HOSTILE, "value": "1 < 2 & \u2067 3"}]}
    stored = patch_box(client, actions, box).get_json()["key_figures"]
    assert stored["title"] == "Reds"
    assert stored["items"][0] == {"label": "Reds", "value": "1 < 2 & 3"}
    for path in ("/stories/storm", "/stories/storm/embed"):
        html = client.get(path).get_data(as_text=True)
        assert "<dd>1 &lt; 2 &amp; 3</dd>" in html
        assert "onerror" not in html and "alert(2)" not in html and "\u202e" not in html
    frame = story_events(client)[-1]["key_figures_html"]
    assert "<script" not in frame and "1 &lt; 2" in frame


def test_each_change_is_kept_with_its_time_editor_and_seq(app, client, actions):
    actions.create_story(key_figures=SCOREBOARD)
    patch_box(client, actions, {**SCOREBOARD, "period": "Full time"})
    client.patch("/api/stories/storm", json={"title": "Storm"}, headers=actions.headers())
    with app.app_context():
        changes = db.session.scalars(select(KeyFiguresChange).order_by(KeyFiguresChange.id)).all()
        assert [change.key_figures["period"] for change in changes] == ["2nd half, 67'",
                                                                        "Full time"]
        assert [change.seq for change in changes] == [0, 1]  # a title change is not one
        assert all(change.editor.display_name == "Ed Itor" and change.created_at
                   for change in changes)
        payload = json.loads(db.session.scalar(select(Event.payload).where(Event.seq == 1)))
        assert payload["story"]["key_figures"]["period"] == "Full time"


def test_the_desk_edits_the_box_adds_points_and_shows_the_history(app, client, actions):
    actions.create_story()
    editor = app.test_client()
    assert log_in(editor, "editor@example.org").status_code == 302
    page = editor.get("/admin/stories/storm").get_data(as_text=True)
    assert 'id="kf-form"' in page and "desk/key-figures" in page
    saved = post_form(editor, "/admin/stories/storm/key-figures", {
        "kind": "scoreboard", "based_on": "0", "home_name": "Reds", "home_score": "0",
        "away_name": "Blues", "away_score": "0", "period": "Kick-off"}, json=True)
    assert saved.status_code == 200, saved.get_json()
    version = saved.get_json()["version"]
    for side in ("home", "home", "away"):
        point = post_form(editor, "/admin/stories/storm/key-figures/score",
                          {"side": side, "points": "1"}, json=True)
        assert point.status_code == 200
    box = client.get("/api/stories/storm").get_json()["key_figures"]
    assert (box["home"]["score"], box["away"]["score"]) == (2, 1)
    # A save based on the box before those points is refused, with the box as it is now.
    stale = post_form(editor, "/admin/stories/storm/key-figures", {
        "kind": "scoreboard", "based_on": str(version), "home_name": "Reds", "home_score": "9",
        "away_name": "Blues", "away_score": "0"}, json=True)
    assert stale.status_code == 409
    assert stale.get_json()["error"]["current"]["key_figures"]["home"]["score"] == 2
    refused = post_form(editor, "/admin/stories/storm/key-figures", {
        "kind": "scoreboard", "home_name": "", "home_score": "lots", "away_name": "Blues",
        "away_score": "0"})
    assert refused.status_code == 302
    assert "key_figures.home.score" in editor.get("/admin/stories/storm").get_data(as_text=True)
    below = post_form(editor, "/admin/stories/storm/key-figures/score",
                      {"side": "away", "points": "-1"}, json=True)
    assert below.get_json()["key_figures"]["away"]["score"] == 0
    assert post_form(editor, "/admin/stories/storm/key-figures/score",
                     {"side": "away", "points": "-1"}, json=True).status_code == 422
    history = editor.get("/admin/stories/storm").get_data(as_text=True)
    assert "Score: Reds 2, Blues 0, Kick-off." in history and "Ed Itor" in history
    removed = post_form(editor, "/admin/stories/storm/key-figures", {"kind": "none"}, json=True)
    assert removed.get_json()["key_figures"] is None
    assert post_form(editor, "/admin/stories/storm/key-figures/score",
                     {"side": "home"}, json=True).status_code == 409


def test_contributors_cannot_change_the_box(app, actions):
    actions.create_story(key_figures=SCOREBOARD)
    actions.create_user("writer@example.org", role=Role.CONTRIBUTOR)
    writer = app.test_client()
    log_in(writer, "writer@example.org")
    assert 'id="kf-form"' not in writer.get("/admin/stories/storm").get_data(as_text=True)
    refused = post_form(writer, "/admin/stories/storm/key-figures/score", {"side": "home"},
                        json=True)
    assert refused.status_code == 403


def test_json_ld_names_a_scoreboards_teams_as_a_sports_event(client, actions):
    actions.create_story(key_figures=SCOREBOARD)
    html = client.get("/stories/storm").get_data(as_text=True)
    data = json.loads(html.split('<script type="application/ld+json">')[1].split("</script>")[0])
    assert data["about"] == {"@type": "SportsEvent", "name": "Reds v Blues",
                             "homeTeam": {"@type": "SportsTeam", "name": "Reds"},
                             "awayTeam": {"@type": "SportsTeam", "name": "Blues"}}
    patch_box(client, actions, FIGURES)  # figures have no schema.org type: nothing is said
    html = client.get("/stories/storm").get_data(as_text=True)
    assert '"about"' not in html


def test_an_archive_carries_the_box_to_its_copy(app, client, actions):
    actions.create_story(key_figures=SCOREBOARD)
    with app.app_context():
        data, media = export_story("storm")
        buffer = io.BytesIO()
        write_archive(data, media, buffer)
        copy = import_archive(buffer.getvalue(), rename=True)
        assert copy.slug == "storm-2" and copy.key_figures == SCOREBOARD
