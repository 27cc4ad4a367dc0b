"""Readers over time: samples of every process's readers, stored once per period, and the peak."""

from __future__ import annotations

import json
import os
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from urllib.request import Request, urlopen

import pytest
from redis.exceptions import RedisError
from servers import Gunicorn, seed
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.pool import NullPool
from test_audience import wait_for_readers
from test_live import ws_url
from websockets.sync.client import connect

from liveblog.analytics import audience, samples
from liveblog.analytics.samples import Sampler, period_start, record
from liveblog.config import normalise_database_url
from liveblog.extensions import db
from liveblog.metrics import OPEN_READERS_NAME
from liveblog.models import AudienceSample, Event, Role, Story
from liveblog.ops.demo import DEMO_SLUG

# The fixtures: redis_server, two_processes.
pytest_plugins = ["redis_support"]

PERIOD = 0.5  # seconds between samples in the two-process test
# A busy machine (two cores, the suite in parallel) runs a pass, or another process's report to
# Redis, a little late; within one period plus this, not more.
LATE = 0.25


def story_id(app, slug: str = "storm") -> int:
    """A story's id by its slug."""
    with app.app_context():
        return db.session.scalar(select(Story.id).filter_by(slug=slug))


def naive(moment: datetime) -> datetime:
    """A UTC time as the analytics functions give it back."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def test_periods_start_on_multiples_of_the_period():
    assert period_start(1_000_000_007.3, 10) == datetime.fromtimestamp(1_000_000_000, UTC)
    assert period_start(1_000_000_007.3, 0.5) == datetime.fromtimestamp(1_000_000_007, UTC)
    assert period_start(1_000_000_007.6, 0.5) == datetime.fromtimestamp(1_000_000_007.5, UTC)


def test_a_period_is_stored_once_and_a_zero_only_when_readers_leave(app, actions):
    actions.create_story()
    actions.create_story(slug="quiet")
    storm, quiet = story_id(app), story_id(app, "quiet")
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    at = [start + timedelta(seconds=10 * n) for n in range(4)]
    with app.app_context():
        assert record({storm: 3}, {}, at[0]) == 1
        # A second process with another count for the same period: its insert is a no-op.
        assert record({storm: 4}, {}, at[0]) == 0
        assert record({storm: 5}, {storm: 3}, at[1]) == 1
        assert record({}, {storm: 5}, at[2]) == 1  # the last reader left: one 0
        assert record({}, {}, at[3]) == 0  # nobody, before or now: nothing written
        assert record({999_999: 2}, {}, at[3]) == 0  # a story that is not there
        assert audience.readers_over_time(storm) == [
            (naive(at[0]), 3), (naive(at[1]), 5), (naive(at[2]), 0)]
        assert audience.readers_over_time(quiet) == []
        assert audience.peak(storm) == (5, naive(at[1]))
        assert audience.peak(quiet) == (0, None)


def test_samples_and_reach_go_with_their_story(app, actions):
    actions.create_story(slug="brief")
    brief = story_id(app, "brief")
    with app.app_context():
        record({brief: 2}, {}, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
        db.session.execute(delete(Event).where(Event.story_id == brief))
        db.session.execute(delete(Story).where(Story.id == brief))  # no path does it yet
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AudienceSample)) == 0


def test_with_redis_unreadable_no_sample_is_stored(app, actions, monkeypatch, caplog):
    actions.create_story()
    storm = story_id(app)
    sampler = Sampler(app)

    def unreachable():
        raise RedisError("Connection refused")

    monkeypatch.setattr(samples.audience, "reader_counts", unreachable)
    assert [sampler.sample(), sampler.sample()] == [0, 0]  # not this process's readers alone
    assert [line.message for line in caplog.records].count(
        "audience samples: redis unreachable (RedisError: Connection refused); retrying quietly"
        " until it is back") == 1
    monkeypatch.setattr(samples.audience, "reader_counts", lambda: {storm: 2})
    assert sampler.sample() == 1
    with app.app_context():
        assert [readers for _, readers in audience.readers_over_time(storm)] == [2]


def test_the_peak_is_the_first_time_the_highest_count_was_reached(app, actions):
    actions.create_story()
    storm = story_id(app)
    start = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with app.app_context():
        for n, readers in enumerate([2, 7, 4, 7, 1]):
            record({storm: readers}, {}, start + timedelta(seconds=10 * n))
        assert audience.peak(storm) == (7, naive(start + timedelta(seconds=10)))


def test_an_entry_reaches_the_readers_sampled_when_it_went_out(app, actions):
    app.config["AUDIENCE_SAMPLE_SECONDS"] = 10
    actions.create_story()
    storm = story_id(app)
    with app.app_context():
        record({storm: 9}, {}, datetime.now(UTC) - timedelta(seconds=100))  # long before
    early = actions.post_entry(body="<p>Nobody was sampled then</p>")["id"]
    with app.app_context():
        record({storm: 4}, {storm: 9}, datetime.now(UTC))
    entry = actions.post_entry(body="<p>While four read</p>")["id"]
    with app.app_context():
        record({storm: 6}, {storm: 4}, datetime.now(UTC) + timedelta(seconds=5))
        reach = audience.entry_reach(storm)
    assert reach == {early: {"connected": 0, "seen": 0}, entry: {"connected": 4, "seen": 0}}


def test_an_old_sample_says_nothing_of_a_later_entry(app, actions):
    app.config["AUDIENCE_SAMPLE_SECONDS"] = 1
    actions.create_story()
    storm = story_id(app)
    with app.app_context():
        record({storm: 9}, {}, datetime.now(UTC) - timedelta(seconds=60))  # nobody sampled since
    entry = actions.post_entry()["id"]
    with app.app_context():
        assert audience.entry_reach(storm) == {entry: {"connected": 0, "seen": 0}}


@pytest.fixture
def sampled(two_processes):
    """Two app processes on one Redis with a story, each sampling every PERIOD seconds."""
    (a, b), token = two_processes
    answer = a.app.test_client().post("/api/stories", json={"slug": "storm", "title": "Storm"},
                                      headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201
    samplers = []
    for process in (a, b):
        process.app.config["AUDIENCE_SAMPLE_SECONDS"] = PERIOD
        # Reports reach Redis within 0.2 s of a change: well inside one sample period.
        process.app.extensions["liveblog.audience"].interval = 0.2
        samplers.append(Sampler(process.app).start())
    yield a, b, story_id(a.app)
    for sampler in samplers:
        sampler.stop()
    for process in (a, b):
        process.app.extensions["liveblog.audience"].stop()


def follow_readers(open_reader, wait_held) -> list[tuple[float, int]]:
    """Open and close readers on two processes, holding each state for three sample periods.

    One reader on the first, two on the second (the peak: 3), then one and two closed.
    `open_reader(process)` gives a reader's connection; `wait_held(process, n)` waits until that
    process's hub holds n. The timeline: (when, readers connected in both) from each change on.
    """
    timeline = [(0.0, 0)]
    open_readers: list[list] = [[], []]  # per process

    def change(process: int, opened: int) -> None:
        for _ in range(abs(opened)):
            if opened > 0:
                reader = ExitStack()  # one per reader, to close them one by one
                reader.enter_context(open_reader(process))
                open_readers[process].append(reader)
            else:
                open_readers[process].pop().close()
            wait_held(process, len(open_readers[process]))
            timeline.append((time.time(), sum(len(held) for held in open_readers)))

    def hold() -> None:
        # Three sample periods in this state: a sample must see it, even one taken late.
        time.sleep(3 * PERIOD)  # the subject is time itself: samples taken while readers stay

    try:
        change(0, 1)
        hold()
        change(1, 2)  # the peak: 3
        hold()
        change(0, -1)
        hold()
        change(1, -2)
        hold()
    finally:
        for held in open_readers:
            for reader in held:
                reader.close()
    return timeline


def assert_samples_follow(timeline: list[tuple[float, int]], samples: list, top: tuple) -> None:
    """Each sample says what was connected within a period of it, every state held was
    sampled in order, one row per period, and the peak is 3 readers when the third came."""

    def connected_around(moment: float) -> set[int]:
        # The counts connected at any time within one sample period of the moment.
        counts = {readers for when, readers in timeline
                  if moment - PERIOD - LATE <= when <= moment + PERIOD + LATE}
        before = [readers for when, readers in timeline if when < moment - PERIOD - LATE]
        return counts | set(before[-1:])

    assert samples, "nothing was sampled"
    for taken_at, readers in samples:
        moment = taken_at.replace(tzinfo=UTC).timestamp()
        assert readers in connected_around(moment), (taken_at, readers, timeline, samples)
    # Every state held for a while was sampled, in order; the last sample is the 0.
    values = [readers for _, readers in samples]
    changes = iter(values)  # in order, and a sample may catch a moment between two readers
    assert all(state in changes for state in (1, 3, 2, 0)) and values[-1] == 0, values
    # At most one row per period, however many processes sampled it, named by its start.
    times = [taken_at.replace(tzinfo=UTC).timestamp() for taken_at, _ in samples]
    assert len(set(times)) == len(times)
    assert all(round(moment * 1000) % round(PERIOD * 1000) == 0 for moment in times)
    # While anyone read, a row every period (a late pass may miss one on a busy machine).
    assert len(times) >= 0.8 * (times[-1] - times[0]) / PERIOD
    peak_readers, peak_at = top
    assert peak_readers == 3
    reached = timeline[3][0]  # when the third reader was connected
    assert abs(peak_at.replace(tzinfo=UTC).timestamp() - reached) <= PERIOD + LATE


def test_samples_of_two_processes_match_the_readers_connected(sampled):
    a, b, storm = sampled
    processes = (a, b)
    timeline = follow_readers(
        lambda process: connect(ws_url(processes[process].url)),
        lambda process, count: wait_for_readers(
            processes[process].app.extensions["liveblog.hub"], storm, count))
    with a.app.app_context():
        samples = audience.readers_over_time(storm)
        top = audience.peak(storm)
    assert_samples_follow(timeline, samples, top)


def readers_held(base: str, story: int) -> int:
    """The readers of a story a server's workers hold, as its /metrics page says."""
    with urlopen(f"{base}/metrics", timeout=5) as answer:
        body = answer.read().decode()
    return round(sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                     if line.startswith(OPEN_READERS_NAME + "{") and f'story="{story}"' in line))


