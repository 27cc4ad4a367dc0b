"""Health checks for load balancers and orchestrators: alive, and ready to serve."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from .extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process answers: keep it running."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database (and Redis, when configured) answer: send this process traffic."""
    checks = {"database": _database_ok()}
    relay = current_app.extensions.get("liveblog.relay")
    if relay is not None:
        checks["redis"] = _redis_ok(relay)
    ready = all(checks.values())
    response = jsonify(status="ready" if ready else "unavailable", checks=checks)
    response.status_code = 200 if ready else 503
    if not ready:
        response.headers["Retry-After"] = "5"
    return response


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not ready"; the reason is for the logs, not the probe
        current_app.logger.warning("readiness: database check failed", exc_info=True)
        return False
    finally:
        db.session.remove()


def _redis_ok(relay) -> bool:
    try:
        return bool(relay.client.ping())
    except Exception:  # the relay falls back to polling the database; still, not fully ready
        current_app.logger.warning("readiness: Redis check failed", exc_info=True)
        return False
