"""gunicorn settings for `make run` and production: gevent workers, graceful stops, a scheduler."""

import glob
import os
import shutil
import tempfile

from liveblog.logging_setup import gunicorn_logconfig

worker_class = "gevent"
# One gevent worker holds thousands of readers; more workers need Redis for cross-process fan-out.
workers = int(os.environ.get("WEB_CONCURRENCY", 1))
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
    """Start the metrics from zero: files left by an earlier run would add to this one's."""
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
