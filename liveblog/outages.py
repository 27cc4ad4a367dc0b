"""Outages as one component sees them: a line when a dependency goes, a line when it is back.

A loop that retries every second (the scheduler, the webhook deliverer, the relay's poll of the
log) or a probe asked every few seconds would otherwise log a traceback per attempt for as long
as the database or Redis is down. Each failure is counted instead
(`liveblog_dependency_failures_total{component, dependency}`), the dependency's gauge
(`liveblog_dependency_up`) follows what the component last saw, and the log gets two lines.
"""

from __future__ import annotations

import logging
import threading
import time

from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from liveblog import metrics

# What a dependency that is down or unreachable raises. Anything else is a defect in the engine:
# its traceback is logged, once, with the line that starts the outage.
UNREACHABLE = (DBAPIError, PoolTimeout, RedisError, OSError)
LONGEST_REASON = 200  # characters of the error kept in the log line


class Outage:
    """One component's view of one dependency: down or up, logged once per change."""

    def __init__(self, component: str, dependency: str, log: logging.Logger):
        self.component = component
        self.dependency = dependency
        self.log = log
        self.failures = 0  # failures in the current outage
        self._since: float | None = None  # monotonic time of the first failure, while down
        self._seen_up = False
        self._lock = threading.Lock()  # probes may fail in several threads at once

    def failed(self, error: BaseException) -> None:
        """Count a failed attempt; log the outage if it has just begun."""
        metrics.dependency_failed(self.component, self.dependency)
        unreachable = isinstance(error, UNREACHABLE)
        if unreachable:
            metrics.dependency_up(self.dependency, False)
        with self._lock:
            self.failures += 1
            if self._since is not None:
                return
            self._since = time.monotonic()
        self.log.warning(
            "%s: %s unreachable (%s); retrying quietly until it is back", self.component,
            self.dependency, reason(error), exc_info=None if unreachable else error,
            extra={"component": self.component, "dependency": self.dependency})

    def worked(self) -> None:
        """Note a successful attempt; log the end of an outage if there was one."""
        with self._lock:
            since, failures = self._since, self.failures
            first = not self._seen_up
            self._since, self.failures, self._seen_up = None, 0, True
        if since is None:
            if first:  # once, so the gauge exists before the first outage
                metrics.dependency_up(self.dependency, True)
            return
        metrics.dependency_up(self.dependency, True)
        self.log.warning(
            "%s: %s is back after %.1f s and %d failed attempts", self.component,
            self.dependency, time.monotonic() - since, failures,
            extra={"component": self.component, "dependency": self.dependency,
                   "failures": failures})


def reason(error: BaseException) -> str:
    """The error's type and the first line of its message, short enough for one log line."""
    text = str(error).strip().splitlines()
    line = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    return line if len(line) <= LONGEST_REASON else line[:LONGEST_REASON - 1] + "…"
