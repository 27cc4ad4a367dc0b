"""The readers' side of alerts: the server's public key, subscribe and unsubscribe, the worker.

Open to anonymous readers, so bounded: a small body, a checked subscription (subscriptions.py),
a rate per address (web/limits.py). No cookie is read or set, so the routes are CSRF-exempt
like votes: a forged request could only subscribe a browser the forger already controls.
"""

from __future__ import annotations

import json
import os

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import BadRequest

from liveblog.alerts.keys import public_key
from liveblog.alerts.subscriptions import subscribe, unsubscribe
from liveblog.errors import NotFound
from liveblog.extensions import db
from liveblog.models import Story, StoryStatus
from liveblog.web.limits import limit_push_subscriptions

bp = Blueprint("alerts", __name__)
limit_push_subscriptions(bp)

# An endpoint of 1,000 characters and two keys, as JSON: nothing larger is a subscription.
MAX_BODY_BYTES = 4 * 1024


@bp.before_request
def _bound_body() -> None:
    request.max_content_length = MAX_BODY_BYTES


def _json_object() -> dict:
    try:
        data = json.loads(request.get_data(cache=True))
    except UnicodeDecodeError:
        raise BadRequest("The request body is not valid UTF-8.") from None
    except (ValueError, RecursionError):
        raise BadRequest("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    return data


def _public_story(slug: str) -> Story:
    story = db.session.scalar(db.select(Story).filter_by(slug=slug))
    if story is None or story.status == StoryStatus.DRAFT:
        raise NotFound("No such story.")
    return story


def _no_store(response, status: int):
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/push/key")
def vapid_key():
    """The server's VAPID public key, for PushManager.subscribe's applicationServerKey."""
    response = jsonify(key=public_key(current_app.instance_path))
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.post("/api/stories/<slug>/push-subscriptions")
def add_subscription(slug: str):
    """Keep a browser's subscription to the story's key updates."""
    subscribe(_public_story(slug), _json_object())
    return _no_store(jsonify(status="subscribed"), 201)


@bp.delete("/api/stories/<slug>/push-subscriptions")
def remove_subscription(slug: str):
    """Forget a browser's subscription to the story's key updates (none is fine too)."""
    unsubscribe(_public_story(slug), _json_object())
    return _no_store(current_app.response_class(status=204), 204)


@bp.get("/alerts-sw.js")
def service_worker():
    """The service worker, served from the root so its scope covers every story page."""
    with open(os.path.join(current_app.static_folder, "sw.js"), "rb") as handle:
        response = current_app.response_class(handle.read(), mimetype="text/javascript")
    # Browsers check a worker for updates at least daily whatever this says; no-cache makes
    # every check a revalidation, so a deploy reaches readers at their next visit.
    response.headers["Cache-Control"] = "no-cache"
    return response
