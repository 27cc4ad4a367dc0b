"""Compression: text answers in brotli or gzip, pictures and the WebSocket as they are."""

from __future__ import annotations

import gzip
import io
import json

import brotli
import pytest
from PIL import Image
from websockets.sync.client import connect

from liveblog.content.media import store_picture
from liveblog.extensions import db


@pytest.fixture
def story(actions):
    """A story with enough text to be worth compressing."""
    actions.create_story()
    for n in range(3):
        actions.post_entry(body=f"<p>{'The river is rising. ' * 20} {n}</p>")


@pytest.mark.parametrize(
    "path",
    ["/stories/storm", "/api/stories/storm/entries", "/api/stories/storm/events?after=0",
     "/stories/storm/feed.atom", "/static/css/liveblog.css", "/static/js/live.js"],
)
@pytest.mark.parametrize(
    ("coding", "decompress"), [("gzip", gzip.decompress), ("br", brotli.decompress)]
)
def test_text_is_compressed_for_clients_that_accept_it(client, story, path, coding, decompress):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": coding})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == coding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert "Accept-Encoding" in plain.headers["Vary"]
    assert decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data)
    plain.close()
    packed.close()


def test_gzip_is_chosen_when_it_is_all_the_client_speaks(client, story):
    response = client.get("/api/stories/storm/entries", headers={"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(response.data))["entries"][0]["body_html"].startswith("<p>")


def test_pictures_are_sent_as_they_are(app, client):
    buffer = io.BytesIO()
    Image.new("RGB", (500, 300), (200, 30, 30)).save(buffer, "JPEG")
    with app.app_context():
        media = store_picture(io.BytesIO(buffer.getvalue()), "red.jpg", None)
        path = f"/media/{media.id}/{media.widths.split(',')[0]}.jpg"
        db.session.remove()
    response = client.get(path, headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "Content-Encoding" not in response.headers
    assert response.data[:2] == b"\xff\xd8"  # a JPEG, as stored
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    response.close()


def test_the_websocket_still_works_for_clients_that_accept_compression(live_server, actions):
    actions.create_story()
    actions.post_entry(body="<p>Before</p>")
    url = live_server.replace("http://", "ws://") + "/api/stories/storm/live?after=0"
    with connect(url, additional_headers={"Accept-Encoding": "gzip, br"}) as ws:
        frame = json.loads(ws.recv(timeout=5))
        assert frame["seq"] == 1 and "Before" in json.dumps(frame)