def wait_until_held(base: str, story: int, count: int) -> None:
    """Wait (bounded) until a server's workers hold `count` readers of the story."""
    deadline = time.monotonic() + 15
    while readers_held(base, story) != count:
        assert time.monotonic() < deadline, f"{base} never held {count} readers"
        time.sleep(0.02)  # another process subscribes them: nothing to await


# One engine: the subject is separate server processes sampling together, not the database.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_two_server_processes_sample_the_readers_connected(tmp_path, redis_server,
                                                           empty_database_url):
    # Two gunicorn masters, one gevent worker each, on one database and one Redis: the readers
    # each process holds are known exactly, which workers of one master would not tell us.
    env = {name: value for name, value in os.environ.items()
           if name not in ("PROMETHEUS_MULTIPROC_DIR", "LIVEBLOG_NODE")}
    env.update({"LIVEBLOG_INSTANCE": str(tmp_path / "instance"),
                "DATABASE_URL": empty_database_url, "REDIS_URL": redis_server.url,
                "AUDIENCE_SAMPLE_SECONDS": str(PERIOD), "AUDIENCE_REPORT_SECONDS": "0.2"})
    token = seed(env)
    engine = create_engine(normalise_database_url(empty_database_url), poolclass=NullPool)
    with engine.begin() as connection:
        storm = connection.scalar(text("SELECT id FROM stories WHERE slug = :slug"),
                                  {"slug": DEMO_SLUG})
        # The numbers are read as editors read them, through the stats API, which is admins'.
        connection.execute(text("UPDATE users SET role = :admin"), {"admin": Role.ADMIN.value})
    engine.dispose()
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    with Gunicorn(env, str(logs[0])) as first, Gunicorn(env, str(logs[1])) as second:
        servers = (first, second)
        timeline = follow_readers(
            lambda process: connect(ws_url(servers[process].base, DEMO_SLUG)),
            lambda process, count: wait_until_held(servers[process].base, storm, count))
        asked = Request(f"{first.base}/api/stories/{DEMO_SLUG}/stats",
                        headers={"Authorization": f"Bearer {token}"})
        with urlopen(asked, timeout=10) as answer:
            stats = json.load(answer)
    samples = [(datetime.fromisoformat(sample["at"]), sample["readers"])
               for sample in stats["readers"]]
    top = (stats["peak"]["readers"], datetime.fromisoformat(stats["peak"]["at"]))
    assert_samples_follow(timeline, samples, top)
    for log in logs:
        assert "Traceback" not in log.read_text()
