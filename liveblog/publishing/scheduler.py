"""Publishes scheduled entries when they fall due, from a background thread in each server process.

Every process may run one: publish_due_entries locks each story before it reads the due entries
again, so each entry is published exactly once however many processes are looking.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from liveblog.extensions import db

log = logging.getLogger(__name__)


class Scheduler:
    """A daemon thread that looks for due entries every `interval` seconds."""

    def __init__(self, app: Flask, interval: float = 1.0):
        self.app = app
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="liveblog-scheduler", daemon=True)

    def start(self) -> Scheduler:
        """Start looking for due entries."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current pass."""
        self._stop.set()
        self._thread.join(timeout)

    def run_once(self) -> int:
        """Publish what is due now; return how many entries were published."""
        from liveblog import publishing

        with self.app.app_context():
            try:
                return publishing.publish_due_entries()
            finally:
                db.session.remove()

    def _run(self) -> None:
        from liveblog.outages import Outage

        # A database that is down fails every pass: one line when it goes, one when it is back.
        outage = Outage("scheduler", "database", log)
        while not self._stop.wait(self.interval):
            try:
                published = self.run_once()
            except Exception as error:  # a failed pass must not end the thread; the next retries
                outage.failed(error)
                continue
            outage.worked()
            if published:
                log.info("published %d scheduled entries", published)
