"""gunicorn settings for `make run` and production: gevent workers, graceful stops, a scheduler."""

import os

worker_class = "gevent"
# One gevent worker holds thousands of readers; more workers need Redis for cross-process fan-out.
workers = int(os.environ.get("WEB_CONCURRENCY", 1))
worker_connections = int(os.environ.get("WORKER_CONNECTIONS", 20000))
bind = os.environ.get("BIND", "127.0.0.1:5000")
graceful_timeout = 10
timeout = 30
max_requests = 0


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
