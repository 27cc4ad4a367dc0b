"""The in-process hub: fans each committed event out to every reader of its story, in order."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

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


@dataclass(eq=False)
class Subscription:
    """One reader's bounded queue of frames for one story."""

    story_id: int
    on_overflow: Callable[[], None] | None = None
    # Set after each queued frame, so one wait can cover new frames and socket activity alike.
    wakeup: threading.Event | None = None
    frames: queue.Queue = field(default_factory=lambda: queue.Queue(READER_QUEUE_SIZE))
    overflowed: bool = False

    def offer(self, frame: Frame) -> None:
        """Queue a frame without blocking; a reader that is too far behind is cut off."""
        if self.overflowed:
            return
        try:
            self.frames.put_nowait(frame)
        except queue.Full:
            self.overflowed = True
            if self.on_overflow is not None:
                self.on_overflow()
        if self.wakeup is not None:
            self.wakeup.set()

    def drain(self) -> list[Frame]:
        """Take every frame queued so far, without waiting."""
        frames = []
        while True:
            try:
                frames.append(self.frames.get_nowait())
            except queue.Empty:
                return frames


# Loads committed frames with after < seq < before from the database, in order.
GapLoader = Callable[[int, int, int], Iterable[Frame]]


class Hub:
    """Subscribers per story, and ordered delivery of published frames to them."""

    def __init__(self, load_gap: GapLoader | None = None):
        self.load_gap = load_gap
        self._lock = threading.Lock()
        self._subscribers: dict[int, set[Subscription]] = {}
        self._story_locks: dict[int, threading.Lock] = {}
        self._last_seq: dict[int, int] = {}

    def subscribe(
        self,
        story_id: int,
        on_overflow: Callable[[], None] | None = None,
        wakeup: threading.Event | None = None,
    ) -> Subscription:
        """Start collecting a story's frames for one reader."""
        subscription = Subscription(story_id, on_overflow, wakeup)
        with self._lock:
            self._subscribers.setdefault(story_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to a reader that has gone."""
        with self._lock:
            readers = self._subscribers.get(subscription.story_id)
            if readers is not None:
                readers.discard(subscription)
                if not readers:
                    del self._subscribers[subscription.story_id]

    def reader_count(self, story_id: int) -> int:
        """How many readers of the story this process holds."""
        with self._lock:
            return len(self._subscribers.get(story_id, ()))

    def publish(self, frame: Frame) -> None:
        """Deliver a committed frame, first filling any gap from the database so order holds."""
        with self._story_lock(frame.story_id):
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

    def _deliver(self, frame: Frame) -> None:
        with self._lock:
            readers = tuple(self._subscribers.get(frame.story_id, ()))
        for subscription in readers:
            subscription.offer(frame)

    def _story_lock(self, story_id: int) -> threading.Lock:
        with self._lock:
            return self._story_locks.setdefault(story_id, threading.Lock())
