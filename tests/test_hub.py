"""The in-process hub: one queue per reader, ordered delivery, gap filling, slow readers."""

from __future__ import annotations

import threading

from liveblog import hub as hub_module
from liveblog.hub import Frame, Hub


def frame(seq: int, story_id: int = 1) -> Frame:
    return Frame(story_id, seq, f'{{"seq":{seq}}}')


def test_every_subscriber_gets_the_same_frame_object():
    hub = Hub(inline=True)
    first, second = hub.subscribe(1), hub.subscribe(1)
    other_story = hub.subscribe(2)
    published = frame(1)
    hub.publish(published)
    (got_first,), (got_second,) = first.drain(), second.drain()
    assert got_first is published and got_second is published  # serialised once, shared
    assert other_story.drain() == []
    assert hub.reader_count(1) == 2


def test_a_late_frame_is_filled_from_the_log_and_its_copy_dropped():
    log = {seq: frame(seq) for seq in range(1, 6)}
    loads = []

    def load_gap(story_id, after, before):
        loads.append((after, before))
        return [log[seq] for seq in range(after + 1, before)]

    hub = Hub(load_gap=load_gap, inline=True)
    reader = hub.subscribe(1)
    hub.publish(log[1])
    hub.publish(log[4])  # 2 and 3 were committed but their writers have not published yet
    hub.publish(log[2])
    hub.publish(log[3])
    hub.publish(log[5])
    assert [f.seq for f in reader.drain()] == [1, 2, 3, 4, 5]
    assert loads == [(1, 4)]


def test_unsubscribed_readers_get_nothing():
    hub = Hub(inline=True)
    reader = hub.subscribe(1)
    hub.unsubscribe(reader)
    hub.publish(frame(1))
    assert reader.drain() == [] and hub.reader_count(1) == 0


def test_a_reader_that_falls_behind_is_cut_off_once(monkeypatch):
    monkeypatch.setattr(hub_module, "READER_QUEUE_SIZE", 3)
    cut = []
    hub = Hub(inline=True)
    slow = hub.subscribe(1, on_overflow=lambda: cut.append(True))
    fast = hub.subscribe(1)
    for seq in range(1, 8):
        hub.publish(frame(seq))
        assert [f.seq for f in fast.drain()] == [seq]
    assert slow.overflowed and cut == [True]
    assert [f.seq for f in slow.drain()] == [1, 2, 3]


def test_delivery_happens_outside_the_publishing_thread():
    """The request that publishes returns at once; the hub's own thread feeds the readers."""

    class RecordingEvent(threading.Event):
        def set(self):
            self.thread = threading.current_thread()
            super().set()

    hub = Hub()
    woken = RecordingEvent()
    reader = hub.subscribe(1, wakeup=woken)
    hub.publish(frame(1))
    assert woken.wait(timeout=5)
    assert woken.thread is not threading.current_thread()
    assert [f.seq for f in reader.drain()] == [1]


def test_close_all_sends_readers_away_including_ones_that_arrive_late():
    hub = Hub(inline=True)
    woken = threading.Event()
    early = hub.subscribe(1, wakeup=woken)
    assert hub.close_all() == 1
    assert early.closing and woken.is_set()
    late = hub.subscribe(2)
    assert late.closing
