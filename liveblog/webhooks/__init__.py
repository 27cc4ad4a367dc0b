"""Webhooks: every event of the log, signed and delivered in order to registered endpoints."""

from .delivery import Deliverer, backoff, body_for, deliver_endpoint
from .due import due_endpoints
from .endpoints import register_endpoint, resend_from
from .lease import Lease, claim, release
from .signing import HEADER, sign, verify
from .targets import check_target

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
    "verify",
]
