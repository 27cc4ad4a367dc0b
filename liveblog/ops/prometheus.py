"""The /metrics page: every worker's metrics in Prometheus's text format, for trusted scrapers."""

from __future__ import annotations

import glob
import hmac
import ipaddress
import os

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from liveblog.metrics import OPEN_READERS_NAME, multiprocess_dir

bp = Blueprint("metrics", __name__)

# Loopback and the private ranges of RFC 1918 and RFC 4193: where a scraper inside the newsroom's
# network lives. Spelled out because ipaddress's is_private also takes in documentation ranges.
TRUSTED_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7"))


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
        self._path = path

    def collect(self):
        """The merged metrics, with zero-reader story series dropped."""
        merged = multiprocess.MultiProcessCollector.merge(self._written_files(), accumulate=True)
        for metric in merged:
            if metric.name == OPEN_READERS_NAME:
                metric.samples = [sample for sample in metric.samples if sample.value]
            yield metric

    def _written_files(self) -> list[str]:
        # prometheus-client creates a worker's file before it sizes it (client_python#1199):
        # caught in between, its empty file failed the whole scrape. It holds nothing yet.
        files = []
        for path in glob.glob(os.path.join(self._path, "*.db")):
            try:
                if os.path.getsize(path):
                    files.append(path)
            except FileNotFoundError:  # a dead worker's gauges, removed meanwhile
                pass
        return files


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
