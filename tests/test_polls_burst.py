"""A burst of votes against a real server: counts exact, frames at most one a second per poll.

500 votes from 20 clients here (a few seconds); bench/votes.py runs 5,000 from 200 on gunicorn.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from itertools import pairwise
from urllib.parse import urlsplit

from sqlalchemy import func, select
from websockets.sync.client import connect

from liveblog.extensions import db
from liveblog.models import Event, PollOption, PollVote

CLIENTS = 20
VOTES_EACH = 25
OPTIONS = ["North", "South", "East", "West"]
FINAL_WAIT = 10.0  # s: the trailing frame follows the last vote within about a second


def vote_burst(live_server: str, poll_id: int) -> Counter:
    """CLIENTS threads, each on its own keep-alive connection, VOTES_EACH votes apiece."""
    address = urlsplit(live_server)
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
        start.wait()
        for n in range(VOTES_EACH):
            body = json.dumps({"option": (number + n) % len(OPTIONS),
                               "voter": f"burst-voter-{number:03d}-{n:04d}"})
            connection.request("POST", f"/api/polls/{poll_id}/votes", body,
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            with lock:
                statuses[response.status] += 1
        connection.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


def test_a_burst_of_votes_counts_exactly_and_readers_get_a_frame_a_second(app, live_server,
                                                                         actions):
    app.config["VOTE_LIMIT"] = "100000 per minute"  # every client is 127.0.0.1
    actions.create_story()
    entry = actions.post_entry(poll={"question": "Which way?", "options": OPTIONS})
    poll_id = entry["poll"]["id"]
    frames: list[tuple[float, dict]] = []
    url = live_server.replace("http://", "ws://") + f"/api/stories/storm/live?after={entry['seq']}"
    with connect(url) as reader:
        statuses = vote_burst(live_server, poll_id)
        assert statuses == {201: CLIENTS * VOTES_EACH}
        with app.app_context():
            stored = dict(db.session.execute(
                select(PollVote.option, func.count()).group_by(PollVote.option)).all())
            counted = dict(db.session.execute(
                select(PollOption.position, PollOption.votes).filter_by(poll_id=poll_id)).all())
        # Every vote stored once and counted once, whatever ran at the same time.
        assert counted == stored and sum(counted.values()) == CLIENTS * VOTES_EACH
        final = [counted[position] for position in range(len(OPTIONS))]
        deadline = time.monotonic() + FINAL_WAIT
        while not frames or frames[-1][1]["poll"]["tallies"] != final:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"the final tallies never came: {frames[-3:]}"
            frame = json.loads(reader.recv(timeout=remaining))
            if frame["type"] == "poll.updated":
                frames.append((time.monotonic(), frame))
    # However fast the votes came, a frame a second at most, in seq order, each with more votes.
    assert len(frames) >= 1
    seqs = [frame["seq"] for _, frame in frames]
    assert seqs == sorted(seqs)
    totals = [sum(frame["poll"]["tallies"]) for _, frame in frames]
    assert totals == sorted(totals)
    with app.app_context():
        written = db.session.scalars(
            select(Event.created_at).where(Event.type == "poll.updated").order_by(Event.seq)).all()
    assert len(written) == len(frames)
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(written)]
    assert all(gap >= 1 for gap in gaps), gaps
