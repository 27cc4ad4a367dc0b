"""Web Push alerts: a reader's browser is told when an entry of a story becomes key."""

from liveblog.alerts.delivery import Deliverer, backoff, deliver_story, due_stories
from liveblog.alerts.keys import public_key, vapid
from liveblog.alerts.queue import becomes_key, notification, queue_alerts
from liveblog.alerts.subscriptions import subscribe, subscription_fields, unsubscribe

__all__ = [
    "Deliverer",
    "backoff",
    "becomes_key",
    "deliver_story",
    "due_stories",
    "notification",
    "public_key",
    "queue_alerts",
    "subscribe",
    "subscription_fields",
    "unsubscribe",
    "vapid",
]
