"""Open readers per story across every process, for the desk.

With Redis, each process with readers writes its per-story counts to a hash of its own within
half a second of a change, and every few seconds anyway, with a TTL of three periods, so the hash
of a process that died vanishes by itself; the desk adds up every live process's hash. Without
Redis but with per-process metric files (several gunicorn workers on one machine), it adds up the
workers' open-readers gauge. Otherwise this process's hub holds every reader there is.

A stopping process withdraws its count at once (`withdraw`, from its SIGTERM handler), and the
gunicorn master withdraws that of a worker that died (`withdraw_worker`): otherwise the readers it
sent away would be counted twice, there and where they reconnected, until the TTL ran out.
"""

from __future__ import annotations

import glob
import logging
import os
import time
import uuid

import redis
from flask import Flask, current_app
from prometheus_client import multiprocess
from redis.exceptions import RedisError

from liveblog import metrics
from liveblog.background import Loop
from liveblog.live.hub import Hub
from liveblog.outages import Outage

log = logging.getLogger(__name__)

PROCESSES = "liveblog:audience"  # a set of the keys below, one per process that reported
KEY = "liveblog:audience:{}"  # a hash: story id -> open readers in that process
# Set by gunicorn_conf.py in the master, so it can name its workers' keys: node:pid:random.
NODE = "LIVEBLOG_NODE"
CHECK_SECONDS = 0.5  # how often a process compares its counts with the ones it last wrote


def init_app(app: Flask, hub: Hub) -> None:
    """Have the hub report its readers to Redis when REDIS_URL is set."""
    url = app.config.get("REDIS_URL")
    if url:
        hub.audience = Reporter(hub, url, app.config["AUDIENCE_REPORT_SECONDS"])
        app.extensions["liveblog.audience"] = hub.audience


def reader_count(story_id: int) -> int:
    """Open readers of a story in every process this one can see."""
    hub: Hub = current_app.extensions["liveblog.hub"]
    reporter: Reporter | None = current_app.extensions.get("liveblog.audience")
    if reporter is not None:
        try:
            return hub.reader_count(story_id) + reporter.others(story_id)
        except RedisError:
            log.warning("Redis unreachable; the desk shows this process's readers only")
    elif metrics.multiprocess_dir():
        return gauge_sum(metrics.multiprocess_dir(), story_id)
    return hub.reader_count(story_id)


def reader_counts() -> dict[int, int]:
    """Open readers per story in every process this one can see; stories with none left out.

    Unlike reader_count, a Redis that cannot be read is an error here: a sample of this
    process's readers alone would be stored as the story's audience.
    """
    hub: Hub = current_app.extensions["liveblog.hub"]
    reporter: Reporter | None = current_app.extensions.get("liveblog.audience")
    if reporter is not None:
        counts = reporter.all_others()
    elif metrics.multiprocess_dir():
        return gauge_sums(metrics.multiprocess_dir())
    else:
        counts = {}
    for story in hub.read_stories():
        counts[story] = counts.get(story, 0) + hub.reader_count(story)
    return {story: count for story, count in counts.items() if count > 0}


def withdraw(app: Flask) -> None:
    """Take this stopping process's readers out of the desk's count."""
    reporter: Reporter | None = app.extensions.get("liveblog.audience")
    if reporter is not None:
        reporter.stop()
    elif metrics.multiprocess_dir():
        # Its readers are being sent away; the ones still leaving are not the desk's news.
        multiprocess.mark_process_dead(os.getpid())


def withdraw_worker(url: str, pid: int) -> int:
    """In the gunicorn master: withdraw the counts of a worker that is gone; return how many."""
    prefix = KEY.format(f"{os.environ.get(NODE, '')}:{pid}:")
    # Short timeouts: the master reaps and replaces workers meanwhile.
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        keys = [key for key in client.smembers(PROCESSES) if key.decode().startswith(prefix)]
        if keys:
            client.srem(PROCESSES, *keys)
            client.delete(*keys)
        return len(keys)
    except RedisError as error:
        log.warning("could not withdraw worker %s's readers from Redis (%s); they expire by "
                    "themselves", pid, error)
        return 0
    finally:
        client.close()


def gauge_sum(path: str, story_id: int) -> int:
    """The open-readers gauge of one story, added up over the live processes' metric files."""
    return gauge_sums(path).get(story_id, 0)


