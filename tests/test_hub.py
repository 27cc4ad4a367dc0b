"""The in-process hub: one queue per reader, ordered delivery, gap filling, slow readers."""

from __future__ import annotations

import threading
import time

from prometheus_client import REGISTRY
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from liveblog import metrics
from liveblog.live import hub as hub_module
from liveblog.live.hub import Frame, Hub
from liveblog.ops import prometheus


def frame(seq: int, story_id: int = 1) -> Frame:
    return Frame(story_id, seq, f'{{"seq":{seq}}}')


def test_every_subscriber_gets_the_same_frame_object():
    hub = Hub()
    first, second = hub.subscribe(1), hub.subscribe(1)
    other_story = hub.subscribe(2)
    published = frame(1)
    hub.dispatch(published)
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

    hub = Hub(load_gap=load_gap)
    reader = hub.subscribe(1)
    hub.dispatch(log[1])
    hub.dispatch(log[4])  # 2 and 3 were committed but their writers have not published yet
    hub.dispatch(log[2])
    hub.dispatch(log[3])
    hub.dispatch(log[5])
    assert [f.seq for f in reader.drain()] == [1, 2, 3, 4, 5]
    assert loads == [(1, 4)]


def test_unsubscribed_readers_get_nothing():
    hub = Hub()
    reader = hub.subscribe(1)
    hub.unsubscribe(reader)
    hub.dispatch(frame(1))
    assert reader.drain() == [] and hub.reader_count(1) == 0


def test_a_reader_that_falls_behind_is_cut_off_once(monkeypatch):
    monkeypatch.setattr(hub_module, "READER_QUEUE_SIZE", 3)
    cut = []
    hub = Hub()
    slow = hub.subscribe(1, on_overflow=lambda: cut.append(True))
    fast = hub.subscribe(1)
    for seq in range(1, 8):
        hub.dispatch(frame(seq))
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


def test_a_stopped_hub_ends_its_delivery_thread():
    hub = Hub()
    reader = hub.subscribe(1, wakeup=threading.Event())
    hub.publish(frame(1))
    delivery = [t for t in threading.enumerate() if t.name == "liveblog-hub"
                and t is hub._dispatcher._thread]
    assert delivery and delivery[0].is_alive()
    hub.stop(timeout=5)
    assert not delivery[0].is_alive()
    assert [f.seq for f in reader.drain()] == [1]


def test_a_frame_delivered_here_whose_gap_cannot_be_read_is_tried_again_by_the_hub():
    # deliver_here runs in a caller's thread (a background loop, the relay's listener); a gap
    # it cannot read must not wait for the story's next frame, which may never come.
    outage = ["database down"]

    def load_gap(story_id, after, before):
        if outage:
            raise OSError(outage.pop())
        return [frame(seq) for seq in range(after + 1, before)]

    hub = Hub(load_gap=load_gap)
    hub.gap_retry_seconds = 0.05
    woken = threading.Event()
    reader = hub.subscribe(1, wakeup=woken)
    hub.deliver_here(frame(1))
    assert [f.seq for f in reader.drain()] == [1]
    woken.clear()
    hub.deliver_here(frame(3))  # seq 2 is in the log, which cannot be read just now
    assert reader.drain() == []
    assert woken.wait(5)
    assert [f.seq for f in reader.drain()] == [2, 3]
    hub.stop()


def test_close_all_sends_readers_away_including_ones_that_arrive_late():
    hub = Hub()
    woken = threading.Event()
    early = hub.subscribe(1, wakeup=woken)
    assert hub.close_all() == 1
    assert early.closing and woken.is_set()
    late = hub.subscribe(2)
    assert late.closing


def test_a_frame_whose_gap_cannot_be_read_is_kept_and_delivered_in_order():
    log = {seq: frame(seq) for seq in range(1, 4)}
    outage = ["database down"]  # the first read of the log fails, the next one works

    def load_gap(story_id, after, before):
        if outage:
            raise OSError(outage.pop())
        return [log[seq] for seq in range(after + 1, before)]

    hub = Hub(load_gap=load_gap)
    hub.gap_retry_seconds = 0.05
    woken = threading.Event()
    reader = hub.subscribe(1, wakeup=woken)
    received = []

    def receive(count: int) -> list[int]:
        deadline = time.monotonic() + 5
        while len(received) < count:
            assert woken.wait(max(0.0, deadline - time.monotonic())), received
            woken.clear()
            received.extend(f.seq for f in reader.drain())
        return received

    hub.publish(log[1])
    assert receive(1) == [1]
    hub.publish(log[3])  # 2 is committed but its writer has not published it (and never will)
    assert receive(3) == [1, 2, 3]  # 3 was not dropped: it waited for the gap, then came


def test_what_the_hub_keeps_per_story_goes_with_its_last_reader():
    hub = Hub(load_gap=lambda story_id, after, before: [])
    for story_id in range(9100, 9150):
        readers = [hub.subscribe(story_id) for _ in range(2)]
        hub.dispatch(frame(1, story_id))
        hub.dispatch(frame(2, story_id))
        for reader in readers:
            hub.unsubscribe(reader)
    assert not hub._story_locks and not hub._last_seq
    # Nor does a story nobody reads keep an open-readers series.
    assert REGISTRY.get_sample_value("liveblog_open_readers", {"story": "9100"}) is None


def test_a_story_set_back_to_draft_sends_its_readers_away_and_streams_no_more():
    hub = Hub()
    woken = threading.Event()
    reader = hub.subscribe(1, wakeup=woken)
    other_story = hub.subscribe(2)
    hub.dispatch(frame(1))
    hub.dispatch(Frame(1, 2, '{"type":"story.updated","seq":2,"story":{"status":"draft"}}'))
    hub.dispatch(Frame(1, 3, '{"type":"story.updated","seq":3,"story":{"status":"draft"}}'))
    hub.dispatch(frame(1, 2))
    assert reader.closing and reader.unpublished and woken.is_set()
    assert [f.seq for f in reader.drain()] == [1]  # nothing after it went back to draft
    assert not other_story.closing and [f.seq for f in other_story.drain()] == [1]


def test_a_scrape_of_the_workers_files_leaves_out_stories_nobody_reads(tmp_path):
    # Several gunicorn workers keep metrics in files, which cannot forget a series.
    name = metrics.OPEN_READERS_NAME
    values = MmapedDict(str(tmp_path / "gauge_livesum_4242.db"))
    for story, readers in (("1", 0.0), ("2", 3.0)):
        values.write_value(mmap_key(name, name, ["story"], [story], "readers"), readers, 0.0)
    values.close()
    collected = prometheus._WithoutIdleStories(str(tmp_path)).collect()
    samples = [s for family in collected if family.name == name for s in family.samples]
    assert [(s.labels["story"], s.value) for s in samples] == [("2", 3.0)]
