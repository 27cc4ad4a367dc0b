"""The key-figures box over a real WebSocket: a change arrives as a frame, and resumes by seq."""

from __future__ import annotations

from test_live import assert_silent, receive_frames, ws_url
from websockets.sync.client import connect

SCOREBOARD = {"kind": "scoreboard", "home": {"name": "Reds", "score": 0},
              "away": {"name": "Blues", "score": 0}}


def set_score(client, actions, home: int, away: int):
    box = {**SCOREBOARD, "home": {"name": "Reds", "score": home},
           "away": {"name": "Blues", "score": away}}
    response = client.patch("/api/stories/storm", json={"key_figures": box},
                            headers=actions.headers())
    assert response.status_code == 200, response.get_json()


def test_a_score_change_reaches_an_open_reader_and_a_resume_replays_it(live_server, actions,
                                                                       client):
    actions.create_story(key_figures=SCOREBOARD)
    with connect(ws_url(live_server, after=0)) as ws:
        set_score(client, actions, 1, 0)
        (frame,) = receive_frames(ws, 1)
    assert frame["type"] == "story.updated" and frame["seq"] == 1
    assert frame["story"]["key_figures"]["home"]["score"] == 1
    assert 'data-side="home">1</td>' in frame["key_figures_html"]
    set_score(client, actions, 1, 1)  # while the reader is away
    set_score(client, actions, 2, 1)
    with connect(ws_url(live_server, after=frame["seq"])) as ws:
        missed = receive_frames(ws, 2)
        assert_silent(ws)
    assert [f["seq"] for f in missed] == [2, 3]
    assert [(f["story"]["key_figures"]["home"]["score"], f["story"]["key_figures"]["away"]
             ["score"]) for f in missed] == [(1, 1), (2, 1)]
    assert 'data-summary="Score: Reds 2, Blues 1."' in missed[-1]["key_figures_html"]