def gauge_sums(path: str) -> dict[int, int]:
    """The open-readers gauge of every story, added up over the live processes' metric files."""
    files = glob.glob(os.path.join(path, "gauge_livesum_*.db"))
    counts: dict[int, int] = {}
    for metric in multiprocess.MultiProcessCollector.merge(files, accumulate=False):
        if metric.name == metrics.OPEN_READERS_NAME:
            for sample in metric.samples:
                story = int(sample.labels["story"])
                counts[story] = counts.get(story, 0) + int(sample.value)
    return {story: count for story, count in counts.items() if count > 0}


class Reporter:
    """Writes this process's open readers per story to Redis while it has, or had, readers."""

    def __init__(self, hub: Hub, url: str, interval: float):
        self.hub = hub
        self.interval = interval
        # The master can name it by node and pid; the random part tells apart two apps in one
        # process (tests) and processes of two machines whose node was not set.
        self.key = KEY.format(f"{os.environ.get(NODE, '')}:{os.getpid()}:{uuid.uuid4().hex}")
        self.client = redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=2.0)
        # Counts are compared often and written when they change (a restart moves every reader
        # at once; the desk should see it in a second, not a period), and every period anyway
        # so the TTL does not run out. A Redis that is down fails every write: one line when it
        # goes, one when it is back.
        self._loop = Loop("liveblog-audience", self._report_if_changed,
                          lambda: min(self.interval, CHECK_SECONDS),
                          outage=Outage("audience", "redis", log))
        self._written: dict[int, int] | None = None  # the counts now in Redis, if known
        self._due = 0.0  # monotonic time by which to write them again anyway

    def start(self) -> None:
        """Start reporting, once; called whenever a reader subscribes."""
        self._loop.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop reporting and withdraw this process's counts (shutdown)."""
        self._loop.stop(timeout)
        try:
            self.client.srem(PROCESSES, self.key)
            self.client.delete(self.key)
        except RedisError:
            pass  # the TTL withdraws them anyway
        self.client.close()

    def counts(self) -> dict[int, int]:
        """This process's open readers per story, now."""
        return {story: self.hub.reader_count(story) for story in self.hub.read_stories()}

    def report(self, counts: dict[int, int] | None = None) -> None:
        """Write this process's current counts, replacing the last ones."""
        counts = self.counts() if counts is None else counts
        pipe = self.client.pipeline()
        pipe.delete(self.key)
        if counts:
            pipe.hset(self.key, mapping=counts)
            pipe.pexpire(self.key, round(3000 * self.interval))
            pipe.sadd(PROCESSES, self.key)
        else:
            pipe.srem(PROCESSES, self.key)
        pipe.execute()

    def others(self, story_id: int) -> int:
        """Open readers of a story in the other processes, as last reported."""
        keys = [key.decode() for key in self.client.smembers(PROCESSES)]
        keys = [key for key in keys if key != self.key]  # this process counts itself live
        if not keys:
            return 0
        pipe = self.client.pipeline()
        for key in keys:
            pipe.exists(key)
            pipe.hget(key, str(story_id))
        answers = pipe.execute()
        gone = [key for key, alive in zip(keys, answers[::2], strict=True) if not alive]
        if gone:
            self.client.srem(PROCESSES, *gone)  # expired: a process that stopped reporting
        return sum(int(count) for count in answers[1::2] if count is not None)

    def all_others(self) -> dict[int, int]:
        """Open readers per story in the other processes, as last reported."""
        keys = [key.decode() for key in self.client.smembers(PROCESSES)]
        keys = [key for key in keys if key != self.key]
        if not keys:
            return {}
        pipe = self.client.pipeline()
        for key in keys:
            pipe.hgetall(key)
        counts: dict[int, int] = {}
        for report in pipe.execute():  # an expired key reads as an empty hash: counts nothing
            for story, count in report.items():
                counts[int(story)] = counts.get(int(story), 0) + int(count)
        return counts

    def _report_if_changed(self) -> None:
        counts = self.counts()
        if counts == self._written and time.monotonic() < self._due:
            return
        self._written = None  # unknown until the write succeeds: the next check tries again
        self.report(counts)
        self._written, self._due = counts, time.monotonic() + self.interval
