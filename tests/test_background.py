"""The loop every background job runs on: named, stopped within a bound, never ended by a step."""

from __future__ import annotations

import logging
import queue
import threading

from prometheus_client import REGISTRY
from sqlalchemy.exc import OperationalError

from liveblog.background import Loop
from liveblog.outages import Outage

WAIT = 5.0  # upper bound for anything that should happen in well under a second


class Steps:
    """A step that records each run, then does what the test scripted for that run."""

    def __init__(self, *script):
        self.script = list(script)  # per run: an exception to raise, or None
        self.runs: list[str] = []  # the thread each run ran in
        self.ran = threading.Condition()

    def __call__(self) -> None:
        with self.ran:
            self.runs.append(threading.current_thread().name)
            self.ran.notify_all()
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure

    def wait_for(self, count: int) -> list[str]:
        """Wait (bounded) until the step has run `count` times."""
        with self.ran:
            assert self.ran.wait_for(lambda: len(self.runs) >= count, WAIT), self.runs
            return list(self.runs)


def test_a_loop_runs_its_step_in_its_own_named_thread_until_stopped():
    step = Steps()
    loop = Loop("liveblog-test", step, 0.001)
    assert loop.start() and not loop.start()  # a second start is a no-op
    assert set(step.wait_for(3)) == {"liveblog-test"}
    assert loop.stop(WAIT)
    stopped_at = len(step.runs)
    assert not loop.start()  # a stopped loop stays stopped
    assert len(step.runs) == stopped_at
    assert "liveblog-test" not in {thread.name for thread in threading.enumerate()}


def test_a_loop_never_started_stops_at_once():
    step = Steps()
    loop = Loop("liveblog-test", step, 0.001)
    assert loop.stop(WAIT)
    assert not loop.start() and step.runs == []


def test_a_failed_step_is_logged_and_the_next_one_runs(caplog):
    step = Steps(ValueError("a defect"), None)
    loop = Loop("liveblog-test", step, 0.001)
    loop.start()
    try:
        step.wait_for(2)
    finally:
        loop.stop(WAIT)
    (line,) = [r for r in caplog.records if r.name == "liveblog.background"]
    assert line.levelno == logging.ERROR and "liveblog-test" in line.getMessage()
    assert isinstance(line.exc_info[1], ValueError)


def failures(component: str) -> float:
    """The dependency failures a component has counted in this process."""
    return REGISTRY.get_sample_value("liveblog_dependency_failures_total",
                                     {"component": component, "dependency": "database"}) or 0.0


def test_a_loop_with_an_outage_logs_it_once_each_way_and_counts_each_failure(caplog):
    down = OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
    step = Steps(down, down, down, None, None)
    owner = logging.getLogger("liveblog.tests.owner")
    before = failures("loop-test")
    loop = Loop("liveblog-test", step, 0.001, outage=Outage("loop-test", "database", owner))
    loop.start()
    try:
        step.wait_for(5)
    finally:
        loop.stop(WAIT)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in lines] == ["liveblog.tests.owner"] * 2, [r.getMessage() for r in lines]
    went, back = (r.getMessage() for r in lines)
    assert "connection refused" in went and "back" in back
    assert all(r.exc_info is None for r in lines)  # an unreachable database is no defect
    assert failures("loop-test") - before == 3


def test_the_interval_is_read_after_every_step_and_a_stop_ends_the_wait():
    seconds = [0.001]  # the owner's setting
    reads: list[float] = []
    runs: list[int] = []
    third = threading.Event()

    def interval() -> float:
        reads.append(seconds[0])
        return seconds[0]

    def step() -> None:
        runs.append(1)
        if len(runs) == 3:
            seconds[0] = 3600.0  # changed by the third step: the next wait is an hour
            third.set()

    loop = Loop("liveblog-interval", step, interval)
    loop.start()
    assert third.wait(WAIT)
    assert loop.stop(WAIT)  # within the hour-long wait (or just before it): ended at once
    assert len(runs) == 3 and reads == [0.001, 0.001, 3600.0]


def test_a_step_that_waits_on_its_own_queue_is_unblocked_by_stop():
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    taken = []
    waiting = threading.Event()

    def take() -> None:
        waiting.set()
        taken.append(inbox.get())  # no timeout: only a frame, or stop's None, ends the wait

    loop = Loop("liveblog-queue", take, unblock=lambda: inbox.put(None))
    loop.start()
    assert waiting.wait(WAIT)
    assert loop.stop(WAIT)
    assert taken == [None]


def test_a_step_that_does_not_end_in_time_is_left_behind_and_said_so(caplog):
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(WAIT)

    loop = Loop("liveblog-stuck", stuck)
    loop.start()
    assert started.wait(WAIT)
    try:
        assert loop.stop(0.05) is False
    finally:
        release.set()
    (line,) = [r for r in caplog.records if r.name == "liveblog.background"]
    assert "liveblog-stuck did not stop within 0.05 s" in line.getMessage()
    assert loop.stop(WAIT)  # once its step ends, it does
