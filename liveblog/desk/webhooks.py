"""Admins register webhook endpoints and watch their deliveries."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import select

from liveblog.desk.access import bp, roles_required
from liveblog.errors import LiveblogError
from liveblog.extensions import db
from liveblog.models import EventType, Role, Story, WebhookAttempt, WebhookEndpoint
from liveblog.webhooks import register_endpoint, resend_from

ATTEMPTS_SHOWN = 10


@bp.route("/webhooks", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def webhooks():
    """List endpoints with their last attempts, and register a new one."""
    if request.method == "POST":
        story_slug = request.form.get("story", "")
        story = db.session.scalar(select(Story).filter_by(slug=story_slug)) if story_slug else None
        try:
            endpoint = register_endpoint(request.form.get("url", ""),
                                         story.id if story else None,
                                         request.form.getlist("event_types"),
                                         request.form.get("secret", "").strip() or None)
        except LiveblogError as error:
            flash(error.message, "error")
        else:
            flash(gettext("Endpoint added. Its signing secret, shown once: %(secret)s",
                          secret=endpoint.secret), "success")
            return redirect(url_for("desk.webhooks"))
    endpoints = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    attempts = {
        endpoint.id: db.session.scalars(
            select(WebhookAttempt).filter_by(endpoint_id=endpoint.id)
            .order_by(WebhookAttempt.id.desc()).limit(ATTEMPTS_SHOWN)
        ).all()
        for endpoint in endpoints
    }
    stories = db.session.scalars(select(Story).order_by(Story.title)).all()
    return render_template("desk/webhooks.html", endpoints=endpoints, attempts=attempts,
                           stories=stories, event_types=[t.value for t in EventType])


@bp.post("/webhooks/<int:endpoint_id>/resend/<int:event_id>")
@roles_required(Role.ADMIN)
def resend(endpoint_id: int, event_id: int):
    """Send an event again, and the later ones of its story, in order."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404, description=gettext("No such webhook endpoint."))
    try:
        resend_from(endpoint, event_id)
    except LiveblogError as error:
        abort(error.status, description=error.message)
    flash(gettext("The event will be sent again, followed by the later ones of its story."),
          "success")
    return redirect(url_for("desk.webhooks"))


@bp.post("/webhooks/<int:endpoint_id>/active")
@roles_required(Role.ADMIN)
def toggle_webhook(endpoint_id: int):
    """Pause or resume an endpoint."""
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        abort(404, description=gettext("No such webhook endpoint."))
    endpoint.active = request.form.get("active") == "1"
    db.session.commit()
    flash(gettext("Endpoint resumed.") if endpoint.active else gettext("Endpoint paused."),
          "success")
    return redirect(url_for("desk.webhooks"))
