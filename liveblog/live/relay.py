"""Redis fan-out: every process hears every committed frame; without Redis, it reads the log.

Publishing sends one PUBLISH per event; each process's one subscriber thread (a greenlet under
gevent) hands what it hears to its hub, which keeps per-story order and fills gaps from the event
log. The log stays the source of truth: after (re)subscribing, and every `poll_interval` while
Redis is unreachable, the relay reads from it whatever the hub has not yet delivered.
"""

from __future__ import annotations

import json
import logging
import math
import os
import queue
import threading
import time

import redis
from flask import Flask
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from liveblog import metrics
from liveblog.extensions import db
from liveblog.live.hub import Frame, Hub
from liveblog.models import Story
from liveblog.outages import Outage
from liveblog.queries import events_after

log = logging.getLogger(__name__)

CHANNEL = "liveblog:events"
# While subscribed, how often each process with readers compares its stories' last_seq in the
# database with what its hub delivered. A PUBLISH that failed (the publisher lost Redis while
# this process did not) is otherwise seen only at the story's next event, which may never come.
CHECK_INTERVAL = 2.0


def init_app(app: Flask, hub: Hub) -> None:
    """Link the hub to the other processes through Redis when REDIS_URL is set."""
    app.config.setdefault("REDIS_URL", os.environ.get("REDIS_URL") or None)
    url = app.config["REDIS_URL"]
    if url:
        hub.relay = Relay(app, hub, url)
        app.extensions["liveblog.relay"] = hub.relay


