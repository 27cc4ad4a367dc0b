"""Poll vote benchmark: C concurrent readers voting in one poll, each vote a new voter token.

Each client is a thread with its own keep-alive connection and no API token (readers are
anonymous), voting back to back until the vote count is reached. A WebSocket reader of the story
records every poll.updated frame as it arrives. Afterwards the poll's tallies (API) are compared
with the stored votes (counted in the database itself) and with the last frame readers got.

Reports votes/s, vote latency p50/p99/max, statuses, poll.updated frames: how many, the most in
any one second, the shortest gap between two, and whether the last carried the final tallies.

Exit status: 0 clean; 1 counts differ from the stored votes, a second had two frames, or the
final tallies never reached the reader; 2 a vote failed or the run could not start.

Examples:
    .venv/bin/python bench/votes.py --spawn postgresql --workers 2 --clients 200 --votes 5000
    .venv/bin/python bench/votes.py --spawn sqlite --clients 200 --votes 5000
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import queue
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime
from itertools import pairwise
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text
from websockets.sync.client import connect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import servers  # noqa: E402 - bench/servers.py, next to this file
from common import (  # noqa: E402 - bench/common.py, next to this file
    Api,
    SetupError,
    add_output_arguments,
    add_token_argument,
    benchmark_parser,
    ms,
    percentile,
    require_token,
    run_and_finish,
)
from fanout_suite import redis_server  # noqa: E402 - a private redis-server, as there

OPTIONS = ["Yes", "No", "Not sure", "Ask me later"]
FINAL_WAIT = 15.0  # s: the trailing frame follows the last vote within about a second


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = benchmark_parser(__doc__)
    servers.add_target_arguments(parser, "base URL of a running server")
    parser.add_argument("--pg-fast", action="store_true",
                        help="PostgreSQL without fsync and synchronous_commit")
    parser.add_argument("--database-url", help="with --url: the database, to count stored votes")
    add_token_argument(parser)
    parser.add_argument("--clients", type=int, default=200, help="concurrent voters (C)")
    parser.add_argument("--votes", type=int, default=5000, help="votes in all")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.votes < args.clients:
        parser.error("--clients must be >= 1 and --votes >= --clients")
    if args.url:
        require_token(parser, args)
    return args


class Frames:
    """A WebSocket reader of the story in a process of its own, keeping each poll.updated frame
    with its arrival time.

    Its own process, not a thread beside the 200 voters: in one interpreter the voters hold the
    GIL, and a frame's arrival would be stamped when the reader next got it, a second or more
    late, which bunches frames that came a second apart (CLOCK_MONOTONIC is the same clock in
    both processes).
    """

    def __init__(self, base_url: str, slug: str, after: int):
        url = base_url.replace("http://", "ws://") + f"/api/stories/{slug}/live?after={after}"
        context = multiprocessing.get_context("spawn")
        self._arrivals = context.Queue()
        self._stop = context.Event()
        self._ready = context.Event()
        self.process = context.Process(target=_read_frames,
                                       args=(url, self._arrivals, self._ready, self._stop),
                                       daemon=True)
        self.process.start()
        if not self._ready.wait(30):
            raise SetupError("the poll reader did not connect within 30 s")
        self.frames: list[tuple[float, dict]] = []

    def _collect(self, timeout: float) -> None:
        try:
            self.frames.append(self._arrivals.get(timeout=timeout))
            while True:
                self.frames.append(self._arrivals.get_nowait())
        except queue.Empty:
            return

    def wait_for(self, tallies: list[int], timeout: float) -> bool:
        """Whether a frame with these tallies arrives within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._collect(0.05)
            if self.frames and self.frames[-1][1]["poll"]["tallies"] == tallies:
                return True
        return False

    def close(self) -> None:
        """Stop the reader and take the frames it has not handed over yet."""
        self._stop.set()
        self.process.join(10)
        self._collect(0.5)
        if self.process.is_alive():
            self.process.kill()


