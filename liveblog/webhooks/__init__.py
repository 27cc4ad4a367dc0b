"""Webhooks: every event of the log, signed and delivered in order to registered endpoints."""

from .delivery import Deliverer, backoff, body_for, deliver_endpoint
from .endpoints import register_endpoint, resend_from
from .signing import HEADER, sign, verify
from .targets import check_target

__all__ = [
    "HEADER",
    "Deliverer",
    "backoff",
    "body_for",
    "check_target",
    "deliver_endpoint",
    "register_endpoint",
    "resend_from",
    "sign",
    "verify",
]
