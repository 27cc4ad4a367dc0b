"""Background loops: the hub's dispatcher, the relay, the audience report, the scheduler, webhooks.

Each is a `Loop`: one named daemon thread (a greenlet under gunicorn's gevent workers, which
patch threading) that runs one step after another until it is stopped. A step that fails is
logged and the loop goes on; a loop given an `Outage` reports failures through it instead, so a
dependency that stays down costs two log lines, not one a pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from liveblog.outages import Outage

log = logging.getLogger(__name__)


class Loop:
    """Runs `step` over and over in its own thread, `interval` seconds apart, until stopped.

    `interval` is seconds or a function returning them, read after every step, so an owner's
    setting changed meanwhile takes effect at the next wait. A step that waits by itself (on a
    queue) takes 0, and an `unblock` that makes that wait end, for `stop`.
    """

    def __init__(self, name: str, step: Callable[[], object],
                 interval: float | Callable[[], float] = 0.0, *,
                 outage: Outage | None = None, unblock: Callable[[], None] | None = None):
        self.name = name
        self._step = step
        self._interval = interval
        self._outage = outage
        self._unblock = unblock
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        """Whether the loop has been asked to stop: a long step checks it to end early."""
        return self._stopping.is_set()

    def start(self) -> bool:
        """Start the thread unless it was started already; True if this call started it."""
        if self._thread is not None:  # the usual case, on paths run per reader or per frame
            return False
        with self._lock:
            if self._thread is not None or self._stopping.is_set():
                return False
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()
            return True

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the loop to end after its current step, and wait at most `timeout` for it."""
        self._stopping.set()
        if self._unblock is not None:
            self._unblock()
        with self._lock:
            thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s did not stop within %g s; left to end with the process",
                        self.name, timeout)
            return False
        return True

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._step()
            except Exception as error:  # one failed step must not end the loop
                if self._outage is not None:
                    self._outage.failed(error)
                else:
                    log.exception("%s: a step failed; the loop goes on", self.name)
            else:
                if self._outage is not None:
                    self._outage.worked()
            interval = self._interval() if callable(self._interval) else self._interval
            if interval > 0:
                self._stopping.wait(interval)
