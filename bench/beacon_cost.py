"""What the analytics beacons cost a reader's page: Lighthouse with them and without them.

The story page loads two small deferred scripts for editorial analytics (static/js/visit.js, one
view beacon; static/js/seen.js, batched entries-seen beacons). This runs Lighthouse's phone
profile on the demo story of a private server, alternating runs with the scripts and runs with
Chromium refusing them (Lighthouse's blockedUrlPatterns), so noise on the machine falls on both
alike, and reports the medians of each metric (first and largest contentful paint, speed index,
total blocking time, layout shift, bytes and requests) and the performance score.

Acceptance: the page with beacons scores 100 in every run, as without, and no timing metric's
median is worse by more than the run-to-run spread of the page without them (its own max - min).
Bytes and requests are reported, not judged: the two scripts and the view beacon are what the
beacons are, and they are counted exactly.
Exit status: 0 it holds; 1 it does not; 2 the run could not start.

Example:
    .venv/bin/python bench/beacon_cost.py --rounds 5
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import servers  # noqa: E402 - bench/servers.py, next to this file
from common import (  # noqa: E402 - bench/common.py, next to this file
    SetupError,
    add_output_arguments,
    benchmark_parser,
    run_and_finish,
)

from liveblog.ops.demo import DEMO_SLUG  # noqa: E402

TOOLS = os.path.join(servers.ROOT, "tests", "tools")
LIGHTHOUSE_RUNS = os.path.join(TOOLS, "lighthouse-runs.mjs")
BEACONS = ("*/static/js/visit*", "*/static/js/seen*")
TIMINGS = ("fcp", "lcp", "si", "tbt", "cls")
METRICS = (*TIMINGS, "bytes", "requests")
MODES = ("with beacons", "without beacons")


def lighthouse_once(url: str, blocked: tuple[str, ...]) -> dict:
    """One Lighthouse run of the page (phone profile, calibrated slowdown): its summary."""
    if not os.path.isdir(os.path.join(TOOLS, "node_modules")):
        raise SetupError("Lighthouse is not installed: run `make test-tools`")
    ran = subprocess.run(
        ["node", LIGHTHOUSE_RUNS, "1", "1", url], capture_output=True, text=True, timeout=300,
        cwd=TOOLS, env={**os.environ, "CHROME_PATH": shutil.which("chromium") or "",
                        "LIGHTHOUSE_BLOCKED": ",".join(blocked)})
    if ran.returncode:
        raise RuntimeError(f"lighthouse failed: {ran.stderr[-2000:]}")
    run = json.loads(next(line for line in ran.stdout.splitlines() if line.startswith("{")))
    return {"performance": run["calibrated"]["scores"]["performance"],
            "scores": run["calibrated"]["scores"], "busy": run["busy"],
            **{name: run["calibrated"]["metrics"][name] for name in METRICS}}


def measure(args) -> dict:
    """Alternate runs with and without the beacons against a private server."""
    instance = servers.fresh_instance("liveblog-beacon-bench-")
    servers.prepare_instance(instance, None)
    runs: dict[str, list[dict]] = {mode: [] for mode in MODES}
    with servers.gunicorn(instance, None, workers=1) as server:
        url = f"{server.url}/stories/{DEMO_SLUG}"
        lighthouse_once(url, ())  # warm-up: templates compiled, files in the page cache
        for _ in range(args.rounds):
            runs["with beacons"].append(lighthouse_once(url, ()))
            runs["without beacons"].append(lighthouse_once(url, BEACONS))
    summary = {}
    for mode, results in runs.items():
        kept = [run for run in results if not run["busy"]] or results
        summary[mode] = {name: {"median": statistics.median(run[name] for run in kept),
                                "spread": max(run[name] for run in kept)
                                - min(run[name] for run in kept)}
                         for name in (*METRICS, "performance")}
        summary[mode]["perfect_runs"] = sum(all(score == 1 for score in run["scores"].values())
                                            for run in results)
        summary[mode]["runs"] = len(results)
    return {"url_path": f"/stories/{DEMO_SLUG}", "rounds": args.rounds, "summary": summary,
            "runs": runs, "versions": servers.versions()}


def worse(result: dict) -> list[str]:
    """The timings whose median with the beacons is worse than the spread without them."""
    with_, without = result["summary"]["with beacons"], result["summary"]["without beacons"]
    return [name for name in TIMINGS
            if with_[name]["median"] - without[name]["median"] > without[name]["spread"]]


def print_report(result: dict) -> None:
    """The medians side by side."""
    summary = result["summary"]
    print(f"Lighthouse, phone profile, {result['url_path']}, {result['rounds']} alternated rounds")
    print(f"{'metric':<12}" + "".join(f"{mode:>22}" for mode in MODES))
    for name in (*METRICS, "performance"):
        cells = [f"{summary[mode][name]['median']:>12.6g} ±{summary[mode][name]['spread']:<8.3g}"
                 for mode in MODES]
        print(f"{name:<12}" + "".join(f"{cell:>22}" for cell in cells))
    for mode in MODES:
        print(f"{mode}: {summary[mode]['perfect_runs']} of {summary[mode]['runs']} runs at 100")
    added = {name: summary["with beacons"][name]["median"]
             - summary["without beacons"][name]["median"] for name in ("bytes", "requests")}
    print(f"the beacons add {added['bytes']:.0f} bytes and {added['requests']:.0f} request(s)")
    print("timings worse with beacons:", ", ".join(worse(result)) or "none")


def exit_status(result: dict) -> int:
    """0 when the beacons cost nothing measurable, else 1."""
    summary = result["summary"]["with beacons"]
    return 0 if not worse(result) and summary["perfect_runs"] == summary["runs"] else 1


def main() -> int:
    """Parse the command line and run."""
    parser = benchmark_parser(__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="runs of each (default 5)")
    add_output_arguments(parser)
    args = parser.parse_args()
    return run_and_finish(measure, args, print_report, exit_status)


if __name__ == "__main__":
    sys.exit(main())
