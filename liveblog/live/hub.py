"""The in-process hub: fans each committed event out to every reader of its story, in order."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from liveblog import metrics
from liveblog.background import Loop
from liveblog.live import recent
from liveblog.live.recent import Ring

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


@dataclass(eq=False, slots=True)
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
    unpublished: bool = False  # ...or the story went back to draft: goodbye as to no story

    def close(self, unpublished: bool = False) -> None:
        """Ask the reader's loop to say goodbye and end."""
        self.unpublished = self.unpublished or unpublished
        self.closing = True
        if self.wakeup is not None:
            self.wakeup.set()

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

# How long a frame whose gap could not be read from the database waits before another try.
GAP_RETRY_SECONDS = 1.0
# Every story.updated frame starts so (publishing/changes.py writes it compactly, type first).
STORY_CHANGE = '{"type":"story.updated",'


def changes_story(frame: Frame) -> bool:
    """Whether the frame is a story.updated event (cheap: no parsing)."""
    return frame.text.startswith(STORY_CHANGE)


def withdraws(frame: Frame) -> bool:
    """Whether the frame sets its story back to draft, out of every reader's sight."""
    if not changes_story(frame):
        return False
    try:
        return json.loads(frame.text)["story"]["status"] == "draft"
    except (ValueError, KeyError, TypeError):
        return False


class _StoryLock:
    """A story's delivery lock, and how many dispatches hold or wait for it."""

    __slots__ = ("lock", "users")

    def __init__(self):
        self.lock = threading.Lock()
        self.users = 0


