"""The hub's ring of recent frames and its memory of readable stories (live/recent.py)."""

from __future__ import annotations

import json
import threading

from liveblog.live import recent
from liveblog.live.hub import Frame, Hub
from liveblog.live.recent import Ring


def entry(seq: int, story_id: int = 1, size: int = 10) -> Frame:
    return Frame(story_id, seq, json.dumps({"type": "entry.created", "seq": seq, "x": "x" * size}))


def story_change(seq: int, story_id: int = 1, **story) -> Frame:
    story = {"slug": "storm", "status": "live", "archived": False, **story}
    return Frame(story_id, seq, json.dumps({"type": "story.updated", "seq": seq, "story": story},
                                           separators=(",", ":")))


def warm_hub(load_gap=None) -> tuple[Hub, object]:
    hub = Hub(load_gap=load_gap)
    reader = hub.subscribe(1)
    hub.warm(1, "storm", 2)
    return hub, reader


def test_a_ring_answers_resumes_inside_it_and_not_outside():
    ring = Ring("storm", 5)
    for seq in range(6, 10):
        assert ring.append(entry(seq))
    assert ring.append(entry(7))  # already known: skipped
    assert [f.seq for f in ring.after(5)] == [6, 7, 8, 9]
    assert [f.seq for f in ring.after(8)] == [9] and ring.after(9) == []
    assert ring.after(4) is None  # older than the ring: the log has it
    assert ring.after(10) is None  # newer than anything here: unsure
    assert not ring.append(entry(11))  # a gap: the caller drops the ring


def test_a_ring_keeps_its_bounds_in_frames_and_bytes(monkeypatch):
    monkeypatch.setattr(recent, "RING_FRAMES", 3)
    ring = Ring("storm", 0)
    for seq in range(1, 6):
        ring.append(entry(seq))
    assert ring.start == 2 and [f.seq for f in ring.after(2)] == [3, 4, 5]
    monkeypatch.setattr(recent, "RING_BYTES", 250)
    ring.append(entry(6, size=200))
    assert ring.start == 5 and ring.size <= 250 and [f.seq for f in ring.after(5)] == [6]


def test_the_hub_rings_what_it_delivers_and_answers_from_it():
    hub, reader = warm_hub()
    assert hub.cached_story("storm") == 1 and hub.cached_story("other") is None
    for seq in (3, 4, 5):
        hub.dispatch(entry(seq))
    assert [f.seq for f in reader.drain()] == [3, 4, 5]
    last, frames = hub.resume(1, 3)
    assert last == 5 and [f.seq for f in frames] == [4, 5]
    assert hub.resume(1, None) == (5, [])  # a new reader starts at the newest seq
    assert hub.resume(1, 1) == (5, None)  # older than the ring: replay from the log
    assert hub.resume(1, 6) is None  # newer: the database says whether it is a reset


def test_a_gap_filled_from_the_log_is_ringed_in_order():
    log = {seq: entry(seq) for seq in range(1, 8)}
    hub, _ = warm_hub(lambda story_id, after, before: [log[s] for s in range(after + 1, before)])
    hub.dispatch(log[3])
    hub.dispatch(log[6])  # 4 and 5 are committed but not handed over yet
    assert [f.seq for f in hub.resume(1, 2)[1]] == [3, 4, 5, 6]


def test_a_ring_that_missed_a_frame_is_dropped():
    hub, _ = warm_hub()
    hub.dispatch(entry(4))  # 3 never came, and the hub had no log to read it from
    assert hub.resume(1, 2) is None and hub.cached_story("storm") is None


def test_story_changes_that_make_a_story_unreadable_drop_its_state():
    for change in ({"status": "draft"}, {"status": "ended"}, {"archived": True},
                   {"slug": "renamed"}):
        hub, _ = warm_hub()
        hub.dispatch(story_change(3, **change))
        assert hub.cached_story("storm") is None and hub.resume(1, 2) is None, change
    hub, _ = warm_hub()
    hub.dispatch(story_change(3))  # a new title, say: still live at the same address
    assert hub.cached_story("storm") == 1 and [f.seq for f in hub.resume(1, 2)[1]] == [3]


def test_another_process_frame_through_the_relay_invalidates_too():
    hub = Hub()
    sent_away = threading.Event()
    hub.subscribe(1, wakeup=sent_away)
    hub.warm(1, "storm", 2)
    hub.accept(story_change(3, status="draft"))  # as the relay hands frames over
    assert sent_away.wait(5)
    assert hub.cached_story("storm") is None


def test_no_ring_for_a_story_nobody_reads_or_one_whose_replay_ended_it():
    hub = Hub()
    hub.warm(1, "storm", 2)
    assert hub.cached_story("storm") is None  # nobody subscribed: nothing keeps it current
    hub.subscribe(1)
    hub.warm(1, "storm", 2, change=story_change(2, status="ended"))
    assert hub.cached_story("storm") is None


def test_a_ring_outlives_its_last_reader_for_a_while_and_keeps_following(monkeypatch):
    hub, reader = warm_hub()
    hub.unsubscribe(reader)
    hub.dispatch(entry(3))  # no reader here, but the ring must miss nothing
    assert hub.tracked_stories() == [1] and hub.read_stories() == []
    assert [f.seq for f in hub.resume(1, 2)[1]] == [3]
    monkeypatch.setattr(recent, "LINGER_SECONDS", 0.0)
    assert hub.tracked_stories() == []  # swept: everything about the story goes
    assert hub.cached_story("storm") is None and not hub._story_locks and not hub._last_seq


def test_the_hub_keeps_a_bounded_number_of_rings(monkeypatch):
    monkeypatch.setattr(recent, "RING_STORIES", 3)
    hub = Hub()
    for story_id in range(1, 6):
        hub.subscribe(story_id)
        hub.warm(story_id, f"story-{story_id}", 0)
    assert len(hub._rings) == 3 and hub.cached_story("story-1") is None
    assert hub.cached_story("story-5") == 5
