"""Prometheus metrics: what is counted, that workers add up, and who may read /metrics."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack

import pytest
from prometheus_client import REGISTRY, multiprocess
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.parser import text_string_to_metric_families
from servers import free_port, wait_until_up
from sqlalchemy import select
from test_live import receive_frames, ws_url
from websockets.sync.client import connect

from liveblog.extensions import db
from liveblog.live import audience
from liveblog.live.hub import READER_QUEUE_SIZE, Frame, Hub
from liveblog.models import Story
from liveblog.ops.demo import DEMO_SLUG

# The fixtures: redis_server, two_processes, gunicorn_workers.
pytest_plugins = ["redis_support"]

WAIT = 5.0  # upper bound for anything that should happen in well under a second
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LATENCY = "liveblog_delivery_latency_seconds"


def scrape(base: str, headers: dict | None = None) -> str:
    """The text of /metrics."""
    request = urllib.request.Request(f"{base}/metrics", headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 if none)."""
    return sum(sample.value for family in text_string_to_metric_families(text)
               for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


def local(name: str, **labels: str) -> float:
    """A sample of this process's registry (0 if it has not been written yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def eventually(read, expected, timeout: float = WAIT):
    """Wait (bounded) until read() returns expected; the hub updates metrics in its own thread."""
    deadline = time.monotonic() + timeout
    while (current := read()) != expected:
        assert time.monotonic() < deadline, f"{current!r} never became {expected!r}"
        time.sleep(0.05)  # polling another thread's counter: there is no event to wait on


def story_id(app, slug: str = "storm") -> str:
    """A story's id as the metrics label it (the API shows slugs only)."""
    with app.app_context():
        return str(db.session.scalar(select(Story.id).filter_by(slug=slug)))


def test_a_reader_and_an_entry_show_in_the_metrics(app, live_server, actions):
    # The registry is the process's, and every test's first story has id 1: readers an earlier
    # test left on its story 1 would count here, and leave whenever they leave. A story id of
    # its own makes every change of its gauge this test's.
    with app.app_context():
        db.session.add(Story(id=random.randrange(10**6, 2 * 10**6), slug="storm",
                             title="Storm watch"))
        db.session.commit()
    story = story_id(app)

    def open_readers() -> float:
        return value(scrape(live_server), "liveblog_open_readers", story=story)

    before = scrape(live_server)
    with connect(ws_url(live_server)) as ws:
        eventually(open_readers, value(before, "liveblog_open_readers", story=story) + 1)
        actions.post_entry()
        receive_frames(ws, 1)
        eventually(lambda: value(scrape(live_server), f"{LATENCY}_count"),
                   value(before, f"{LATENCY}_count") + 1)
        during = scrape(live_server)
    eventually(open_readers, value(before, "liveblog_open_readers", story=story))
    after = scrape(live_server)

    def grew(name: str, text: str = after, **labels: str) -> float:
        return value(text, name, **labels) - value(before, name, **labels)

    assert grew("liveblog_websocket_connects_total") == 1
    assert grew("liveblog_websocket_disconnects_total") == 1
    assert grew("liveblog_events_published_total", type="entry.created") == 1
    assert grew("liveblog_events_published_total", type="entry.updated") == 0
    assert 0 < grew(f"{LATENCY}_sum", during) < WAIT
    assert grew(f"{LATENCY}_bucket", during, le="+Inf") == 1


def test_the_hub_counts_per_reader_and_observes_once_per_frame():
    hub = Hub()
    cut_off = []
    names = (f"{LATENCY}_count", "liveblog_slow_readers_dropped_total")
    before = {name: local(name) for name in names}
    open_before = local("liveblog_open_readers", story="9001")
    first = hub.subscribe(9001, on_overflow=lambda: cut_off.append(True))
    others = [hub.subscribe(9001) for _ in range(2)]
    assert local("liveblog_open_readers", story="9001") == open_before + 3
    hub.dispatch(Frame(9001, 1, "{}", committed_at=time.time()))
    hub.dispatch(Frame(9001, 2, "{}"))  # read from the log: no commit time, not observed
    # Three readers got the first frame, and its latency was observed once.
    assert local(f"{LATENCY}_count") == before[f"{LATENCY}_count"] + 1
    # Nobody drains, so all three fall too far behind; the transport's cut-off still runs.
    for seq in range(3, READER_QUEUE_SIZE + 3):
        hub.dispatch(Frame(9001, seq, "{}"))
    assert cut_off == [True] and all(s.overflowed for s in [first, *others])
    assert local("liveblog_slow_readers_dropped_total") == (
        before["liveblog_slow_readers_dropped_total"] + 3)
    for subscription in [first, *others, first]:  # a second unsubscribe of one reader: no-op
        hub.unsubscribe(subscription)
    assert local("liveblog_open_readers", story="9001") == open_before
    # Closes are counted by the socket, with their code (test_logging.py), not here.


def test_the_commit_time_crosses_redis_and_outages_are_counted(two_processes, redis_server):
    (a, b), token = two_processes
    a.app.test_client().post("/api/stories", json={"slug": "storm", "title": "Storm"},
                             headers={"Authorization": f"Bearer {token}"})
    observed, seconds = local(f"{LATENCY}_count"), local(f"{LATENCY}_sum")
    fallbacks = local("liveblog_redis_fallbacks_total")
    with connect(ws_url(b.url)) as reader:
        assert b.relay.subscribed.wait(WAIT)
        # So the entry cannot come from B's periodic look at the log before Redis brings it.
        b.relay.check_interval = 3600
        a.post_entry(token, "storm", "<p>Across</p>")
        receive_frames(reader, 1)
        # Only B has a reader: one observation, made with the time A committed at.
        eventually(lambda: local(f"{LATENCY}_count"), observed + 1)
        assert 0 < local(f"{LATENCY}_sum") - seconds < WAIT
        redis_server.stop()
        eventually(lambda: local("liveblog_redis_fallbacks_total"), fallbacks + 1)


SERVER = """
import sys
from werkzeug.serving import make_server
from liveblog import create_app
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
make_server("127.0.0.1", int(sys.argv[2]), app, threaded=True).serve_forever()
"""


def start_process(database_url: str, env: dict) -> tuple[subprocess.Popen, str]:
    """One app in its own Python process, on its own port; (process, base URL)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SERVER, database_url, str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/healthz", process)
    return process, base


# One engine: the subject is the server process, not the database; SQLite, as `make run`.
@pytest.mark.databases("sqlite")
@pytest.mark.slow
def test_processes_sharing_a_metrics_directory_add_up(app, actions, database_url, tmp_path):
    actions.create_story()
    story = story_id(app)
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "LIVEBLOG_INSTANCE": str(tmp_path / "instance")}
    with ExitStack() as stack:
        processes = []
        for _ in range(2):
            process, base = start_process(database_url, env)
            stack.callback(process.wait, timeout=10)
            stack.callback(process.terminate)
            processes.append((process, base))
        (_, a), (b_process, b) = processes
        readers = [stack.enter_context(connect(ws_url(base))) for base in (a, b, b)]

        def open_readers() -> float:
            return value(scrape(a), "liveblog_open_readers", story=story)

        # A answers for both: one reader of its own and two of B's.
        eventually(open_readers, 3)
        assert value(scrape(a), "liveblog_websocket_connects_total") == 3
        assert audience.gauge_sum(str(directory), int(story)) == 3
        # Every story's, as the readers-over-time sampler reads them without Redis.
        assert audience.gauge_sums(str(directory)) == {int(story): 3}
        b_process.kill()  # no goodbye: what gunicorn's child_exit hook cleans up after
        b_process.wait(timeout=10)
        multiprocess.mark_process_dead(b_process.pid, str(directory))
        assert open_readers() == 1
        assert audience.gauge_sum(str(directory), int(story)) == 1
        assert audience.gauge_sums(str(directory)) == {int(story): 1}
        # Counters of a dead process still count: they are totals since the start.
        assert value(scrape(a), "liveblog_websocket_connects_total") == 3
        readers[0].close()
        eventually(open_readers, 0)


# One engine: the subject is the server processes, not the database; PostgreSQL, as in
# production with several workers.
@pytest.mark.databases("postgresql")
@pytest.mark.slow
def test_gunicorn_workers_report_every_reader_on_every_scrape(gunicorn_workers):
    base, _ = gunicorn_workers
    with ExitStack() as stack:
        for _ in range(6):  # any worker may take each one
            stack.enter_context(connect(ws_url(base, DEMO_SLUG)))
        eventually(lambda: value(scrape(base), "liveblog_open_readers"), 6)
        # A new connection each time, so different workers answer: each adds up all of them.
        assert {value(scrape(base), "liveblog_open_readers") for _ in range(8)} == {6}


@pytest.mark.parametrize(("remote", "headers", "status"), [
    ("127.0.0.1", {}, 200),
    ("10.1.2.3", {}, 200),
    ("192.168.0.7", {}, 200),
    ("::1", {}, 200),
    ("203.0.113.9", {}, 403),
    ("8.8.8.8", {}, 403),
    ("::ffff:8.8.8.8", {}, 403),
    ("::ffff:10.0.0.1", {}, 200),
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 403),  # a proxy on the same machine
    ("203.0.113.9", {"Authorization": "Bearer sesame"}, 200),
    ("203.0.113.9", {"Authorization": "Bearer sesam"}, 403),
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9", "Authorization": "Bearer sesame"}, 200),
])
def test_metrics_answer_private_networks_and_the_token_only(app, client, remote, headers,
                                                            status):
    app.config["METRICS_TOKEN"] = "sesame"
    response = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": remote})
    assert response.status_code == status
    if status == 200:
        assert response.headers["Cache-Control"].endswith("no-store")
        assert response.mimetype == "text/plain"
        assert "liveblog_open_readers" in response.get_data(as_text=True)


def test_without_a_token_configured_no_bearer_gets_in(app, client):
    app.config["METRICS_TOKEN"] = None
    response = client.get("/metrics", headers={"Authorization": "Bearer "},
                          environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403


def test_a_worker_caught_creating_its_metrics_file_does_not_fail_the_scrape(client, tmp_path,
                                                                          monkeypatch):
    # prometheus-client creates a worker's file before it sizes it (client_python#1199): a
    # scrape that reads it in between must still answer, with every other worker's metrics.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    written = MmapedDict(str(tmp_path / "counter_101.db"))
    name = "liveblog_websocket_connects"
    written.write_value(mmap_key(name, f"{name}_total", [], [], "Readers subscribed."), 3.0, 0.0)
    written.close()
    (tmp_path / "counter_102.db").touch()  # the other worker, between creating and sizing
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 200
    assert value(response.get_data(as_text=True), "liveblog_websocket_connects_total") == 3.0