def _read_frames(url: str, arrivals, ready, stop) -> None:
    """The reader process: stamp each poll.updated frame as it arrives, hand it over."""
    with connect(url, open_timeout=30) as socket:
        ready.set()
        while not stop.is_set():
            try:
                message = socket.recv(timeout=0.2)
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the server closed at the end of the run
                return
            at = time.monotonic()
            frame = json.loads(message)
            if frame["type"] == "poll.updated":
                arrivals.put((at, frame))


def voter(base_url: str, poll_id: int, number: int, votes: int, start, results: list) -> None:
    """One reader after another on one connection: each vote a fresh token, no Authorization."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    start.wait()
    for n in range(votes):
        body = json.dumps({"option": (number + n) % len(OPTIONS),
                           "voter": f"bench-{number:04d}-{n:06d}-{time.time_ns()}"})
        sent = time.monotonic()
        try:
            connection.request("POST", f"/api/polls/{poll_id}/votes", body,
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            status = type(error).__name__
            connection.close()
        results.append((sent, time.monotonic() - sent, status))
    connection.close()


def stored_votes(database_url: str, poll_id: int) -> tuple[list[int], list[float]]:
    """Votes per option as stored (COUNT of rows), and the gaps in seconds between the poll's
    poll.updated events as written, both read from the database itself."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT option, COUNT(*) FROM poll_votes WHERE poll_id = :poll GROUP BY option"
            ), {"poll": poll_id}).all()
            written = connection.execute(text(
                "SELECT created_at FROM events WHERE type = 'poll.updated' ORDER BY seq"
            )).scalars().all()
    finally:
        engine.dispose()
    counts = dict(rows)
    written = [datetime.fromisoformat(str(at)) for at in written]
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(written)]
    return [counts.get(position, 0) for position in range(len(OPTIONS))], gaps


