"""gunicorn settings for `make run` and production: gevent workers, graceful stops, a scheduler."""

import glob
import hashlib
import os
import re
import resource
import shutil
import tempfile
import uuid

from liveblog.web.logs import chosen_format, gunicorn_logconfig


def default_workers() -> int:
    """WEB_CONCURRENCY if set; else one worker per core with Redis, and one alone without it."""
    if os.environ.get("WEB_CONCURRENCY"):
        return int(os.environ["WEB_CONCURRENCY"])
    # A gevent worker uses one core; without Redis a second worker would not hear the first
    # one's events, so its readers would miss them until the next one.
    return (os.cpu_count() or 1) if os.environ.get("REDIS_URL") else 1


def control_socket_path(binds: list[str]) -> str:
    """A control socket of this server's own, named after the addresses it listens on.

    gunicorn's default, $XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl, is one path
    for every server a user runs: a second master would replace the first one's socket.
    """
    name = re.sub(r"[^A-Za-z0-9.]+", "-", ",".join(binds)).strip("-")
    if len(name) > 48:  # a Unix socket's path must fit in 108 bytes
        name = hashlib.sha256(name.encode()).hexdigest()[:16]
    runtime = os.environ.get("RUNTIME_DIRECTORY") or os.environ.get("XDG_RUNTIME_DIR")
    if not (runtime and os.path.isdir(runtime.split(":")[0])):
        runtime = os.path.join(os.path.expanduser("~"), ".gunicorn")
    return os.path.join(runtime.split(":")[0], f"liveblog-{name}.ctl")


def raise_open_files_limit() -> int:
    """Lift this process's descriptor limit to the hard limit (workers inherit it); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == hard:
        return soft
    try:
        # Every reader is a socket: the usual soft limit of 1,024 would refuse the 1,025th.
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):  # an unlimited hard limit is more than the kernel allows
        return soft
    return hard


worker_class = "gevent"
workers = default_workers()
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", 20000))
bind = os.environ.get("BIND", "127.0.0.1:5000")
graceful_timeout = 10
timeout = 30
max_requests = 0

# Workers are separate processes: their metrics add up only through files in one directory, and
# prometheus-client reads the variable when a worker first imports it, so it is set here, in the
# master, before any worker starts.
METRICS_DIR_PREFIX = os.path.join(tempfile.gettempdir(), "liveblog-metrics-")
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="liveblog-metrics-")

# Names this server's workers' reports of open readers in Redis, so that the master can withdraw
# the report of a worker that died (audience.withdraw_worker).
os.environ.setdefault("LIVEBLOG_NODE", uuid.uuid4().hex)

# LOG_FORMAT if set; else text for a person watching the terminal (`make run`), JSON lines when
# stderr goes to a file or a collector. The workers' apps read the same choice.
os.environ["LOG_FORMAT"] = chosen_format(os.environ.get("LOG_FORMAT"))
logconfig_dict = gunicorn_logconfig(os.environ["LOG_FORMAT"])


def on_starting(server):
    """Raise the descriptor limit; start the metrics from zero; a control socket of its own."""
    own_control_socket(server)
    limit = raise_open_files_limit()
    if limit < worker_connections:
        server.log.warning("open files limited to %s, below %s connections per worker",
                           limit, worker_connections)
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def own_control_socket(server):
    """Unless one was chosen (--control-socket), use a control socket named after the binds."""
    setting = server.cfg.settings["control_socket"]
    if setting.value == setting.default:
        server.cfg.set("control_socket", control_socket_path(server.cfg.bind))


def child_exit(server, worker):
    """Drop a dead worker's live gauges and its report of open readers, so neither lingers."""
    from prometheus_client import multiprocess

    from liveblog.live import audience

    multiprocess.mark_process_dead(worker.pid)
    if os.environ.get("REDIS_URL"):
        audience.withdraw_worker(os.environ["REDIS_URL"], worker.pid)


def on_exit(server):
    """Remove the metrics directory this configuration made for itself."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if path.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


# CPython's collector scans every object it tracks each time the long-lived set has grown by a
# quarter, at most once every 10 collections of the middle generation (its third threshold). A
# reconnect storm adds thousands of long-lived readers in seconds: with the default, a
# 5,000-reader storm paid 5 full collections, 1.24 s of CPU with this worker's start-up objects
# in them and 0.47 s without; with 100, none (docs/benchmarks.md). Readers' objects are freed
# by reference counting when they leave; what waits for a full collection is only cyclic garbage
# that outlived two younger collections, so it waits longer, not forever.
FULL_COLLECTION_EVERY = 100


def spare_the_collector() -> None:
    """Keep the worker's start-up objects out of garbage collection, and full collections rare."""
    import gc

    # The app, its modules and caches live as long as the worker: never worth a scan.
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)


def post_worker_init(worker):
    """Start this worker's scheduler, webhooks, alerts and samples; close readers kindly at stop.

    Then set what the worker holds for good aside from garbage collection.
    """
    import signal

    import gevent

    from liveblog.alerts import Deliverer as AlertDeliverer
    from liveblog.analytics.samples import Sampler
    from liveblog.live import shutdown
    from liveblog.publishing.scheduler import Scheduler
    from liveblog.webhooks import Deliverer

    Scheduler(worker.wsgi).start()
    Deliverer(worker.wsgi).start()
    AlertDeliverer(worker.wsgi).start()
    Sampler(worker.wsgi).start()  # readers over time; every worker, one row per period

    def goodbye_then(handler):
        # Readers would otherwise hold the worker for the whole graceful timeout and then see a
        # dead socket; a 1012 close sends them straight to another process, where they resume.
        # gunicorn stops accepting only at its next tick, up to a second later: until then a
        # new reader is refused (503) rather than replayed to and sent away again. In a greenlet,
        # as gunicorn's own SIGQUIT handler does: the handler runs in gevent's event loop, where
        # nothing may wait (Redis, a lock, a thread's start).
        def handle(sig, frame):
            gevent.spawn(shutdown.begin, worker.wsgi)
            handler(sig, frame)

        return handle

    signal.signal(signal.SIGTERM, goodbye_then(worker.handle_exit))
    signal.signal(signal.SIGQUIT, goodbye_then(worker.handle_quit))
    signal.signal(signal.SIGINT, goodbye_then(worker.handle_quit))
    spare_the_collector()
