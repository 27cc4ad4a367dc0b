"""gunicorn settings for `make run` and production: gevent workers, graceful stops, a scheduler."""

import glob
import os
import resource
import shutil
import tempfile

from liveblog.logging_setup import gunicorn_logconfig


def default_workers() -> int:
    """WEB_CONCURRENCY if set; else one worker per core with Redis, and one alone without it."""
    if os.environ.get("WEB_CONCURRENCY"):
        return int(os.environ["WEB_CONCURRENCY"])
    # A gevent worker uses one core; without Redis a second worker would not hear the first
    # one's events, so its readers would miss them until the next one.
    return (os.cpu_count() or 1) if os.environ.get("REDIS_URL") else 1


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

# JSON lines by default in production; LOG_FORMAT=text for people reading a terminal.
os.environ.setdefault("LOG_FORMAT", "json")
if os.environ["LOG_FORMAT"] == "json":
    logconfig_dict = gunicorn_logconfig("json")


def on_starting(server):
    """Raise the descriptor limit; start the metrics from zero (old files would add up)."""
    limit = raise_open_files_limit()
    if limit < worker_connections:
        server.log.warning("open files limited to %s, below %s connections per worker",
                           limit, worker_connections)
    for path in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(path)


def child_exit(server, worker):
    """Drop a dead worker's live gauges (its open readers) from the metrics."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    """Remove the metrics directory this configuration made for itself."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if path.startswith(METRICS_DIR_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


def post_worker_init(worker):
    """Start this worker's scheduler and webhook deliverer; close readers kindly on shutdown."""
    import signal

    from liveblog.scheduler import Scheduler
    from liveblog.webhooks import Deliverer

    Scheduler(worker.wsgi).start()
    Deliverer(worker.wsgi).start()
    hub = worker.wsgi.extensions["liveblog.hub"]

    def goodbye_then(handler):
        # Readers would otherwise hold the worker for the whole graceful timeout and then see a
        # dead socket; a 1012 close sends them straight to another process, where they resume.
        def handle(sig, frame):
            hub.close_all()
            handler(sig, frame)

        return handle

    signal.signal(signal.SIGTERM, goodbye_then(worker.handle_exit))
    signal.signal(signal.SIGQUIT, goodbye_then(worker.handle_quit))
    signal.signal(signal.SIGINT, goodbye_then(worker.handle_quit))