def run_benchmark(args, base_url: str, token: str, database_url: str | None) -> dict:
    """Create a story and a poll, vote from C threads, then check counts and frames."""
    api = Api(base_url, token)
    slug = f"votes-{int(time.time())}"
    status, _ = api.request("POST", "/api/stories", {"slug": slug, "title": "Vote bench"})
    if status != 201:
        raise SetupError(f"creating the story: HTTP {status}")
    status, entry = api.request("POST", f"/api/stories/{slug}/entries", {
        "body": "<p>Have your say.</p>", "poll": {"question": "Well?", "options": OPTIONS}})
    if status != 201:
        raise SetupError(f"creating the poll: HTTP {status} {entry}")
    poll_id = entry["poll"]["id"]
    frames = Frames(base_url, slug, entry["seq"])
    results: list = []
    start = threading.Barrier(args.clients + 1)
    share, extra = divmod(args.votes, args.clients)
    threads = [threading.Thread(target=voter, daemon=True, args=(
        base_url, poll_id, n, share + (n < extra), start, results)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(600)
    voting_seconds = time.monotonic() - began
    status, entry = api.request("GET", f"/api/stories/{slug}/entries/{entry['id']}")
    tallies = entry["poll"]["tallies"]
    final_arrived = frames.wait_for(tallies, FINAL_WAIT)
    frames.close()
    api.close()
    stored, written_gaps = stored_votes(database_url, poll_id) if database_url else (None, [])
    return summarise(args, results, voting_seconds, tallies, stored, frames.frames,
                     final_arrived, written_gaps)


def summarise(args, results, seconds, tallies, stored, frames, final_arrived,
              written_gaps) -> dict:
    """The result record: throughput, latency, counts and frames."""
    ok = sorted(duration for _, duration, status in results if status == 201)
    statuses = Counter(str(status) for _, _, status in results)
    unanswered = sum(1 for _, _, status in results if not isinstance(status, int))
    span = max(sent + duration for sent, duration, _ in results) - min(s for s, _, _ in results)
    times = [at for at, _ in frames]
    per_second = max((sum(1 for other in times if at <= other < at + 1.0) for at in times),
                     default=0)
    gaps = [later - earlier for earlier, later in pairwise(times)]
    return {
        "params": {key: getattr(args, key) for key in
                   ("spawn", "workers", "pg_fast", "clients", "votes")},
        "votes_ok": len(ok),
        "statuses": dict(statuses),
        "voting_seconds": round(seconds, 2),
        "votes_per_s": round(len(ok) / span, 1) if span else None,
        "latency_ms": {"p50": ms(percentile(ok, 0.5)), "p99": ms(percentile(ok, 0.99)),
                       "max": ms(ok[-1] if ok else None)},
        "tallies": tallies,
        "stored_votes": stored,
        # Every 201 counted, and nothing else but votes whose answer this client never got
        # (a timeout: the server may have counted it as the answer was lost).
        "counts_exact": stored is None or (
            stored == tallies and len(ok) <= sum(stored) <= len(ok) + unanswered),
        "frames": len(frames),
        # Over the time frames were being sent (the last comes after the last vote).
        "frames_per_s": round(len(frames) / (times[-1] - times[0] + 1.0), 2) if times else None,
        "most_frames_in_a_second": per_second,
        "shortest_gap_s": round(min(gaps), 3) if gaps else None,
        # The same, as the server wrote them (the events' times in the database).
        "shortest_written_gap_s": round(min(written_gaps), 3) if written_gaps else None,
        "final_tallies_reached_reader": final_arrived,
    }


def print_report(result: dict) -> None:
    """Print a short human-readable report."""
    p, lat = result["params"], result["latency_ms"]
    print(f"{p['spawn'] or 'server'}, {p['workers']} worker(s): {p['clients']} clients, "
          f"{result['votes_ok']}/{p['votes']} votes in {result['voting_seconds']} s")
    print(f"  {result['votes_per_s']} votes/s; POST p50/p99/max {lat['p50']}/{lat['p99']}/"
          f"{lat['max']} ms; statuses {result['statuses']}")
    print(f"  tallies {result['tallies']}, stored {result['stored_votes']}: exact "
          f"{result['counts_exact']}")
    print(f"  poll.updated: {result['frames']} frames ({result['frames_per_s']}/s), at most "
          f"{result['most_frames_in_a_second']} in a second, shortest gap "
          f"{result['shortest_gap_s']} s (written: {result['shortest_written_gap_s']} s); "
          f"final tallies reached the reader "
          f"{result['final_tallies_reached_reader']}")


def exit_status(result: dict) -> int:
    """0 clean; 1 counts or frames wrong; 2 a vote failed."""
    if not result["counts_exact"] or not result["final_tallies_reached_reader"]:
        return 1
    if result["most_frames_in_a_second"] > 1:
        return 1
    return 0 if result["votes_ok"] == result["params"]["votes"] else 2


def run(args) -> dict:
    """Run against --url, or inside throwaway servers with --spawn."""
    if args.url:
        return run_benchmark(args, args.url, args.token, args.database_url)
    instance = servers.fresh_instance("liveblog-votes-bench-")
    with ExitStack() as stack:
        url, db_facts = stack.enter_context(
            servers.database(args.spawn, instance, durable=not args.pg_fast))
        token = servers.prepare_instance(instance, url)
        database_url = url or f"sqlite:///{os.path.join(instance, 'liveblog.sqlite3')}"
        server = servers.Gunicorn(instance, url, args.workers, servers.free_port(5700, 5779))
        if args.workers > 1:
            # As production runs several workers: the reader's process hears the others' frames.
            server.env["REDIS_URL"] = stack.enter_context(redis_server())
        stack.callback(server.stop)
        server.start()
        result = run_benchmark(args, server.url, token, database_url)
    result["setup"] = {"database": db_facts, "instance": instance, "versions": servers.versions()}
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    return run_and_finish(run, parse_args(argv), print_report, exit_status)


if __name__ == "__main__":
    sys.exit(main())