class Hub:
    """Subscribers per story, and ordered delivery of published frames to them.

    Delivery runs in the hub's own thread (a greenlet under gevent), so the request that
    published an entry returns at once, however many readers there are. With a relay (Redis),
    published frames go to every process through it and come back here through `accept` (or
    straight to `accept`, if the relay could not PUBLISH them).
    What the hub keeps per story (lock, last seq, a frame waiting for its gap) goes with the
    story's last reader, so a process that served many stories over months holds none of them;
    a story with a ring of recent frames (recent.py) is followed for LINGER_SECONDS longer.
    """

    def __init__(self, load_gap: GapLoader | None = None):
        self.load_gap = load_gap
        self.gap_retry_seconds = GAP_RETRY_SECONDS
        self._lock = threading.Lock()
        self._subscribers: dict[int, set[Subscription]] = {}
        self._story_locks: dict[int, _StoryLock] = {}
        self._last_seq: dict[int, int] = {}
        # The newest frame of a story whose gap could not be read yet; retried, never dropped.
        self._waiting: dict[int, Frame] = {}
        # Stories set back to draft while they had readers here: nothing more goes out.
        self._withdrawn: set[int] = set()
        # Readable stories' recent frames (recent.py), by story and by address, and when the
        # last reader here left the stories that have a ring but no reader.
        self._rings: dict[int, Ring] = {}
        self._slugs: dict[str, int] = {}
        self._idle: dict[int, float] = {}
        self._next_retry = 0.0  # monotonic time of the next try of the waiting frames
        self._closing = False
        self._inbox: queue.SimpleQueue[Frame | None] = queue.SimpleQueue()
        # Started by the first frame; it runs until stop(), or for as long as the process does.
        self._dispatcher = Loop("liveblog-hub", self._dispatch_next,
                                unblock=lambda: self._inbox.put(None))
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
            self._idle.pop(story_id, None)
            # Counted under the lock, so a story's series is never dropped (its last reader
            # leaving) between another reader's arrival and its count.
            metrics.reader_opened(story_id)
        if self.relay is not None:
            self.relay.start()  # a process with readers must hear other processes' frames
        if self.audience is not None:
            self.audience.start()  # and must tell the desks of other processes it has them
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to a reader that has gone."""
        story_id = subscription.story_id
        with self._lock:
            readers = self._subscribers.get(story_id)
            if readers is None or subscription not in readers:
                return  # a second unsubscribe of the same reader must not count it twice
            readers.discard(subscription)
            last = not readers
            if last:
                del self._subscribers[story_id]
                if story_id in self._rings:
                    self._idle[story_id] = time.monotonic()  # followed a while longer
                else:
                    self._forget(story_id)
            metrics.reader_closed(story_id, last=last)
            self._sweep()

    def _tracks(self, story_id: int) -> bool:
        # With the hub lock held: whether the story's frames are followed in order here.
        return story_id in self._subscribers or story_id in self._rings

    def _forget(self, story_id: int) -> None:
        # With the hub lock held, once a story has no reader (nor ring) left here. Its lock goes
        # only if no dispatch holds or waits for it (that one removes it when done), so two
        # dispatches of one story can never hold two different locks.
        self._idle.pop(story_id, None)
        self._drop_ring(story_id)
        self._last_seq.pop(story_id, None)
        self._waiting.pop(story_id, None)
        self._withdrawn.discard(story_id)
        story_lock = self._story_locks.get(story_id)
        if story_lock is not None and not story_lock.users:
            del self._story_locks[story_id]

    def close_all(self) -> int:
        """Ask every reader to leave (the process is stopping); return how many there were."""
        with self._lock:
            self._closing = True
            everyone = [s for readers in self._subscribers.values() for s in readers]
        for subscription in everyone:
            subscription.close()
        return len(everyone)

    def reader_count(self, story_id: int) -> int:
        """How many readers of the story this process holds."""
        with self._lock:
            return len(self._subscribers.get(story_id, ()))

    def read_stories(self) -> list[int]:
        """The stories this process has readers for."""
        with self._lock:
            return list(self._subscribers)

    def tracked_stories(self) -> list[int]:
        """The stories whose frames this process follows: those with readers or a ring."""
        with self._lock:
            self._sweep()
            return list(self._subscribers.keys() | self._rings.keys())

    def cached_story(self, slug: str) -> int | None:
        """The id of a readable story at this address, if the hub knows it without asking."""
        return self._slugs.get(slug)

    def resume(self, story_id: int, after: int | None) -> tuple[int, list[Frame] | None] | None:
        """From the story's ring: (its last seq, the frames after `after`, None if older).

        None if the ring is gone, or `after` is newer than the ring (a frame on its way here,
        or a restored database): the database decides. Call it once subscribed, so a frame is
        either in the ring already or offered to the reader (the hub rings it before delivery).
        """
        with self._lock:
            ring = self._rings.get(story_id)
            if ring is None or story_id in self._withdrawn:
                return None
            last = ring.last
            if after is None:
                return last, []
            if after > last:
                return None
            return last, ring.after(after)

    def warm(self, story_id: int, slug: str, seq: int, change: Frame | None = None) -> None:
        """Start a ring for a live story at `seq`, read from the database by a subscribed reader.

        Every frame up to `seq` was committed before the reader's replay, and every later one
        reaches the hub after its subscription, so from here the ring misses none (a gap drops
        it). `change` is the last story change that replay sent, which may have ended the story.
        """
        ring = Ring(slug, seq)
        if change is not None and not ring.keeps(change):
            return
        with self._story_lock(story_id), self._lock:
            if (story_id in self._rings or story_id not in self._subscribers
                    or story_id in self._withdrawn):
                return
            delivered = self._last_seq.get(story_id)
            if delivered is not None and delivered > seq:
                return  # frames after `seq` went by before the ring: the next reader starts one
            self._sweep()
            if len(self._rings) >= recent.RING_STORIES:
                self._drop_ring(next(iter(self._rings)))  # the oldest ring makes room
            self._rings[story_id] = ring
            self._slugs[slug] = story_id

    def _drop_ring(self, story_id: int) -> None:
        # With the hub lock held. A story with no reader left goes with its ring.
        ring = self._rings.pop(story_id, None)
        if ring is None:
            return
        if self._slugs.get(ring.slug) == story_id:
            del self._slugs[ring.slug]
        if story_id in self._idle:
            self._forget(story_id)

    def _ring(self, frame: Frame) -> None:
        # Before the frame is offered to readers (see `resume`). A story change that leaves the
        # story unreadable here (draft, archived, another slug) or a gap drops the ring.
        with self._lock:
            ring = self._rings.get(frame.story_id)
            if ring is None:
                return
            if changes_story(frame) and not ring.keeps(frame) or not ring.append(frame):
                self._drop_ring(frame.story_id)

    def _sweep(self) -> None:
        # With the hub lock held: rings whose last reader left long enough ago go.
        now = time.monotonic()
        for story_id, since in list(self._idle.items()):
            if now - since >= recent.LINGER_SECONDS:
                self._drop_ring(story_id)

    def last_seq(self, story_id: int) -> int | None:
        """The seq last delivered for a story, or None if the hub is not tracking it."""
        return self._last_seq.get(story_id)

    def publish(self, frame: Frame) -> None:
        """Hand over a committed frame; returns without waiting for readers."""
        if self.relay is not None:
            self.relay.publish(frame)
        else:
            self.accept(frame)

    def publish_here(self, frame: Frame) -> None:
        """Hand over a committed frame without going through another of this process's threads.

        For background loops whose frames are timed (the poll announcer's one a second): in a
        saturated gevent worker each hand-over to another thread may wait a whole turn of the
        loop, and frames written a second apart would reach readers together.
        """
        if self.relay is not None:
            self.relay.publish_here(frame)
        else:
            self.deliver_here(frame)

    def deliver_here(self, frame: Frame) -> None:
        """Deliver a frame in the caller's thread; a copy met later is dropped (dispatch)."""
        self._dispatch_safely(frame)
        if self._waiting:  # a gap could not be read: the hub's thread tries again on time
            self._dispatcher.start()
            self._inbox.put(None)

    def accept(self, frame: Frame) -> None:
        """Queue a committed frame for ordered delivery to this process's readers."""
        self._dispatcher.start()
        self._inbox.put(frame)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop delivering (frames queued meanwhile stay undelivered); for an app that is done."""
        self._dispatcher.stop(timeout)

    def _dispatch_next(self) -> None:
        # While a frame waits for its gap, wake up in time to try again even if nothing
        # comes, and try again on time even if frames of other stories keep coming.
        timeout = max(0.0, self._next_retry - time.monotonic()) if self._waiting else None
        try:
            frame = self._inbox.get(timeout=timeout)
        except queue.Empty:
            frame = None
        if frame is not None:  # None: a wake-up from stop()
            self._dispatch_safely(frame)
        if self._waiting and time.monotonic() >= self._next_retry:
            self.retry_waiting()

    def _dispatch_safely(self, frame: Frame) -> None:
        try:
            self.dispatch(frame)
        except Exception:  # one bad frame must not stop delivery; readers resume by seq
            log.exception("delivering story %s seq %s failed", frame.story_id, frame.seq)

    def retry_waiting(self) -> None:
        """Try again to deliver the frames whose gap could not be read from the database."""
        self._next_retry = time.monotonic() + self.gap_retry_seconds
        with self._lock:
            waiting = list(self._waiting.values())
        for frame in waiting:
            self._dispatch_safely(frame)

    def dispatch(self, frame: Frame) -> None:
        """Deliver a committed frame, first filling any gap from the database so order holds."""
        story_id = frame.story_id
        with self._story_lock(story_id):
            with self._lock:
                if not self._tracks(story_id):
                    # Nobody here to keep in order: new readers replay from the log and fill
                    # holes themselves, so forgetting the story costs no gap loads of frames
                    # nobody reads (and whatever a reader leaving mid-delivery let back in).
                    self._last_seq.pop(story_id, None)
                    self._waiting.pop(story_id, None)
                    self._withdrawn.discard(story_id)
                    return
            last = self._last_seq.get(story_id)
            if last is not None and frame.seq <= last:
                return  # already delivered while filling an earlier gap
            backlog: list[Frame] = []
            if last is not None and frame.seq > last + 1 and self.load_gap is not None:
                # Another writer committed seq last+1 but has not handed it over yet.
                try:
                    backlog = list(self.load_gap(story_id, last, frame.seq))
                except Exception as error:
                    self._wait_for_gap(frame, error)
                    return
            for item in [*backlog, frame]:
                self._ring(item)
                if changes_story(item):
                    if withdraws(item):
                        self._withdrawn.add(story_id)
                        self._send_readers_away(story_id)
                    else:
                        self._withdrawn.discard(story_id)  # published again
                if story_id not in self._withdrawn:
                    self._deliver(item)
            with self._lock:
                if self._tracks(story_id):  # not brought back if the last one left
                    self._last_seq[story_id] = frame.seq
                waiting = self._waiting.get(story_id)
                if waiting is not None and waiting.seq <= frame.seq:
                    del self._waiting[story_id]
        # Once per frame, not per reader: this is the latency of the whole fan-out here.
        metrics.frame_delivered(frame.committed_at)

    def _wait_for_gap(self, frame: Frame, error: Exception) -> None:
        # Dropping the frame would hide it until the story's next event, which may never come:
        # keep the newest one (the gap before it is read with it) and try again shortly.
        with self._lock:
            waiting = self._waiting.get(frame.story_id)
            if waiting is None or waiting.seq < frame.seq:
                self._waiting[frame.story_id] = frame
        if waiting is None:  # once per wait, not once per try
            self._next_retry = time.monotonic() + self.gap_retry_seconds
            log.warning("could not read story %s's events before seq %s (%s); trying again "
                        "every %.0f s", frame.story_id, frame.seq, type(error).__name__,
                        self.gap_retry_seconds)

    def _deliver(self, frame: Frame) -> None:
        with self._lock:
            readers = tuple(self._subscribers.get(frame.story_id, ()))
        for subscription in readers:
            subscription.offer(frame)

    def _send_readers_away(self, story_id: int) -> None:
        # The story went back to draft: its readers get no more of it, and are told so.
        with self._lock:
            readers = tuple(self._subscribers.get(story_id, ()))
        for subscription in readers:
            subscription.close(unpublished=True)

    @contextmanager
    def _story_lock(self, story_id: int) -> Iterator[None]:
        with self._lock:
            story_lock = self._story_locks.setdefault(story_id, _StoryLock())
            story_lock.users += 1
        try:
            with story_lock.lock:
                yield
        finally:
            with self._lock:
                story_lock.users -= 1
                if not story_lock.users and not self._tracks(story_id):
                    del self._story_locks[story_id]


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
