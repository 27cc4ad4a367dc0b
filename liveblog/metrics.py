"""Prometheus metrics: what the engine counts, the calls that count it, and the /metrics page.

Under gunicorn every worker is its own process, so `gunicorn_conf.py` sets PROMETHEUS_MULTIPROC_DIR
before any worker imports this module; prometheus-client then keeps each value in a per-process
file and a scrape of any worker adds up every worker's files. Without it (one process, tests) the
ordinary in-memory registry is used.

Open readers are counted per story, and a story's series goes with its last reader: removed from
the in-memory registry, and left out of the scrape in multiprocess mode (where a worker's file
cannot forget a series), so Prometheus only ever holds series for stories being read.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

bp = Blueprint("metrics", __name__)

# Loopback and the private ranges of RFC 1918 and RFC 4193: where a scraper inside the newsroom's
# network lives. Spelled out because ipaddress's is_private also takes in documentation ranges.
TRUSTED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"))

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


def _registry() -> CollectorRegistry:
    path = multiprocess_dir()
    if path is None:
        return REGISTRY
    # A fresh registry per scrape, as prometheus-client asks: it reads every worker's files.
    registry = CollectorRegistry()
    registry.register(_WithoutIdleStories(path))
    return registry


class _WithoutIdleStories:
    """Every worker's metrics from their files, less the open readers of unread stories.

    prometheus-client cannot delete a series from a worker's file, which keeps one entry per
    story the worker ever served; a story read by nobody now is left out of the scrape, so
    Prometheus holds series only for stories with readers.
    """

    def __init__(self, path: str):
        self._files = multiprocess.MultiProcessCollector(None, path=path)

    def collect(self):
        """The merged metrics, with zero-reader story series dropped."""
        for metric in self._files.collect():
            if metric.name == OPEN_READERS_NAME:
                metric.samples = [sample for sample in metric.samples if sample.value]
            yield metric


def _trusted_network() -> bool:
    # Behind a proxy the app does not trust (TRUSTED_PROXIES=0) the peer is the proxy itself, so
    # a forwarded request proves nothing about the client: only the token lets it in.
    forwarded = any(name in request.headers for name in ("X-Forwarded-For", "X-Real-IP",
                                                         "Forwarded"))
    if forwarded and not current_app.config.get("TRUSTED_PROXIES"):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in TRUSTED_NETWORKS)


def _has_token() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@bp.get("/metrics")
def scrape():
    """The metrics in Prometheus's text format, for loopback, private networks or the token."""
    if not (_has_token() or _trusted_network()):
        abort(403)
    response = Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response
