"""Health checks for load balancers and orchestrators: alive, and ready to serve.

Readiness says whether this process can serve, not whether everything it depends on is well.
The database and Redis are shared by every node: an outage of either would make every node
unready at once, and a load balancer that follows readiness would turn a degraded service (the
pages and readers it can still serve) into none at all. So each dependency is reported in the
answer, in `liveblog_dependency_up` and in one log line per change (liveblog/outages.py), and
only a stopping process says 503 (docs/deploy.md, "Readiness").
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from liveblog.extensions import db
from liveblog.live import shutdown
from liveblog.outages import Outage

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    """The process answers: keep it running."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready unless stopping; each dependency's state is reported beside the answer."""
    if shutdown.stopping(current_app):
        response = jsonify(status="stopping")
        response.status_code = 503  # the balancer drains this process while it finishes
        response.headers["Retry-After"] = "5"
        return response
    outages = _outages()
    checks = {"database": _check(outages["database"], _ask_database)}
    relay = current_app.extensions.get("liveblog.relay")
    if relay is not None:
        checks["redis"] = _check(outages["redis"], relay.client.ping)
    degraded = "down" in checks.values()
    return jsonify(status="degraded" if degraded else "ready", checks=checks)


def _outages() -> dict[str, Outage]:
    # One per app, made on the first probe: each dependency's outage is logged once per process.
    outages = current_app.extensions.get("liveblog.readiness")
    if outages is None:
        outages = current_app.extensions.setdefault("liveblog.readiness", {
            name: Outage("readiness", name, log) for name in ("database", "redis")})
    return outages


def _check(outage: Outage, ask) -> str:
    try:
        ask()
    except Exception as error:  # whatever the reason, the dependency did not answer
        outage.failed(error)
        return "down"
    outage.worked()
    return "up"


def _ask_database() -> None:
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.remove()
