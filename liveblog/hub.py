"""The in-process hub: fans each committed event out to every reader of its story, in order."""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from . import metrics

log = logging.getLogger(__name__)

# How many frames a reader may fall behind before it is dropped and left to resume by seq.
READER_QUEUE_SIZE = 256


@dataclass(slots=True)
class Frame:
    """One event as readers receive it: serialised once, shared by every subscriber."""

    story_id: int
    seq: int
    text: str
    # Encoded lazily by the transport and cached, so each frame is encoded once, not per reader.
    wire: bytes | None = None
    # time.time() of the commit, for the delivery latency metric; 0 for frames read from the log.
    committed_at: float = 0.0


@dataclass(eq=False)
class Subscription:
    """One reader's bounded queue of frames for one story."""

    story_id: int
    on_overflow: Callable[[], None] | None = None
    # Set after each queued frame, so one wait can cover new frames and socket activity alike.
    wakeup: threading.Event | None = None
    # Writes a frame straight to the reader's socket if that can be done without waiting, and
    # says whether the reader now has all of it. Waking a reader costs more than the write
    # itself, so a caught-up reader with room in its socket is served without waking it.
    write_now: Callable[[Frame], bool] | None = None
    # A deque, not a queue.Queue: append and popleft need no lock, which halves the cost of
    # offering one frame to thousands of readers.
    frames: deque = field(default_factory=deque)
    overflowed: bool = False
    closing: bool = False  # the process is shutting down: say goodbye so the reader moves on

    def offer(self, frame: Frame) -> None:
        """Queue a frame without blocking; a reader that is too far behind is cut off."""
        if self.overflowed:
            return
        if not self.frames and self.write_now is not None and self.write_now(frame):
            return
        if len(self.frames) >= READER_QUEUE_SIZE:
            self.overflowed = True
            if self.on_overflow is not None:
                self.on_overflow()
        else:
            self.frames.append(frame)
        if self.wakeup is not None:
            self.wakeup.set()

    def drain(self) -> list[Frame]:
        """Take every frame queued so far, without waiting."""
        frames = []
        while self.frames:
            frames.append(self.frames.popleft())
        return frames


# Loads committed frames with after < seq < before from the database, in order.
GapLoader = Callable[[int, int, int], Iterable[Frame]]


