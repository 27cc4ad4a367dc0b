"""The fault drill: two servers, 600 readers and a steady writer through five kinds of fault.

Two gunicorn masters share PostgreSQL and Redis. Readers and the writer reach either, as behind a
load balancer. After each fault the drill waits (bounded) until every reader holds an entry
published after the fault, and records how long that took from the fault: the recovery.
At the end every reader must hold every seq once and in order, the event log must be gapless,
and no retried post may have made a second entry. `pytest -s` prints the figures.
"""

from __future__ import annotations

import json
import os
import resource
import time
import uuid
from contextlib import ExitStack

import pytest
from drill_support import ReaderCrowd, SteadyWriter, reconnect_delays
from fault_support import WAIT
from servers import (
    Gunicorn,
    cpu_seconds,
    kill_whole_server,
    reload_workers,
    seed,
    wait_until_serving,
)
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import NullPool

from liveblog.models import Entry, Event, Story
from liveblog.ops.demo import DEMO_SLUG

# The fixture redis_server.
pytest_plugins = ["redis_support"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.serial,  # recovery times mean little while other tests share the two cores
    pytest.mark.databases("postgresql"),  # two server processes share one database
]

READERS = 600
WORKERS = 2  # per master, as in production with Redis on two cores (gunicorn_conf.py)
POSTS_PER_SECOND = 3
RECOVERY_LIMIT = 10.0  # the issue asks for "a few seconds at most"; the figures are printed
REDIS_OUTAGE = 5.0
# Every reader here comes from 127.0.0.1; behind a real balancer they come from 600 addresses.
LIMITS = {"API_WRITE_LIMIT": "100000 per minute", "LIVE_CONNECT_LIMIT": "100000 per minute"}


class Node:
    """One of the two servers: a gunicorn master that can be killed and started again."""

    def __init__(self, name: str, env: dict, tmp_path):
        self.name, self.tmp_path = name, tmp_path
        self.env = {**env, "LIVEBLOG_INSTANCE": str(tmp_path / name)}
        self.server: Gunicorn | None = None
        self.starts = 0

    def launch(self, port: int | None = None) -> None:
        """Start a master (on its old port when restarting); `ready` waits until it answers."""
        if self.server is not None:
            self.server.stop()  # a killed master: this only closes its log
        self.starts += 1
        log = str(self.tmp_path / f"{self.name}-{self.starts}.log")
        self.server = Gunicorn(self.env, log, workers=WORKERS, port=port, new_session=True)

    def ready(self) -> None:
        """Wait (bounded) until the master answers and every worker has booted."""
        self.server.__enter__()
        wait_until_serving(self.server, WORKERS)

    def stop(self) -> None:
        """Stop the master if it still runs."""
        if self.server is not None:
            self.server.stop()


@pytest.fixture
def pair(tmp_path, redis_server, empty_database_url):
    """Two independent gunicorn masters on one PostgreSQL database and Redis; (nodes, token)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * READERS:  # one socket per reader here, and a margin
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16 * READERS), hard))
    env = {**os.environ, **LIMITS, "DATABASE_URL": empty_database_url,
           "REDIS_URL": redis_server.url, "SECRET_KEY": uuid.uuid4().hex}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # each master keeps its own metrics
    nodes = [Node(name, env, tmp_path) for name in ("a", "b")]
    token = seed(nodes[0].env)
    try:
        for node in nodes:
            node.launch()  # both boot at once
        for node in nodes:
            node.ready()
        yield nodes, token
    finally:
        for node in nodes:
            node.stop()


class Drill:
    """The readers and the writer under test, and the recovery figures measured so far."""

    def __init__(self, crowd: ReaderCrowd, writer: SteadyWriter, nodes: list[Node]):
        self.crowd, self.writer, self.nodes = crowd, writer, nodes
        self._cpu_before: list[tuple[Gunicorn, float]] = []
        self.figures: dict[str, float] = {}  # recoveries
        self.notes: dict[str, float] = {}  # other durations worth reporting

    def begin(self) -> float:
        """Note the servers' CPU time as a fault begins; return the time it begins."""
        self._cpu_before = [(node.server, cpu_seconds(node.server)) for node in self.nodes]
        return time.monotonic()

    def servers_cpu(self) -> float:
        """CPU seconds both servers used since `begin` (a killed master's share is lost)."""
        used = 0.0
        for node, (server, before) in zip(self.nodes, self._cpu_before, strict=True):
            if node.server is not server:
                used += cpu_seconds(node.server)  # started since
            elif server.process.poll() is None:
                used += cpu_seconds(server) - before
        return used

    def recovered(self, name: str, started: float, hit: float) -> float:
        """Wait until every reader has the first entry posted after `hit`; time from `started`."""
        # Bounds well past RECOVERY_LIMIT, so that a slow recovery is measured, then failed.
        post = self.writer.first_post_after(hit, timeout=6 * WAIT)
        self.crowd.wait_caught_up(post.seq, timeout=6 * WAIT)
        figure = self.figures[name] = self.crowd.latest_arrival(post.seq) - started
        delays = reconnect_delays(self.crowd.readers, started)
        reconnects = (f", {len(delays)} reconnects taking up to {delays[-1]:.2f} s "
                      f"(median {delays[len(delays) // 2]:.2f} s)" if delays else "")
        # On a busy machine the servers get only part of the cores: their CPU time tells how
        # much work the recovery was, whatever else ran.
        cpu = (f"; the servers used {self.servers_cpu():.1f} CPU-s of the "
               f"{(time.monotonic() - started) * os.cpu_count():.0f} the machine had"
               if self._cpu_before else "")
        print(f"  {name}: {figure:.2f} s (seq {post.seq} answered "
              f"{post.done_at - started:.2f} s after the fault, {post.attempts} attempt(s)"
              f"{reconnects}{cpu}; load {os.getloadavg()[0]:.1f})")
        self.crowd.wait_connected(WAIT)
        return figure

    def note(self, name: str, seconds: float) -> None:
        """Record and print a duration that is not a recovery."""
        self.notes[name] = seconds
        print(f"  ({name}: {seconds:.2f} s)")

    def busier(self) -> int:
        """The server holding more readers now: a fault there hits the most."""
        return max((0, 1), key=self.crowd.on_server)

    def cut_off_since(self, server: int, moment: float) -> dict[int, list[int | None]]:
        """Close codes of connections to `server` that ended after `moment`, per reader."""
        cut: dict[int, list[int | None]] = {}
        for reader in self.crowd.readers:
            for when, where, code in reader.closes:
                if where == server and when >= moment:
                    cut.setdefault(reader.index, []).append(code)
        return cut


