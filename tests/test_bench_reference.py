"""bench/reference_server.py speaks our live protocol, as bench/fanout.py measures it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")
sys.path.append(BENCH)  # after tests/: its servers.py is not the benchmarks' one

import fanout  # noqa: E402 - bench/ is not a package: its scripts import each other by name
from common import Api  # noqa: E402

pytestmark = pytest.mark.slow  # starts the reference server

TOKEN = "reference-test-token"


def unused_port() -> int:
    """A port the kernel just handed out and nobody holds."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling a port: there is no event to wait on


@pytest.fixture(scope="module")
def reference():
    """A running reference server: (its pid, WebSocket base URL, HTTP base URL)."""
    port, http_port = unused_port(), unused_port()
    command = [sys.executable, os.path.join(BENCH, "reference_server.py"), "--port", str(port),
               "--http-port", str(http_port), "--token", TOKEN]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(port, timeout=15)
        wait_for_port(http_port, timeout=15)
        yield process.pid, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{http_port}"
    finally:
        process.terminate()
        process.wait(timeout=15)


@pytest.fixture
def api(reference):
    """A JSON client of the reference's HTTP API, closed afterwards."""
    client = Api(reference[2], TOKEN, timeout=5)
    yield client
    client.close()


def new_story(api: Api, slug: str) -> None:
    """Create a story on the reference server."""
    status, data = api.request("POST", "/api/stories", {"slug": slug, "title": slug})
    assert (status, data["last_seq"]) == (201, 0)


def post(api: Api, slug: str, body: str) -> int:
    """Post an entry; its seq."""
    status, data = api.request("POST", f"/api/stories/{slug}/entries", {"body": body})
    assert status == 201
    return data["seq"]


def test_fifty_readers_get_every_entry_once_and_in_order(reference):
    pid, url, publish_url = reference
    args = fanout.parse_args(["--url", url, "--publish-url", publish_url, "--token", TOKEN,
                              "--create-story", "--readers", "50", "--entries", "4",
                              "--rate", "20", "--timeout", "30", "--server-pid", str(pid)])
    result = asyncio.run(asyncio.wait_for(fanout.run_benchmark(args), 40))

    assert fanout.exit_status(result) == 0
    assert result["connected"] == result["run"]["server_open_readers"] == 50
    assert result["delivered_frames"] == result["expected_frames"] == 200
    assert (result["lost"], result["duplicated"], result["out_of_order"]) == (0, 0, 0)
    # CPU per frame is not asserted: 200 frames cost less than one clock tick of CPU time.
    assert result["server"]["rss_mb"]["connected"] > 0


def test_a_reader_resuming_with_after_gets_the_rest_then_live_frames(reference, api):
    url = reference[1]
    new_story(api, "resume")
    assert [post(api, "resume", f"<p>{n}</p>") for n in range(3)] == [1, 2, 3]
    live = url.replace("http", "ws") + "/api/stories/resume/live"

    with connect(f"{live}?after=1", open_timeout=5) as ws:
        replayed = [json.loads(ws.recv(timeout=5)) for _ in range(2)]
        assert [(frame["type"], frame["seq"]) for frame in replayed] == [
            ("entry.created", 2), ("entry.created", 3)]
        assert replayed[1]["entry"]["body_html"] == "<p>2</p>"
        assert post(api, "resume", "<p>3</p>") == 4
        assert json.loads(ws.recv(timeout=5))["seq"] == 4

    with connect(f"{live}?after=99", open_timeout=5) as ws:  # a seq the story never reached
        # As ours: the story's seq to start again from, then frames after it, nothing older.
        assert json.loads(ws.recv(timeout=5)) == {"type": "story.reset", "seq": 4}
        assert post(api, "resume", "<p>4</p>") == 5
        assert json.loads(ws.recv(timeout=5))["seq"] == 5


def test_unknown_story_and_bad_token_are_refused(reference, api):
    with connect(reference[1].replace("http", "ws") + "/api/stories/nope/live") as ws:
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=5)
        assert ws.close_code == 4404
    stranger = Api(reference[2], "wrong")
    assert stranger.request("POST", "/api/stories", {"slug": "x"})[0] == 401
    stranger.close()
    assert api.request("POST", "/api/stories/nope/entries", {"body": "x"})[0] == 404
    assert api.request("GET", "/api/stories/nope")[0] == 404
