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
        "RATELIMIT_HEADERS_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Load YouTube, Vimeo and X on page load instead of on the reader's click.
        "EMBEDS_AUTOLOAD": os.environ.get("EMBEDS_AUTOLOAD", "") == "1",
        # Let webhooks reach private, loopback and link-local addresses (tests, intranets).
        "WEBHOOKS_ALLOW_PRIVATE": os.environ.get("WEBHOOKS_ALLOW_PRIVATE", "") == "1",
        "LIVE_HEARTBEAT_SECONDS": float(os.environ.get("LIVE_HEARTBEAT_SECONDS", 25)),
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