def kill_a_worker(drill: Drill, nodes: list[Node]) -> None:
    """kill -9 the busiest worker of the busier server; its master starts another."""
    victim = drill.busier()
    held = nodes[victim].server.readers_per_worker()
    worker = max(held, key=held.get)
    started = drill.begin()
    nodes[victim].server.kill_worker(worker)
    drill.recovered("kill -9 of a worker", started, time.monotonic())
    wait_until_serving(nodes[victim].server, WORKERS)  # settled before the next fault
    drill.note("its successor booted and serving", time.monotonic() - started)
    # Its readers, and only they, were cut off (the count of its sockets may include a POST).
    assert 0 < len(drill.cut_off_since(victim, started)) <= held[worker]


def kill_a_server(drill: Drill, nodes: list[Node]) -> None:
    """kill -9 a whole master and its workers; start a new master on its port afterwards."""
    victim = drill.busier()
    on_victim = drill.crowd.on_server(victim)
    started = drill.begin()
    kill_whole_server(nodes[victim].server)
    drill.recovered("kill -9 of a whole server", started, time.monotonic())
    assert len(drill.cut_off_since(victim, started)) == on_victim > 0
    restarting = time.monotonic()
    nodes[victim].launch(port=nodes[victim].server.port)
    nodes[victim].ready()
    drill.note("a new master on that port, its workers serving", time.monotonic() - restarting)


def stop_redis(drill: Drill, redis_server) -> None:
    """Stop redis-server for 5 s (the process, not a pause), then start it on the same port."""
    started = drill.begin()
    redis_server.stop()
    drill.recovered("Redis stopped (delivered through the log)", started, time.monotonic())
    time.sleep(max(0.0, started + REDIS_OUTAGE - time.monotonic()))  # the outage's length
    restarted = drill.begin()
    redis_server.start()
    drill.recovered("Redis started again", restarted, time.monotonic())


def restart_postgresql(drill: Drill, postgres) -> None:
    """Stop PostgreSQL (fast shutdown: connections cut) and start it again with its data."""
    started = drill.begin()
    postgres.pause()
    stopped = time.monotonic()
    postgres.resume()
    drill.note("PostgreSQL stopped and started", time.monotonic() - started)
    drill.recovered("PostgreSQL restarted", started, stopped)


def restart_gracefully(drill: Drill, nodes: list[Node]) -> None:
    """SIGHUP the busier master: new workers start, the old ones close their readers with 1012."""
    victim = drill.busier()
    on_victim = drill.crowd.on_server(victim)
    started = drill.begin()
    reload_workers(nodes[victim].server)
    drill.recovered("graceful restart (1012)", started, time.monotonic())
    wait_until_serving(nodes[victim].server, WORKERS)
    drill.note("its new workers booted and serving", time.monotonic() - started)
    cut = drill.cut_off_since(victim, started)
    assert len(cut) == on_victim > 0
    assert all(code == 1012 for codes in cut.values() for code in codes), cut


