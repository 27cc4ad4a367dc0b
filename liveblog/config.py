"""Settings, read from the environment with defaults that run everything in one process."""

from __future__ import annotations

import os
import secrets


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping from environment variables."""
    database_url = normalise_database_url(
        os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path}/liveblog.sqlite3"
    )
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY") or _instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
        # A 2 MB body is refused with 413 before any view reads it.
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 1024 * 1024)),
        "SOCK_SERVER_OPTIONS": {"max_message_size": 4096},
        # A desk left open through a long night must still post: the token lives with the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        # Off: Flask-Limiter would put its window's Retry-After on every limited answer, a 201
        # or a 503 included; limits.py gives a 429 its own Retry-After instead.
        "RATELIMIT_HEADERS_ENABLED": False,
        # RATELIMIT_ENABLED=0 turns every rate limit off (benchmarks open 10,000 sockets from
        # one address). The figures are explained in docs/deploy.md, "Limits".
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        # Per token (per address without one): a fast journalist posts a few times a minute;
        # 120 leaves room for corrections and a feed script, and stops a runaway loop.
        "API_WRITE_LIMIT": os.environ.get("API_WRITE_LIMIT", "120 per minute"),
        # Per address: an office or a mobile carrier's NAT is one address, and a restart sends
        # all of its readers back at once; a flood from one machine is still stopped in seconds.
        "LIVE_CONNECT_LIMIT": os.environ.get("LIVE_CONNECT_LIMIT", "1200 per minute"),
        # Per address: one vote per poll per browser, but an office or a carrier's NAT is one
        # address for many readers; a script voting over and over is still stopped in a minute.
        "VOTE_LIMIT": os.environ.get("VOTE_LIMIT", "60 per minute;600 per hour"),
        # Per address: each page and embed a reader opens sends one view; an office or a
        # carrier's NAT is many readers, so a script can add at most this many views to a story.
        "VISIT_LIMIT": os.environ.get("VISIT_LIMIT", "60 per minute;600 per hour"),
        # Per address: a reader asks a question or two; more is a script (docs/api.md).
        "QUESTION_LIMIT": os.environ.get("QUESTION_LIMIT", "5 per minute;30 per hour"),
        # Measured (docs/benchmarks.md): a reader costs ~48 KB and ~50 µs of CPU per entry, so
        # one gevent worker holds 10,000 in ~560 MB. 15,000 is ~800 MB and 0.75 s of one core
        # per entry: still every frame at an entry a second. Past it a process falls further
        # behind with each reader; refusing sends the rest to another process (or to polling).
        "MAX_READERS_PER_PROCESS": int(os.environ.get("MAX_READERS_PER_PROCESS", 15000)),
        # How many reverse proxies in front set X-Forwarded-For; 0 trusts no such header.
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", 0)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Load YouTube, Vimeo and X on page load instead of on the reader's click.
        "EMBEDS_AUTOLOAD": os.environ.get("EMBEDS_AUTOLOAD", "") == "1",
        # Let webhooks reach private, loopback and link-local addresses (tests, intranets).
        "WEBHOOKS_ALLOW_PRIVATE": os.environ.get("WEBHOOKS_ALLOW_PRIVATE", "") == "1",
        # The first retry of a failed webhook, in seconds; each further one waits twice as long.
        "WEBHOOKS_RETRY_SECONDS": float(os.environ.get("WEBHOOKS_RETRY_SECONDS", 2)),
        # Web Push alerts (alerts/): the VAPID contact push services see, subscribes per address
        # (a browser subscribes once per story; more is a script), how long an alert stays news.
        "PUSH_VAPID_SUBJECT": os.environ.get("PUSH_VAPID_SUBJECT", "mailto:newsroom@example.org"),
        "PUSH_LIMIT": os.environ.get("PUSH_LIMIT", "10 per minute;60 per hour"),
        "PUSH_TTL_SECONDS": int(os.environ.get("PUSH_TTL_SECONDS", 3600)),
        "PUSH_RETRY_SECONDS": float(os.environ.get("PUSH_RETRY_SECONDS", 2)),
        # How many of a story's subscriptions one process sends to at once (alerts/delivery.py).
        "PUSH_SENDERS": max(1, int(os.environ.get("PUSH_SENDERS", 8))),
        # The push services' hosts subscriptions may name (alerts/subscriptions.py has the list).
        "PUSH_SERVICE_HOSTS": tuple(
            host.strip() for host in os.environ.get("PUSH_SERVICE_HOSTS", "").split(",")
            if host.strip()),
        # Tests only: take http://127.0.0.1 endpoints (a stand-in push service).
        "PUSH_ALLOW_LOCAL": os.environ.get("PUSH_ALLOW_LOCAL", "") == "1",
        "LIVE_HEARTBEAT_SECONDS": float(os.environ.get("LIVE_HEARTBEAT_SECONDS", 25)),
        # /metrics answers loopback and private networks, and anyone sending this bearer token.
        "METRICS_TOKEN": os.environ.get("METRICS_TOKEN") or None,
        # json (one object per line) or text; unset leaves logging as Python and Flask set it.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT") or None,
        # How often each process tells Redis how many readers it holds, for the desk's count.
        "AUDIENCE_REPORT_SECONDS": float(os.environ.get("AUDIENCE_REPORT_SECONDS", 5)),
        # How often the open readers of every story are stored, for the desk's readers over time.
        "AUDIENCE_SAMPLE_SECONDS": float(os.environ.get("AUDIENCE_SAMPLE_SECONDS", 10)),
        # Per address: a reader's page sends a batch of seen entries every 30 s at most, and on
        # leaving; an office or a carrier's NAT is many pages. Each batch counts an entry once,
        # so one address can add no more than this to any entry's "seen".
        "SEEN_LIMIT": os.environ.get("SEEN_LIMIT", "20 per minute;300 per hour"),
    }


def normalise_database_url(url: str) -> str:
    """Point a bare postgres:// or postgresql:// URL at psycopg 3, the driver we install."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def engine_options(database_url: str) -> dict:
    """Engine options: SQLite waits for the write lock; PostgreSQL sessions work in UTC."""
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if database_url.startswith("postgresql"):
        # iso() formats aware times as they come back; in the server's zone they would be wrong.
        # A dropped connection (server restart, idle timeout) is replaced, not handed out.
        return {
            "pool_pre_ping": True,
            "connect_args": {"options": "-c timezone=UTC", "connect_timeout": 10},
        }
    return {"pool_pre_ping": True}


def _instance_secret(instance_path: str) -> str:
    # A per-install secret kept in the instance folder, so sessions survive restarts.
    path = os.path.join(instance_path, "secret_key")
    os.makedirs(instance_path, exist_ok=True)
    if not os.path.exists(path):
        with open(path, "w") as handle:
            handle.write(secrets.token_hex(32))
    with open(path) as handle:
        return handle.read().strip()
