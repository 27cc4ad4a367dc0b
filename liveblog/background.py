"""Background loops: the hub's dispatcher, the relay, the audience report, the scheduler, and
the pools that deliver webhooks and push alerts.

Each is a `Loop`: one named daemon thread (a greenlet under gunicorn's gevent workers, which
patch threading) that runs one step after another until it is stopped. A step that fails is
logged and the loop goes on; a loop given an `Outage` reports failures through it instead, so a
dependency that stays down costs two log lines, not one a pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

from liveblog.extensions import db
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


class WorkerPool:
    """A loop that hands each due key (an endpoint, a story) to a pool of threads, one at a time.

    Webhooks and push alerts deliver this way: each pass asks `due` which keys have work, and a
    key not already in hand goes to a worker, which calls `work(key)` inside an app context. The
    worker, not the pass, takes the key's lease inside `work`: a lease taken by the pass could
    run out while the task waits for a free worker.
    """

    def __init__(self, app: Flask, name: str, due: Callable[[], Iterable[int]],
                 work: Callable[[int], int], *, interval: float, workers: int, outage: Outage):
        self.app = app
        self._due = due
        self._work = work
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        # A database that is down fails every pass: one line when it goes, one when it is back.
        # `run_once` is looked up at each pass, not bound here, so a test may wrap it.
        self._loop = Loop(f"liveblog-{name}", lambda: self.run_once(), interval, outage=outage)
        self._busy: set[int] = set()  # keys handed to the pool and not finished yet
        self._busy_lock = threading.Lock()

    def start(self) -> WorkerPool:
        """Start the passes."""
        self._loop.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the work under way."""
        self._loop.stop(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run_once(self, wait: bool = False) -> list:
        """Start work for every due key; with wait, return the results once they are done."""
        with self.app.app_context():
            try:
                due = self._due()
            finally:
                db.session.remove()
        futures = []
        with self._busy_lock:
            for key in due:
                if key not in self._busy:
                    self._busy.add(key)
                    futures.append(self._pool.submit(self._run_work, key))
        return [future.result() for future in futures] if wait else futures

    def _run_work(self, key: int) -> int:
        try:
            with self.app.app_context():
                try:
                    return self._work(key)
                finally:
                    db.session.remove()
        finally:
            with self._busy_lock:
                self._busy.discard(key)
