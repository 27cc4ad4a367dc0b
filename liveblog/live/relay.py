"""Redis fan-out: every process hears every committed frame; without Redis, it reads the log.

Publishing sends one PUBLISH per event, from a sender loop, so a request never waits on Redis
(a background loop's timed frame is PUBLISHed from its own thread: publish_here); a frame whose
PUBLISH fails goes to this process's own hub at once. Each process with readers runs a listener
loop that delivers what it hears to its readers itself, through the hub, which keeps per-story
order and fills gaps from the event log. The log stays the source of truth: after each
(re)subscription, every `check_interval` while subscribed (so an event whose PUBLISH failed in
another process still comes), and every `poll_interval` while Redis is unreachable, the relay
reads from it the newest event of each story read here that the hub has not delivered yet.
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
from liveblog.background import Loop
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
        self.subscribed = threading.Event()  # set, once caught up, while Redis brings frames
        self._outbox: queue.SimpleQueue[Frame | None] = queue.SimpleQueue()
        self._listener = Loop("liveblog-relay", self._listen_once,
                              lambda: min(self.retry_interval, self.poll_interval))
        # Short waits, so a changed interval and a stop take effect soon.
        self._checker = Loop("liveblog-relay-check", self._check,
                             lambda: min(0.5, self.check_interval))
        self._sender = Loop("liveblog-relay-send", self._send_next,
                            unblock=lambda: self._outbox.put(None))
        self._last_poll = -math.inf  # the first failure reads the log at once
        self._last_check = time.monotonic()
        self._publish_failing = False
        self._outage = False
        # Reads of the log fail every second while the database is down: logged once each way.
        self.database = Outage("relay", "database", log)

    def start(self) -> None:
        """Start listening and checking, once; called whenever a reader subscribes."""
        self._listener.start()
        self._checker.start()

    def publish(self, frame: Frame) -> None:
        """Queue a committed frame for Redis; never blocks the request that committed it."""
        self._sender.start()
        self._outbox.put(frame)

    def publish_here(self, frame: Frame) -> None:
        """PUBLISH a committed frame from the caller's thread (a background loop's, which may
        wait on Redis); if that fails, this process's readers get it at once all the same."""
        self._publish(frame, fallback=self.hub.deliver_here)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the three loops, each within `timeout`, and close the connections."""
        for loop in (self._listener, self._checker, self._sender):
            loop.stop(timeout)
        self.client.close()

    def catch_up(self) -> int:
        """Hand the hub the newest event of each story followed here that it has not delivered.

        The newest event is enough: the hub fills any gap before it from the log. Stories with
        a ring but no reader left count too: their rings must miss nothing.
        """
        stories = self.hub.tracked_stories()
        try:
            frames = self._newest_undelivered(stories) if stories else []
        except SQLAlchemyError as error:
            self.database.failed(error)
            raise
        self.database.worked()
        for frame in frames:
            self.hub.accept(frame)
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

    def _send_next(self) -> None:
        frame = self._outbox.get()
        if frame is None:
            return  # put there by stop()
        self._publish(frame, fallback=self.hub.accept)

    def _publish(self, frame: Frame, fallback) -> None:
        # On failure this process's readers need not wait for anything (`fallback` hands the
        # frame to the hub); other processes read it from the log.
        try:
            self.client.publish(self.channel, _message(frame))
            self._publish_failing = False
        except RedisError as error:
            metrics.REDIS_PUBLISH_FAILURES.inc()
            if not self._publish_failing:
                log.warning("Redis PUBLISH failed (%s); other processes will read the "
                            "event log", error)
            self._publish_failing = True
            fallback(frame)

    def _listen_once(self) -> None:
        # Relays frames until Redis fails or the relay stops; the log is read meanwhile. A bad
        # message ends this pass too (the loop logs it), and the next one resubscribes.
        try:
            self._listen()
        except RedisError as error:
            self._fall_back(error)
        except SQLAlchemyError:
            pass  # the catch-up failed: counted and logged once per outage, resubscribe
        if not self._listener.stopping and time.monotonic() - self._last_poll >= self.poll_interval:
            self._last_poll = time.monotonic()
            self._poll()

    def _check(self) -> None:
        if not self.subscribed.is_set():  # the listener reads the log itself meanwhile
            self._last_check = time.monotonic()
            return
        if time.monotonic() - self._last_check < self.check_interval:
            return
        self._last_check = time.monotonic()
        try:
            self.catch_up()
        except SQLAlchemyError:
            pass  # counted and logged once per outage by catch_up; next time

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
            self.catch_up()
            # Only now: what is committed from here on comes through the channel, not the log.
            self.subscribed.set()
            while not self._listener.stopping:
                message = pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    self._receive(message["data"])
        finally:
            self.subscribed.clear()  # before the outage is counted and logged
            pubsub.close()

    def _receive(self, data: bytes) -> None:
        message = json.loads(data)
        metrics.REDIS_FRAMES_RECEIVED.inc()
        # Delivered by this thread, not handed to the hub's: one wait fewer for a turn of a
        # busy gevent loop between Redis and the readers. A message from a process still on
        # the older format carries no commit time: 0.
        self.hub.deliver_here(Frame(message["story_id"], message["seq"], message["text"],
                                    committed_at=message.get("committed_at", 0.0)))

    def _fall_back(self, error: Exception) -> None:
        if not self._outage:
            # Once per outage; retries while Redis stays down are not news.
            self._outage = True
            metrics.REDIS_FALLBACKS.inc()
            log.warning("Redis unreachable (%s); reading new events from the database every "
                        "%.1f s until it is back", error, self.poll_interval)

    def _poll(self) -> None:
        try:
            self.catch_up()
            metrics.REDIS_POLLS.inc()
        except SQLAlchemyError:
            pass  # the database is down too: counted and logged once per outage; next time


def _message(frame: Frame) -> str:
    return json.dumps({"story_id": frame.story_id, "seq": frame.seq, "text": frame.text,
                       "committed_at": frame.committed_at}, separators=(",", ":"))
