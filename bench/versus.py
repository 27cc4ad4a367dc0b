"""Ours against the reference server, side by side in one run: every figure as a ratio.

For each scenario, rounds alternate: ours, reference, ours, reference, ... Each run gets a fresh
server (ours: one gevent gunicorn worker on a private instance, as bench/fanout_suite.py starts
it; the reference: bench/reference_server.py), and bench/fanout.py (imported) measures it with
the same client and the same parameters. Prints one Markdown table per scenario, each metric's
median over the rounds for both and the ratio ours / reference, and saves every result as JSON.

Scenarios:
  --connect-storm [N]   N readers (5,000) opened at once, all resuming with after=, 6 entries at 2/s
  --fanout N [N ...]    N readers opened at 500/s, 20 entries at 2/s: CPU per frame, p99
  --memory N [N ...]    N readers, RSS before and with them open (every table shows it too)

Example (a quiet machine; about 20 minutes):
    .venv/bin/python bench/versus.py --connect-storm --fanout 3000 10000 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from urllib.parse import urlsplit

import fanout
from common import machine_cpu_seconds
from servers import (
    ROOT,
    VENV_BIN,
    Gunicorn,
    free_port,
    fresh_instance,
    prepare_instance,
    versions,
    wait_for_port,
)

RESULTS = os.path.join(ROOT, "bench", "results")
REFERENCE = os.path.join(ROOT, "bench", "reference_server.py")
SIDES = ("liveblog", "reference")


@dataclass(frozen=True)
class Scenario:
    """One set of fanout.py parameters, run against both servers."""

    name: str
    readers: int
    entries: int
    rate: float
    connect_rate: float
    idle: float = 0.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--connect-storm", type=int, nargs="?", const=5000, metavar="N")
    parser.add_argument("--fanout", type=int, nargs="+", default=[], metavar="N")
    parser.add_argument("--memory", type=int, nargs="+", default=[], metavar="N")
    parser.add_argument("--rounds", type=int, default=3, help="runs per side and scenario")
    parser.add_argument("--entries", type=int, help="entries per run (default: per scenario)")
    parser.add_argument("--rate", type=float, default=2.0, help="entries posted per second")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per run")
    parser.add_argument("--save", metavar="PATH", help="JSON results (default: bench/results/)")
    args = parser.parse_args(argv)
    counts = [*([args.connect_storm] if args.connect_storm is not None else []), *args.fanout]
    counts += args.memory
    if not counts:
        parser.error("name at least one scenario: --connect-storm, --fanout N or --memory N")
    if not 1 <= min(counts) <= max(counts) <= 20000 or not 1 <= args.rounds <= 9:
        parser.error("readers must be in 1..20000 (this machine's open-file limit), rounds 1..9")
    if not 0 < args.timeout <= 1800:
        parser.error("--timeout must be in (0, 1800]")
    return args


def scenarios(args: argparse.Namespace) -> list[Scenario]:
    """The scenarios the command line asked for, in a fixed order."""
    found = []
    if args.connect_storm is not None:
        # "At once": the client opens every socket without pacing, as after a deploy.
        found.append(
            Scenario(
                f"connect storm, {args.connect_storm:,} readers",
                args.connect_storm,
                args.entries or 6,
                args.rate,
                1e9,
            )
        )
    for readers in args.fanout:
        found.append(
            Scenario(f"fan-out, {readers:,} readers", readers, args.entries or 20, args.rate, 500.0)
        )
    for readers in args.memory:
        found.append(
            Scenario(
                f"memory, {readers:,} readers",
                readers,
                args.entries or 2,
                args.rate,
                500.0,
                idle=2.0,
            )
        )
    return found


# ---------------------------------------------------------------------------------------------
# The two servers


class Reference:
    """bench/reference_server.py in its own process, on two free ports."""

    def __init__(self, token: str):
        self.port = free_port(5700, 5778)
        self.http_port = free_port(self.port + 1, 5779)
        self.token = token
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The WebSocket side's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def publish_url(self) -> str:
        """The HTTP API's base URL."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int | None:
        """The server's pid."""
        return self.process.pid if self.process else None

    def start(self) -> Reference:
        """Start the server and wait until both ports accept connections."""
        command = [
            os.path.join(VENV_BIN, "python"),
            REFERENCE,
            "--port",
            str(self.port),
            "--http-port",
            str(self.http_port),
            "--token",
            self.token,
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        wait_for_port(self.port)
        wait_for_port(self.http_port)
        return self

    def stop(self) -> None:
        """SIGTERM, then kill if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def run_side(side: str, scenario: Scenario, instance: str, token: str, timeout: float) -> dict:
    """Start a fresh server of one side, measure it with fanout.py, stop it; fanout's result."""
    with ExitStack() as stack:
        if side == "liveblog":
            server = Gunicorn(instance, None, 1, free_port(5700, 5779))
            server.env["WEB_CONCURRENCY"] = "1"
            urls = ["--url", server.url]
        else:
            server = Reference(token)
            urls = ["--url", server.url, "--publish-url", server.publish_url]
        stack.callback(server.stop)
        try:
            server.start()
            wait_until_serving(urls[-1])
        except RuntimeError as error:
            return {"error": str(error), "exit_status": 2}
        common = [*urls, "--token", token, "--create-story", "--server-pid", str(server.pid)]
        # One reader and one entry first: the first request and socket a fresh process serves
        # pay one-time costs (imports, template compilation) that are no part of a connect.
        warm_up = measure([*common, "--readers", "1", "--entries", "1", "--timeout", "30"], 30)
        if warm_up["exit_status"]:
            why = (
                warm_up.get("error")
                or warm_up.get("first_failure")
                or warm_up.get("first_post_error")
            )
            return {"error": f"warm-up failed: {why}", "exit_status": 2}
        result = measure(
            [
                *common,
                *("--readers", str(scenario.readers), "--entries", str(scenario.entries)),
                *("--rate", str(scenario.rate), "--connect-rate", str(scenario.connect_rate)),
                *("--idle", str(scenario.idle), "--timeout", str(timeout)),
            ],
            timeout,
        )
        if result["exit_status"] and isinstance(server, Gunicorn):
            # The instance goes at the end: keep what the server said about a failed run.
            with open(server.log, errors="replace") as handle:
                result["server_log_tail"] = handle.readlines()[-40:]
        return result


def wait_until_serving(base_url: str, timeout: float = 90.0) -> None:
    """Wait until the server answers /metrics: a fresh gunicorn worker loads the app lazily."""
    parts = urlsplit(base_url)
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            conn.request("GET", "/metrics")
            if conn.getresponse().status == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{base_url} did not answer /metrics within {timeout:g} s")
        time.sleep(0.5)  # refused or not 200 yet: there is no event to wait on


def measure(argv: list[str], timeout: float) -> dict:
    """One fanout.py run in this process; its result with its exit status."""
    args = fanout.parse_args(argv)
    runner = fanout.uvloop.run if fanout.uvloop is not None else asyncio.run
    try:
        result = runner(asyncio.wait_for(fanout.run_benchmark(args), timeout + 30))
    except (TimeoutError, fanout.SetupError, OSError) as error:
        return {"error": f"{type(error).__name__}: {error}", "exit_status": 2}
    result["exit_status"] = fanout.exit_status(result)
    return result


# ---------------------------------------------------------------------------------------------
# Figures and the table

# (key, label, digits): what each run contributes to the table; None where a run lacks it.
METRICS = (
    ("open_s", "time until all readers are connected (s)", 2),
    ("connect_cpu_s", "server CPU while connecting (s)", 2),
    ("cpu_us_per_frame", "server CPU per delivered frame (µs)", 1),
    ("p50_ms", "publish-to-delivery p50 (ms)", 1),
    ("p99_ms", "publish-to-delivery p99 (ms)", 1),
    ("peak_rss_mb", "server peak RSS (MB)", 1),
    ("rss_start_mb", "server RSS without readers (MB)", 1),
    ("rss_connected_mb", "server RSS with the readers open (MB)", 1),
    ("kb_per_reader", "memory per open reader (KB)", 1),
)


def figures(result: dict) -> dict:
    """The metrics of one fanout.py result, and whether it was clean."""
    if "error" in result:
        return {"clean": False, "problems": result["error"]}
    server = result["server"] or {}
    rss = server.get("rss_mb", {})
    connected = result["connected"]
    problems = {
        key: result[key]
        for key in (
            "connect_failures",
            "dropped",
            "lost",
            "duplicated",
            "out_of_order",
            "post_failures",
        )
        if result[key]
    }
    return {
        "clean": result["exit_status"] == 0,
        "problems": problems,
        "open_s": result["run"]["open_seconds"],
        "connect_cpu_s": server.get("cpu_s", {}).get("connect"),
        "cpu_us_per_frame": server.get("cpu_us_per_frame"),
        "p50_ms": result["latency_ms"]["p50"],
        "p99_ms": result["latency_ms"]["p99"],
        "peak_rss_mb": server.get("vmhwm_mb"),
        "rss_start_mb": rss.get("start"),
        "rss_connected_mb": rss.get("connected"),
        "kb_per_reader": (rss["connected"] - rss["start"]) * 1024 / connected
        if connected and "connected" in rss and "start" in rss
        else None,
        "other_cpu_s": result["machine"]["other_cpu_s"],
    }


def summary(runs: list[dict]) -> dict:
    """Per metric: each side's median and range over its rounds, and the ratio of the medians."""
    found = {}
    for key, _, _ in METRICS:
        row = {}
        for side in SIDES:
            values = [run["figures"].get(key) for run in runs if run["side"] == side]
            values = [value for value in values if value is not None]
            row[side] = {
                "median": statistics.median(values) if values else None,
                "min": min(values, default=None),
                "max": max(values, default=None),
            }
        ours, ref = row["liveblog"]["median"], row["reference"]["median"]
        row["ratio"] = round(ours / ref, 2) if ours is not None and ref else None
        found[key] = row
    return found


def cell(figure: dict, digits: int) -> str:
    """A median with its range over the rounds."""
    if figure["median"] is None:
        return "–"
    text = f"{figure['median']:,.{digits}f}"
    if figure["min"] != figure["max"]:
        text += f" ({figure['min']:,.{digits}f}–{figure['max']:,.{digits}f})"
    return text


def print_table(scenario: Scenario, runs: list[dict], rows: dict) -> None:
    """The scenario's Markdown table, and whether every run was clean."""
    rounds = sum(run["side"] == "liveblog" for run in runs)
    print(
        f"\n### {scenario.name}: {scenario.entries} entries at {scenario.rate:g}/s, "
        f"median of {rounds} alternated round(s) (range)\n"
    )
    print("| | liveblog | reference | ratio |\n|---|---|---|---|")
    for key, label, digits in METRICS:
        row = rows[key]
        ratio = "–" if row["ratio"] is None else f"{row['ratio']:.2f}×"
        print(
            f"| {label} | {cell(row['liveblog'], digits)} | "
            f"{cell(row['reference'], digits)} | {ratio} |"
        )
    for run in runs:
        if not run["figures"]["clean"]:
            print(f"\n{run['side']} round {run['round']}: NOT CLEAN {run['figures']['problems']}")
    other = [run["figures"].get("other_cpu_s") for run in runs]
    print(f"\nCPU s other processes used during each run: {other}")


def interrupt(signum: int, frame) -> None:
    """Stop the whole benchmark."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    """Run every scenario on both sides, alternating, and print the tables."""
    args = parse_args(argv)
    chosen = scenarios(args)
    # Ctrl-C or SIGTERM ends the run wherever it is, and the finally clauses stop the servers
    # (asyncio's own Ctrl-C handling only cancels the current run, which fanout.py finishes).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    # Before anything starts: the servers inherit the limit, and need one file per reader.
    fanout.raise_fd_limit(max(scenario.readers for scenario in chosen) + 64)
    save = args.save or os.path.join(RESULTS, f"versus-{time.strftime('%Y%m%d-%H%M%S')}.json")
    report = {
        "argv": sys.argv[1:],
        "versions": versions(),
        "cores": os.cpu_count(),
        "machine_cpu_s_start": machine_cpu_seconds(),
        "scenarios": [],
    }
    instance = fresh_instance("bench-versus-")
    worst = 0
    try:
        token = prepare_instance(instance, None)
        for scenario in chosen:
            runs: list[dict] = []
            entry = {"scenario": scenario.__dict__, "runs": runs}
            report["scenarios"].append(entry)
            for number in range(1, args.rounds + 1):
                for side in SIDES:
                    result = run_side(side, scenario, instance, token, args.timeout)
                    shown = figures(result)
                    runs.append({"side": side, "round": number, "figures": shown, "result": result})
                    worst = max(worst, result["exit_status"])
                    print(
                        f"{scenario.name}, round {number}, {side}: exit "
                        f"{result['exit_status']}, p99 {shown.get('p99_ms')} ms, "
                        f"{shown.get('cpu_us_per_frame')} µs/frame",
                        flush=True,
                    )
            entry["summary"] = summary(runs)
            print_table(scenario, runs, entry["summary"])
    finally:
        report["machine_cpu_s_end"] = machine_cpu_seconds()
        os.makedirs(os.path.dirname(os.path.abspath(save)), exist_ok=True)
        with open(save, "w") as handle:
            json.dump(report, handle, indent=2)
        print(f"\nsaved {save}")
        shutil.rmtree(instance, ignore_errors=True)
    return worst


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as stopped:
        print(f"interrupted ({stopped}); every server started was stopped", file=sys.stderr)
        sys.exit(130)
