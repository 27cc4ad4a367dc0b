"""Webhooks: every event of the log, signed and delivered in order to registered endpoints."""

from liveblog.webhooks.delivery import Deliverer, backoff, body_for, deliver_endpoint
from liveblog.webhooks.due import due_endpoints
from liveblog.webhooks.endpoints import register_endpoint, resend_from
from liveblog.webhooks.lease import Lease, claim, release
from liveblog.webhooks.signing import HEADER, sign
from liveblog.webhooks.targets import check_target

__all__ = [
    "HEADER",
    "Deliverer",
    "Lease",
    "backoff",
    "body_for",
    "check_target",
    "claim",
    "deliver_endpoint",
    "due_endpoints",
    "register_endpoint",
    "release",
    "resend_from",
    "sign",
]
