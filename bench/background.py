"""What the background loops cost a server process while nothing is due: CPU per pass.

Every gunicorn worker runs the scheduler, the webhook and alert deliverers once a second
(ops/gunicorn_conf.py), whether or not anything is due, so their idle passes are a cost every
process pays every second, readers or not. This times each loop's pass in this process, on a
private instance with the demo story (SQLite), as CPU time (time.process_time) over many
passes, so other work on the machine does not count. The scheduler is timed three ways: its
loop's pass (what a worker pays a second), its one question (is anything timed due?) and its
full pass (run_once: every check).

Exit status: 0 measured; 2 the run could not start.

Example:
    .venv/bin/python bench/background.py --passes 500
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import servers  # noqa: E402 - bench/servers.py, next to this file
from common import (  # noqa: E402 - bench/common.py, next to this file
    add_output_arguments,
    benchmark_parser,
    run_and_finish,
)


def parse_args(argv: list[str] | None = None):
    """Parse the command line."""
    parser = benchmark_parser(__doc__)
    parser.add_argument("--passes", type=int, default=500, help="passes timed per loop")
    add_output_arguments(parser)
    return parser.parse_args(argv)


def cpu_ms_per_call(call, passes: int) -> float:
    """CPU milliseconds per call of `call`, after one call to warm it up."""
    call()
    started = time.process_time()
    for _ in range(passes):
        call()
    return round((time.process_time() - started) / passes * 1000, 3)


def run(args) -> dict:
    """Time each loop's idle pass on a fresh demo instance."""
    instance = servers.fresh_instance("background-")
    servers.prepare_instance(instance, None)
    os.environ["LIVEBLOG_INSTANCE"] = instance
    from liveblog import create_app
    from liveblog.alerts import Deliverer as AlertDeliverer
    from liveblog.publishing.scheduler import Scheduler
    from liveblog.webhooks import Deliverer

    app = create_app()
    scheduler = Scheduler(app)
    timings = {"scheduler pass": cpu_ms_per_call(scheduler._pass, args.passes)}
    if hasattr(scheduler, "anything_due"):  # before it, every pass was a full one
        timings["scheduler question"] = cpu_ms_per_call(scheduler.anything_due, args.passes)
    timings |= {
        "scheduler full pass": cpu_ms_per_call(scheduler.run_once, args.passes),
        "webhooks pass": cpu_ms_per_call(Deliverer(app).run_once, args.passes),
        "alerts pass": cpu_ms_per_call(AlertDeliverer(app).run_once, args.passes),
    }
    per_second = sum(timings[name] for name in ("scheduler pass", "webhooks pass", "alerts pass"))
    return {"passes": args.passes, "cpu_ms": timings, "cpu_ms_per_second": round(per_second, 3),
            "versions": servers.versions()}


def print_report(result: dict) -> None:
    """Print one line per loop, then what a worker pays a second."""
    for name, ms in result["cpu_ms"].items():
        print(f"{name:22s} {ms:7.3f} ms CPU")
    print(f"a worker, each second  {result['cpu_ms_per_second']:7.3f} ms CPU "
          f"(one pass of each loop)")


if __name__ == "__main__":
    sys.exit(run_and_finish(run, parse_args(), print_report, lambda result: 0))