class Hub:
    """Subscribers per story, and ordered delivery of published frames to them.

    Delivery runs in the hub's own thread (a greenlet under gevent), so the request that
    published an entry returns at once, however many readers there are. With a relay (Redis),
    published frames go to every process through it and come back here through `accept`.
    """

    def __init__(self, load_gap: GapLoader | None = None, inline: bool = False):
        self.load_gap = load_gap
        self.inline = inline  # deliver in the publisher's thread: for tests of the ordering
        self._lock = threading.Lock()
        self._subscribers: dict[int, set[Subscription]] = {}
        self._story_locks: dict[int, threading.Lock] = {}
        self._last_seq: dict[int, int] = {}
        self._closing = False
        self._inbox: queue.SimpleQueue[Frame] = queue.SimpleQueue()
        self._dispatcher: threading.Thread | None = None
        # Set by relay.init_app; duck-typed (publish, start) so this module stays a leaf.
        self.relay = None
        self.audience = None  # set by audience.init_app; duck-typed (start)

    def subscribe(
        self,
        story_id: int,
        on_overflow: Callable[[], None] | None = None,
        wakeup: threading.Event | None = None,
        write_now: Callable[[Frame], bool] | None = None,
    ) -> Subscription:
        """Start collecting a story's frames for one reader."""
        subscription = Subscription(story_id, on_overflow, wakeup, write_now)
        # A reader whose handshake finished while the process began to stop is sent away too.
        subscription.closing = self._closing
        subscription.on_overflow = _counting_drops(story_id, subscription.on_overflow)
        with self._lock:
            self._subscribers.setdefault(story_id, set()).add(subscription)
        metrics.reader_opened(story_id)
        if self.relay is not None:
            self.relay.start()  # a process with readers must hear other processes' frames
        if self.audience is not None:
            self.audience.start()  # and must tell the desks of other processes it has them
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to a reader that has gone."""
        with self._lock:
            readers = self._subscribers.get(subscription.story_id)
            present = readers is not None and subscription in readers
            if present:
                readers.discard(subscription)
                if not readers:
                    del self._subscribers[subscription.story_id]
        if present:  # a second unsubscribe of the same reader must not count it twice
            metrics.reader_closed(subscription.story_id)

    def close_all(self) -> int:
        """Ask every reader to leave (the process is stopping); return how many there were."""
        with self._lock:
            self._closing = True
            everyone = [s for readers in self._subscribers.values() for s in readers]
        for subscription in everyone:
            subscription.closing = True
            if subscription.wakeup is not None:
                subscription.wakeup.set()
        return len(everyone)

    def reader_count(self, story_id: int) -> int:
        """How many readers of the story this process holds."""
        with self._lock:
            return len(self._subscribers.get(story_id, ()))

    def total_readers(self) -> int:
        """How many readers this process holds, over every story."""
        with self._lock:
            return sum(len(readers) for readers in self._subscribers.values())

    def read_stories(self) -> list[int]:
        """The stories this process has readers for."""
        with self._lock:
            return list(self._subscribers)

    def last_seq(self, story_id: int) -> int | None:
        """The seq last delivered for a story, or None if the hub is not tracking it."""
        return self._last_seq.get(story_id)

    def publish(self, frame: Frame) -> None:
        """Hand over a committed frame; returns without waiting for readers."""
        if self.relay is not None:
            self.relay.publish(frame)
        else:
            self.accept(frame)

    def accept(self, frame: Frame) -> None:
        """Queue a committed frame for ordered delivery to this process's readers."""
        if self.inline:
            self.dispatch(frame)
            return
        if self._dispatcher is None:
            with self._lock:
                if self._dispatcher is None:
                    self._dispatcher = threading.Thread(
                        target=self._run, name="liveblog-hub", daemon=True)
                    self._dispatcher.start()
        self._inbox.put(frame)

    def _run(self) -> None:
        while True:
            frame = self._inbox.get()
            try:
                self.dispatch(frame)
            except Exception:  # one bad frame must not stop delivery; readers resume by seq
                log.exception("delivering story %s seq %s failed", frame.story_id, frame.seq)

    def dispatch(self, frame: Frame) -> None:
        """Deliver a committed frame, first filling any gap from the database so order holds."""
        with self._story_lock(frame.story_id):
            if not self.reader_count(frame.story_id):
                # Nobody here to keep in order: new readers replay from the log and fill holes
                # themselves, so forgetting the story costs no gap loads of frames nobody reads.
                self._last_seq.pop(frame.story_id, None)
                return
            last = self._last_seq.get(frame.story_id)
            if last is not None and frame.seq <= last:
                return  # already delivered while filling an earlier gap
            backlog: list[Frame] = []
            if last is not None and frame.seq > last + 1 and self.load_gap is not None:
                # Another writer committed seq last+1 but has not handed it over yet.
                backlog = list(self.load_gap(frame.story_id, last, frame.seq))
            for item in [*backlog, frame]:
                self._deliver(item)
            self._last_seq[frame.story_id] = frame.seq
        # Once per frame, not per reader: this is the latency of the whole fan-out here.
        metrics.frame_delivered(frame.committed_at)

    def _deliver(self, frame: Frame) -> None:
        with self._lock:
            readers = tuple(self._subscribers.get(frame.story_id, ()))
        for subscription in readers:
            subscription.offer(frame)

    def _story_lock(self, story_id: int) -> threading.Lock:
        with self._lock:
            return self._story_locks.setdefault(story_id, threading.Lock())


def _counting_drops(story_id: int, cut_off: Callable[[], None] | None) -> Callable[[], None]:
    # Wraps the transport's cut-off, so a drop is counted and logged once per reader, on the
    # overflow itself, and the per-frame path of every other reader stays untouched.
    def overflowed() -> None:
        metrics.slow_reader_dropped()
        log.info("a reader of story %s fell %d frames behind; cut off", story_id,
                 READER_QUEUE_SIZE)
        if cut_off is not None:
            cut_off()

    return overflowed
