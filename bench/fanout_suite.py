"""The published fan-out runs: 1,000, 3,000 and 10,000 readers, one process and two with Redis.

Every run gets a fresh gunicorn (so memory is the run's own) on a private instance, and for two
processes a private redis-server; `bench/fanout.py` does the measuring. Prints one Markdown
table row per run and writes every result to bench/results/suite-<processes>p-<readers>.json.

Example (about 6 minutes):
    .venv/bin/python bench/fanout_suite.py --readers 1000 3000 10000 --processes 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from servers import ROOT, VENV_BIN, Gunicorn, free_port, fresh_instance, prepare_instance

RESULTS = os.path.join(ROOT, "bench", "results")
REDIS_SERVER = "/usr/bin/redis-server"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--readers", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], choices=(1, 2, 4))
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--connect-rate", type=float, default=500.0)
    parser.add_argument("--timeout", type=float, default=240.0, help="per run")
    return parser.parse_args(argv)


@contextmanager
def redis_server() -> Iterator[str]:
    """A private redis-server without persistence; yields its URL."""
    directory = tempfile.mkdtemp(prefix="bench-redis-")
    port = free_port(5780, 5799)
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from servers import wait_for_port

        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def run_one(instance: str, token: str, processes: int, readers: int, args) -> dict:
    """One fresh server, one fan-out run; returns fanout.py's result."""
    with ExitStack() as stack:
        server = Gunicorn(instance, None, processes, free_port(5700, 5779))
        server.env["WEB_CONCURRENCY"] = str(processes)  # rate limits: off in app_environment
        if processes > 1:
            server.env["REDIS_URL"] = stack.enter_context(redis_server())
        stack.callback(server.stop)
        server.start()
        path = os.path.join(RESULTS, f"suite-{processes}p-{readers}.json")
        command = [
            os.path.join(VENV_BIN, "python"),
            os.path.join(ROOT, "bench", "fanout.py"),
            "--url",
            server.url,
            "--token",
            token,
            "--create-story",
            "--readers",
            str(readers),
            "--entries",
            str(args.entries),
            "--rate",
            str(args.rate),
            "--connect-rate",
            str(args.connect_rate),
            "--timeout",
            str(args.timeout),
            "--server-pid",
            str(server.pid),
            "--save",
            path,
        ]
        completed = subprocess.run(command, cwd=ROOT, timeout=args.timeout + 120)
        with open(path) as handle:
            result = json.load(handle)
        result["exit_status"] = completed.returncode
        return result


def table_row(processes: int, result: dict) -> str:
    """One Markdown row: integrity, latency, memory and CPU of a run."""
    server, lat = result["server"] or {}, result["latency_ms"]
    rss = server.get("rss_mb", {})
    per_reader = (
        (rss["connected"] - rss["start"]) * 1024 / result["connected"]
        if result["connected"] and "connected" in rss
        else None
    )
    cpu = server.get("cpu_s", {})
    return (
        f"| {result['params']['readers']:,} | {processes} | {result['connect_failures']} | "
        f"{result['lost']} / {result['duplicated']} / {result['out_of_order']} | "
        f"{lat['p50']} / {lat['p99']} / {lat['max']} | {server.get('vmhwm_mb')} | "
        f"{per_reader:.0f} | {cpu.get('connect')} / {cpu.get('publish')} | "
        f"{server.get('cpu_us_per_frame')} | {result['machine']['other_cpu_s']} |"
        if per_reader is not None
        else f"| {result['params']['readers']:,} | {processes} | incomplete: see the JSON |"
    )


def main(argv: list[str] | None = None) -> int:
    """Run every (processes, readers) pair and print the table."""
    args = parse_args(argv)
    if 2 in args.processes and not os.access(REDIS_SERVER, os.X_OK):
        print(f"{REDIS_SERVER} is missing (apt-get install redis-server)", file=sys.stderr)
        return 2
    os.makedirs(RESULTS, exist_ok=True)
    instance = fresh_instance("bench-fanout-")
    token = prepare_instance(instance, None)
    print(
        "| readers | processes | connect failures | lost / dup / out of order | "
        "p50 / p99 / max ms | server peak RSS MB | KB per reader | server CPU s "
        "(connect / publish) | server µs/frame | other CPU s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    worst = 0
    try:
        for processes in args.processes:
            for readers in args.readers:
                result = run_one(instance, token, processes, readers, args)
                worst = max(worst, result["exit_status"])
                print(table_row(processes, result), flush=True)
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    return worst


if __name__ == "__main__":
    sys.exit(main())