class Relay:
    """Carries committed frames between processes through one Redis channel."""

    def __init__(self, app: Flask, hub: Hub, url: str, channel: str = CHANNEL,
                 poll_interval: float = 1.0, retry_interval: float = 1.0,
                 check_interval: float = CHECK_INTERVAL):
        self.app = app
        self.hub = hub
        self.channel = channel
        self.poll_interval = poll_interval  # how often to read the log while Redis is down
        self.check_interval = check_interval  # how often to check the log while it is up
        self.retry_interval = retry_interval  # how often to try Redis again
        # No retries inside redis-py: a failure must reach us at once, so publishing never
        # stalls and the subscriber catches up from the log after every reconnection.
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=5.0, retry=Retry(NoBackoff(), 0))
        self.subscribed = threading.Event()  # set while frames arrive through Redis
        self.caught_up = threading.Event()  # set after each read of the log, for tests to await
        self.fallbacks = 0  # outages that sent this process to polling the log
        self.publish_failures = 0
        self.received = 0  # frames heard through Redis
        self.polls = 0  # passes over the log while Redis was down
        self.checks = 0  # checks of the log while subscribed
        self._outbox: queue.SimpleQueue[Frame | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._checker: threading.Thread | None = None
        self._sender: threading.Thread | None = None
        self._publish_failing = False
        self._outage = False
        # Reads of the log fail every second while the database is down: logged once each way.
        self.database = Outage("relay", "database", log)

    @property
    def polling(self) -> bool:
        """Whether readers here are being fed from the log because Redis is unreachable."""
        return self._listener is not None and not self.subscribed.is_set()

    def start(self) -> None:
        """Start the subscriber thread once; called when the first reader subscribes."""
        if self._listener is None:
            with self._lock:
                if self._listener is None:
                    self._checker = threading.Thread(
                        target=self._check_forever, name="liveblog-relay-check", daemon=True)
                    self._checker.start()
                    self._listener = threading.Thread(
                        target=self._listen_forever, name="liveblog-relay", daemon=True)
                    self._listener.start()

    def publish(self, frame: Frame) -> None:
        """Queue a committed frame for Redis; never blocks the request that committed it."""
        if self._sender is None:
            with self._lock:
                if self._sender is None:
                    self._sender = threading.Thread(
                        target=self._send_forever, name="liveblog-relay-send", daemon=True)
                    self._sender.start()
        self._outbox.put(frame)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads and close the connections (tests, shutdown)."""
        self._stop.set()
        self._outbox.put(None)
        for thread in (self._listener, self._checker, self._sender):
            if thread is not None:
                thread.join(timeout)
        self.client.close()

    def catch_up(self) -> int:
        """Hand the hub the newest event of each story read here that it has not delivered.

        The newest event is enough: the hub fills any gap before it from the log.
        """
        stories = self.hub.read_stories()
        try:
            frames = self._newest_undelivered(stories) if stories else []
        except SQLAlchemyError as error:
            self.database.failed(error)
            raise
        self.database.worked()
        for frame in frames:
            self.hub.accept(frame)
        self.caught_up.set()
        return len(frames)

    def _newest_undelivered(self, stories: list[int]) -> list[Frame]:
        frames = []
        with self.app.app_context():
            try:
                query = select(Story.id, Story.last_seq).where(Story.id.in_(stories))
                for story_id, last_seq in db.session.execute(query).all():
                    delivered = self.hub.last_seq(story_id)
                    # For a story the hub is not tracking yet, the newest event is enough too:
                    # its readers replayed the log on arrival and fill any hole before it.
                    if last_seq > (last_seq - 1 if delivered is None else delivered):
                        rows = events_after(story_id, last_seq - 1, 1)
                        frames.extend(Frame(story_id, row.seq, row.payload) for row in rows)
            finally:
                db.session.remove()
        return frames

    def _send_forever(self) -> None:
        while (frame := self._outbox.get()) is not None:
            message = json.dumps({"story_id": frame.story_id, "seq": frame.seq,
                                  "text": frame.text, "committed_at": frame.committed_at},
                                 separators=(",", ":"))
            try:
                self.client.publish(self.channel, message)
                self._publish_failing = False
            except RedisError as error:
                self.publish_failures += 1
                metrics.REDIS_PUBLISH_FAILURES.inc()
                if not self._publish_failing:
                    log.warning("Redis PUBLISH failed (%s); other processes will read the "
                                "event log", error)
                self._publish_failing = True
                self.hub.accept(frame)  # this process's readers need not wait for a poll

    def _listen_forever(self) -> None:
        last_poll = -math.inf
        while not self._stop.is_set():
            try:
                self._listen()
            except RedisError as error:
                self._fall_back(error)
            except SQLAlchemyError:
                pass  # the catch-up failed: counted and logged once per outage, resubscribe
            except Exception:  # a bad message must not end fan-out
                log.exception("Redis relay failed; resubscribing")
            self.subscribed.clear()
            if self._stop.is_set():
                return
            if time.monotonic() - last_poll >= self.poll_interval:
                last_poll = time.monotonic()
                self._poll()
            self._stop.wait(min(self.retry_interval, self.poll_interval))

    def _check_forever(self) -> None:
        last_check = time.monotonic()
        # Short waits, so a changed interval and a stop take effect soon.
        while not self._stop.wait(min(0.5, self.check_interval)):
            if not self.subscribed.is_set():  # the listener reads the log itself meanwhile
                last_check = time.monotonic()
                continue
            if time.monotonic() - last_check < self.check_interval:
                continue
            last_check = time.monotonic()
            try:
                self.catch_up()
                self.checks += 1
            except SQLAlchemyError:
                pass  # counted and logged once per outage by catch_up; next time
            except Exception:  # a defect, but the next check must still come
                log.exception("checking the event log failed")

    def _listen(self) -> None:
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            # Catch up only once Redis confirms the subscription: an event committed after the
            # read below is then certain to come through the channel.
            confirmation = pubsub.get_message(timeout=self.retry_interval + 1.0)
            if confirmation is None or confirmation["type"] != "subscribe":
                raise redis.ConnectionError("no confirmation of SUBSCRIBE")
            if self._outage:
                log.warning("Redis is back; relaying live events through it again")
                self._outage = False
            self.subscribed.set()
            self.catch_up()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    self._receive(message["data"])
        finally:
            pubsub.close()

    def _receive(self, data: bytes) -> None:
        message = json.loads(data)
        self.received += 1
        metrics.REDIS_FRAMES_RECEIVED.inc()
        # A message from a process still on the older format carries no commit time: 0.
        self.hub.accept(Frame(message["story_id"], message["seq"], message["text"],
                              committed_at=message.get("committed_at", 0.0)))

    def _fall_back(self, error: Exception) -> None:
        if not self._outage:
            # Once per outage; retries while Redis stays down are not news.
            self._outage = True
            self.fallbacks += 1
            metrics.REDIS_FALLBACKS.inc()
            log.warning("Redis unreachable (%s); reading new events from the database every "
                        "%.1f s until it is back", error, self.poll_interval)

    def _poll(self) -> None:
        try:
            self.catch_up()
            self.polls += 1
            metrics.REDIS_POLLS.inc()
        except SQLAlchemyError:
            pass  # the database is down too: counted and logged once per outage; next time
        except Exception:  # anything else is a defect, but must not end the fallback
            log.exception("reading new events from the database failed")
