"""Prometheus metrics: what the engine counts and the calls that count it.

ops/prometheus.py serves them at /metrics.

Under gunicorn every worker is its own process, so `gunicorn_conf.py` sets PROMETHEUS_MULTIPROC_DIR
before any worker imports this module; prometheus-client then keeps each value in a per-process
file and a scrape of any worker adds up every worker's files. Without it (one process, tests) the
ordinary in-memory registry is used.

Open readers are counted per story, and a story's series goes with its last reader: removed from
the in-memory registry, and left out of the scrape in multiprocess mode (where a worker's file
cannot forget a series), so Prometheus only ever holds series for stories being read.
"""

from __future__ import annotations

import os
import time

from prometheus_client import Counter, Gauge, Histogram

# Labelled by story id, not slug: the id is what the hub knows, it never changes (a renamed slug
# would split one connection's +1 and -1 across two series), and it keeps the label short.
OPEN_READERS_NAME = "liveblog_open_readers"
OPEN_READERS = Gauge(
    OPEN_READERS_NAME, "WebSocket readers connected, per story.", ["story"],
    multiprocess_mode="livesum")
CONNECTS = Counter("liveblog_websocket_connects", "Readers subscribed to a story's live frames.")
DISCONNECTS = Counter(
    "liveblog_websocket_disconnects",
    "Live sockets closed, by close code (1006: dropped without one), refusals after the "
    "handshake included.", ["code"])
# The codes a reader's socket ends with, named in the label; any other is counted as "other",
# so a client choosing codes cannot create series.
CLOSE_CODES = frozenset({1000, 1001, 1005, 1006, 1008, 1009, 1011, 1012, 1013, 4404, 4410})
SLOW_READERS_DROPPED = Counter(
    "liveblog_slow_readers_dropped", "Readers cut off because their queue of frames overflowed.")
EVENTS_PUBLISHED = Counter(
    "liveblog_events_published", "Committed events handed to the hub, by event type.", ["type"])
DELIVERY_LATENCY = Histogram(
    "liveblog_delivery_latency_seconds",
    "From the commit to the hub having handed the frame to every reader of this process.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
REDIS_FALLBACKS = Counter(
    "liveblog_redis_fallbacks", "Redis outages that sent this process to reading the event log.")
REDIS_PUBLISH_FAILURES = Counter(
    "liveblog_redis_publish_failures", "Frames whose Redis PUBLISH failed (delivered locally).")
REDIS_FRAMES_RECEIVED = Counter(
    "liveblog_redis_frames_received", "Frames heard from other processes through Redis.")
REDIS_POLLS = Counter(
    "liveblog_redis_polls", "Reads of the event log while Redis was unreachable.")
# Per process; a scrape shows the lowest, so one process that cannot reach it shows as down.
DEPENDENCY_UP = Gauge(
    "liveblog_dependency_up", "1 if the dependency answered the last attempt to use it, else 0.",
    ["dependency"], multiprocess_mode="livemin")
DEPENDENCY_FAILURES = Counter(
    "liveblog_dependency_failures",
    "Failed attempts to use a dependency, by the component that tried (liveblog/outages.py).",
    ["component", "dependency"])


def reader_opened(story_id: int) -> None:
    """Count a reader that subscribed to a story."""
    CONNECTS.inc()
    OPEN_READERS.labels(str(story_id)).inc()


def reader_closed(story_id: int, last: bool = False) -> None:
    """Count a reader that unsubscribed from a story; `last` if the story has none left here."""
    OPEN_READERS.labels(str(story_id)).dec()
    if last and multiprocess_dir() is None:
        # A story nobody reads has no series: months of stories would otherwise all stay.
        # In files (several workers) a series cannot be deleted; the scrape hides it instead.
        OPEN_READERS.remove(str(story_id))


def socket_closed(code: int) -> None:
    """Count a live socket that ended, by its close code."""
    DISCONNECTS.labels(str(code) if code in CLOSE_CODES else "other").inc()


def dependency_up(dependency: str, up: bool) -> None:
    """Record whether a dependency answered the last attempt to use it."""
    DEPENDENCY_UP.labels(dependency).set(1 if up else 0)


def dependency_failed(component: str, dependency: str) -> None:
    """Count one failed attempt of a component to use a dependency."""
    DEPENDENCY_FAILURES.labels(component, dependency).inc()


def slow_reader_dropped() -> None:
    """Count a reader cut off for falling too far behind."""
    SLOW_READERS_DROPPED.inc()


def events_published(event_types: list[str]) -> None:
    """Count committed events by type."""
    for event_type in event_types:
        EVENTS_PUBLISHED.labels(event_type).inc()


def frame_delivered(committed_at: float) -> None:
    """Observe one frame's commit-to-handover time; 0 means unknown (read from the log)."""
    if committed_at:
        # Clocks of two machines may disagree by a little: never observe a negative latency.
        DELIVERY_LATENCY.observe(max(0.0, time.time() - committed_at))


def multiprocess_dir() -> str | None:
    """The directory of per-process metric files, when several processes share the metrics."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