def read_log(database_url: str) -> tuple[int, list[int], int]:
    """The demo story's last_seq, its event seqs in order, and its number of entries."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            story_id, last_seq = connection.execute(
                select(Story.id, Story.last_seq).where(Story.slug == DEMO_SLUG)).one()
            seqs = connection.scalars(select(Event.seq).where(Event.story_id == story_id)
                                      .order_by(Event.seq)).all()
            entries = connection.scalar(select(func.count()).select_from(Entry)
                                        .where(Entry.story_id == story_id))
    finally:
        engine.dispose()
    return last_seq, list(seqs), entries


def save_record(path, drill: Drill) -> None:
    """Leave the drill's whole record beside the servers' logs, for whoever investigates."""
    path.write_text(json.dumps({
        "figures": drill.figures, "notes": drill.notes,
        "posts": [vars(post) for post in drill.writer.posts],
        "readers": [{"opens": r.opens, "closes": r.closes, "refusals": r.refusals}
                    for r in drill.crowd.readers]}))


def test_600_readers_on_two_servers_ride_out_five_faults(
        pair, redis_server, postgres, empty_database_url, tmp_path):
    """Every reader gets every seq once and in order through five faults, each recovered fast."""
    nodes, token = pair
    start, _, entries_before = read_log(empty_database_url)
    bases = [node.server.base for node in nodes]
    crowd = ReaderCrowd(bases, DEMO_SLUG, start, READERS)
    writer = SteadyWriter(bases, token, DEMO_SLUG, POSTS_PER_SECOND)
    drill = Drill(crowd, writer, nodes)
    began = time.monotonic()
    with ExitStack() as stack:  # its callbacks run last to first
        stack.callback(save_record, tmp_path / "drill.json", drill)
        stack.callback(crowd.stop)
        stack.callback(writer.stop)
        stack.callback(lambda: postgres.running or postgres.resume())
        crowd.start()
        writer.start()
        print(f"\n{READERS} readers on two servers ({crowd.on_server(0)} + {crowd.on_server(1)}),"
              f" {POSTS_PER_SECOND} posts/s; recovery = fault to every reader holding an entry "
              "posted after it:")
        # The first entry finds the servers still subscribing the last readers: not a figure.
        crowd.wait_caught_up(writer.first_post_after(time.monotonic(), WAIT).seq, 3 * WAIT)
        drill.recovered("no fault (delivery to every reader)", drill.begin(), time.monotonic())
        kill_a_worker(drill, nodes)
        kill_a_server(drill, nodes)
        stop_redis(drill, redis_server)
        restart_postgresql(drill, postgres)
        restart_gracefully(drill, nodes)
        writer.stop()
        assert writer.error is None, f"the writer failed: {writer.error!r}"
        crowd.wait_caught_up(max(post.seq for post in writer.posts), timeout=WAIT)
    print(f"  drill took {time.monotonic() - began:.0f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other work slows every figure)")
    assert_exact(drill, start, entries_before, read_log(empty_database_url))


def assert_exact(drill: Drill, start: int, entries_before: int, log: tuple) -> None:
    """Nothing lost, repeated or reordered; one entry per post; every recovery fast."""
    last_seq, seqs, entries_after = log
    posts = drill.writer.posts
    retried = [post for post in posts if post.attempts > 1]
    repeated = [post for post in posts if post.repeated]
    print(f"  {len(posts)} posts: {len(retried)} retried after a failed attempt "
          f"({sum(post.status == 200 for post in posts)} of them had committed), {len(repeated)} "
          "sent again after their answer")
    assert seqs == list(range(1, last_seq + 1)), "the event log has a gap or a repeat"
    # One entry per post, however many attempts it took.
    assert entries_after - entries_before == len(posts) == len({p.entry_id for p in posts})
    assert sorted(post.seq for post in posts) == list(range(start + 1, last_seq + 1))
    assert retried and repeated, "no post was retried: the Idempotency-Key was not tested"
    expected = list(range(start + 1, last_seq + 1))
    wrong = [reader for reader in drill.crowd.readers if reader.seqs != expected]
    assert not wrong, (f"{len(wrong)} readers lost, repeated or reordered frames; e.g. reader "
                       f"{wrong[0].index}: {wrong[0].seqs}")
    assert not [r.odd_frames for r in drill.crowd.readers if r.odd_frames]
    figures = "; ".join(f"{name}: {seconds:.2f} s"
                        for name, seconds in {**drill.figures, **drill.notes}.items())
    slow = {name: seconds for name, seconds in drill.figures.items() if seconds >= RECOVERY_LIMIT}
    assert not slow, f"recoveries over {RECOVERY_LIMIT} s: {slow} (all: {figures})"
    print(f"  figures: {figures}")
