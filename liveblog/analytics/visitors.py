"""Who is new today without knowing who anyone is: a daily salt that is never stored, and
the digests of today's visitors, forgotten with it.

A visitor's digest is a keyed BLAKE2b of the story, what was viewed, the address and the user
agent, keyed by the day's salt: 32 random bytes, made when the day's first view arrives. The
salt is never written to the database or a file; once the day is over it is dropped, and with it
any way to tell whose digest was whose (even by trying every address).

One process keeps the salt and the day's digests in memory. Several processes (REDIS_URL set,
as several workers need anyway) must agree on both, so they share them in Redis, in memory there
and set to expire a day after the day ends; the database only ever holds the daily counters.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from datetime import date

import redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# A bound on memory: past this many digests a day, views still count but none as a new visitor.
MAX_DAILY_DIGESTS = 2_000_000
SALT_KEY = "liveblog:visits:salt:{}"
SEEN_KEY = "liveblog:visits:seen:{}"
KEEP_SECONDS = 2 * 86400  # the day, and a day's grace for a clock that lags


def digest(salt: bytes, parts: tuple[str, ...]) -> bytes:
    """A 16-byte keyed digest of the parts; without the salt nobody can tell what they were."""
    text = "\0".join(parts).encode("utf-8", "replace")
    return hashlib.blake2b(text, key=salt, digest_size=16).digest()


class MemoryVisitors:
    """Today's salt and digests in this process's memory."""

    def __init__(self, limit: int = MAX_DAILY_DIGESTS):
        self.limit = limit
        self.lock = threading.Lock()
        self.day: date | None = None
        self.salt = b""
        self.seen: set[bytes] = set()

    def first_visit(self, day: date, parts: tuple[str, ...]) -> bool:
        """Whether these parts have not been seen yet on this day (and remember them)."""
        with self.lock:
            if day != self.day:  # a new day: a new salt, and yesterday's digests are forgotten
                self.day, self.salt, self.seen = day, secrets.token_bytes(32), set()
            key = digest(self.salt, parts)
            if key in self.seen or len(self.seen) >= self.limit:
                return False
            self.seen.add(key)
            return True


class RedisVisitors:
    """Today's salt and digests in Redis, shared by every process."""

    def __init__(self, url: str):
        # Short timeouts: a count is not worth holding a reader's request for.
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        self.salts: dict[date, bytes] = {}

    def _salt(self, day: date) -> bytes:
        if day not in self.salts:
            key = SALT_KEY.format(day.isoformat())
            # The first process to ask makes the day's salt; every other one reads that one.
            self.client.set(key, secrets.token_bytes(32), nx=True, ex=KEEP_SECONDS)
            salt = self.client.get(key)
            if not salt:
                raise RedisError("the day's salt vanished")
            self.salts = {day: salt}  # yesterday's is dropped here too
        return self.salts[day]

    def first_visit(self, day: date, parts: tuple[str, ...]) -> bool:
        """Whether these parts have not been seen yet on this day; False if Redis is away."""
        try:
            key = SEEN_KEY.format(day.isoformat())
            pipe = self.client.pipeline()
            pipe.sadd(key, digest(self._salt(day), parts))
            pipe.expire(key, KEEP_SECONDS)
            added, _ = pipe.execute()
            return bool(added)
        except RedisError:
            # The view still counts; only the estimate of new visitors misses it.
            log.warning("Redis unreachable; a view is counted without the unique estimate")
            return False
