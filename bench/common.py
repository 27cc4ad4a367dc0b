"""What every benchmark script shares: the setup error, the API token, a small JSON client,
percentiles and milliseconds, CPU readings from /proc, and the end of main().

Standard library only, so that a script can import it before anything else is installed.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import sys
from collections.abc import Callable
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")


class SetupError(Exception):
    """The run could not start: no token, or a story could not be created or read."""


def token_from_instance() -> str | None:
    """The demo API token from $LIVEBLOG_INSTANCE/demo-token.txt, or None."""
    instance = os.environ.get("LIVEBLOG_INSTANCE")
    path = os.path.join(instance, "demo-token.txt") if instance else None
    if path and os.path.exists(path):
        with open(path) as handle:
            return handle.read().strip()
    return None


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of a script's docstring."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )


def add_token_argument(parser: argparse.ArgumentParser) -> None:
    """Add --token, which require_token completes from the instance folder."""
    parser.add_argument(
        "--token",
        default=os.environ.get("LIVEBLOG_TOKEN"),
        help="API token (default: $LIVEBLOG_TOKEN, else $LIVEBLOG_INSTANCE/demo-token.txt)",
    )


def require_token(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Fill in a missing --token from $LIVEBLOG_INSTANCE, or stop with a usage error."""
    if args.token is None:
        args.token = token_from_instance()
        if args.token is None:
            parser.error("no --token, $LIVEBLOG_TOKEN or $LIVEBLOG_INSTANCE/demo-token.txt")


def add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --json and --save, which finish acts on."""
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--save", metavar="PATH", help="also write the JSON result to PATH")


class Api:
    """A tiny blocking JSON client over one keep-alive connection (one thread only)."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.token, self.timeout = token, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

    def request(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, dict]:
        """Send one request and return (status, decoded JSON body); reconnects once if stale."""
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=all_headers)
                response = self.conn.getresponse()
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the server closed; the Idempotency-Key makes a
                # repeated POST safe.
                self.close()
                self.reconnects += 1
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, int(round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def ms(seconds: float | None, digits: int = 1) -> float | None:
    """Seconds as rounded milliseconds; None stays None."""
    return None if seconds is None else round(seconds * 1000, digits)


def self_cpu_seconds() -> float:
    """User + system CPU seconds of this process, all threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine_cpu_seconds() -> float:
    """CPU seconds all processes on this machine have been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as handle:
        ticks = [int(value) for value in handle.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / CLK_TCK


def finish(
    result: dict,
    args: argparse.Namespace,
    print_report: Callable[[dict], None],
    exit_status: Callable[[dict], int],
) -> int:
    """Save the result (--save), print it as JSON (--json) or a report; return the exit status."""
    if args.save:
        os.makedirs(os.path.dirname(os.path.abspath(args.save)), exist_ok=True)
        with open(args.save, "w") as handle:
            json.dump(result, handle, indent=2)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    return exit_status(result)


def run_and_finish(
    run: Callable[[argparse.Namespace], dict],
    args: argparse.Namespace,
    print_report: Callable[[dict], None],
    exit_status: Callable[[dict], int],
) -> int:
    """Run a benchmark and finish it; a run that cannot start is exit status 2."""
    try:
        result = run(args)
    except (SetupError, OSError, RuntimeError) as error:
        print(f"cannot run: {error}", file=sys.stderr)
        return 2
    return finish(result, args, print_report, exit_status)
