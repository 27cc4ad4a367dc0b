"""A live story's recent frames and public state, so most reconnects need no database.

The hub keeps a `Ring` for a story once a reader's connect has read the story from the database
(live, not archived) and replayed its log: from then on the hub appends every frame it delivers,
in seq order, so the ring holds every committed frame after its `start`. A reader resuming with
`after=` inside the ring is answered from it; anything older, or any doubt, goes to the database.
"""

from __future__ import annotations

import json
from collections import deque
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the hub imports this module
    from liveblog.live.hub import Frame

# Per story: the newest frames kept, and their total size (a few big entries stay in the bound).
RING_FRAMES = 256
RING_BYTES = 256 * 1024
# Stories with a ring per process (so at most RING_STORIES * RING_BYTES of frames), and how
# long a story's ring outlives its last reader here (a reconnect storm comes back within it).
RING_STORIES = 128
LINGER_SECONDS = 60.0


class Ring:
    """Every committed frame of one readable story after `start`, up to `last`, in seq order."""

    __slots__ = ("slug", "start", "frames", "size")

    def __init__(self, slug: str, start: int):
        self.slug = slug  # the address readers connect to, as read from the database
        self.start = start
        self.frames: deque[Frame] = deque()
        self.size = 0

    @property
    def last(self) -> int:
        """The newest seq the ring knows of."""
        return self.start + len(self.frames)

    def append(self, frame: Frame) -> bool:
        """Keep the next frame (one already known is skipped); False if one was missed."""
        if frame.seq <= self.last:
            return True
        if frame.seq != self.last + 1:
            return False
        self.frames.append(frame)
        self.size += len(frame.text)
        while len(self.frames) > RING_FRAMES or (self.size > RING_BYTES and self.frames):
            oldest = self.frames.popleft()
            self.size -= len(oldest.text)
            self.start = oldest.seq
        return True

    def after(self, seq: int) -> list[Frame] | None:
        """The frames after `seq` if the ring covers it, else None (older, or newer than known)."""
        if seq < self.start or seq > self.last:
            return None
        return list(islice(self.frames, seq - self.start, None))

    def keeps(self, story_change: Frame) -> bool:
        """Whether the story stays readable at this address after a story.updated frame."""
        try:
            story = json.loads(story_change.text)["story"]
            return (story["status"] == "live" and not story.get("archived")
                    and story["slug"] == self.slug)
        except (ValueError, KeyError, TypeError):
            return False  # unsure: the database decides at the next connect
