"""Publish throughput benchmark: K concurrent clients posting entries through the JSON API.

Each client is a thread with its own keep-alive connection, posting to one story (client i
posts to story i mod S) with a fresh Idempotency-Key per entry, until the entry count or the
duration is reached. Afterwards the event log and the entry list are read back through the API
to check that every story's seq values are unique and gapless (1..last_seq), that every
successful POST has exactly one entry.created event and one published entry, and nothing more.

Reports entries/s, POST latency p50/p99/max, errors, and the CPU of the server, the database
server and everything else on the machine (other engineers share it).

Exit status: 0 clean; 1 the log is broken (a gap, a duplicate, a count that does not match);
2 a POST failed or the run was incomplete or could not start.

Examples:
    # Everything: a private instance, a throwaway database, gunicorn with 1 or 2 workers.
    .venv/bin/python bench/publish.py --spawn sqlite --workers 1 --clients 8 --entries 2000
    .venv/bin/python bench/publish.py --spawn postgresql --workers 2 --clients 8 --stories 4
    # Against a running server (token from $LIVEBLOG_INSTANCE/demo-token.txt).
    .venv/bin/python bench/publish.py --url http://127.0.0.1:5700 --clients 4 \\
        --server-pid "$(cat /tmp/bench-gunicorn.pid)"
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import servers  # noqa: E402 - bench/servers.py, next to this file
from common import (  # noqa: E402 - bench/common.py, next to this file
    Api,
    SetupError,
    add_output_arguments,
    add_token_argument,
    benchmark_parser,
    machine_cpu_seconds,
    ms,
    percentile,
    require_token,
    run_and_finish,
    self_cpu_seconds,
)

# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = benchmark_parser(__doc__)
    servers.add_target_arguments(parser, "base URL of a running server")
    parser.add_argument(
        "--pg-fast",
        action="store_true",
        help="PostgreSQL without fsync and synchronous_commit (as the tests run)",
    )
    add_token_argument(parser)
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (K)")
    parser.add_argument("--stories", type=int, default=1, help="stories posted to (S)")
    parser.add_argument("--entries", type=int, default=2000, help="entries to post at most")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to post at most")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="hard limit in seconds for posting and checking",
    )
    parser.add_argument("--server-pid", type=int, help="gunicorn master pid (with --url)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.stories < 1 or args.entries < 1 or args.workers < 1:
        parser.error("--clients, --stories, --entries and --workers must be >= 1")
    if args.stories > args.clients:
        parser.error("--stories must not exceed --clients (each client posts to one story)")
    if not 0 < args.duration <= 3600 or not 0 < args.timeout <= 3600:
        parser.error("--duration and --timeout must be in (0, 3600]")
    if args.url:
        require_token(parser, args)
    return args


# ---------------------------------------------------------------------------------------------
# Posting


@dataclass
class Post:
    """One entry POST: who sent it where, when, how long it took, what the server answered."""

    client: int
    story: str
    key: str
    sent_at: float = 0.0
    duration: float = 0.0
    status: int = 0
    seq: int | None = None
    entry_id: int | None = None
    error: str | None = None


class Budget:
    """Hands out post numbers until the count is spent or the deadline passes."""

    def __init__(self, count: int, deadline: float):
        self.left, self.deadline = count, deadline
        self.lock = threading.Lock()

    def take(self) -> bool:
        """Whether the caller may post one more entry."""
        with self.lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True


def client_loop(
    number: int,
    api: Api,
    slug: str,
    budget: Budget,
    start: threading.Barrier,
    run_id: str,
    posts: list[Post],
) -> None:
    """One journalist: post entries back to back to one story until the budget says stop."""
    start.wait()
    index = 0
    while budget.take():
        index += 1
        post = Post(number, slug, f"publish-{run_id}-{number}-{index}")
        body = {
            "body": f"<p>Entry {index} from client {number}, run {run_id}. The quay is "
            "still closed and crews expect to work through the night.</p>"
        }
        post.sent_at = time.monotonic()
        try:
            post.status, data = api.request(
                "POST", f"/api/stories/{slug}/entries", body, {"Idempotency-Key": post.key}
            )
            if post.status == 201:
                post.seq, post.entry_id = data["seq"], data["id"]
            else:
                post.error = f"HTTP {post.status}: {data.get('error') or data}"[:200]
        except (OSError, http.client.HTTPException, ValueError) as error:
            post.error = f"{type(error).__name__}: {error}"[:200]
            api.close()
        post.duration = time.monotonic() - post.sent_at
        posts.append(post)  # list.append is atomic under the GIL


# ---------------------------------------------------------------------------------------------
# Checking the log afterwards


def read_log(api: Api, slug: str, deadline: float) -> tuple[dict, list[dict], list[int]]:
    """The story, every event of its log (paged), and every published entry id (paged)."""
    status, story = api.request("GET", f"/api/stories/{slug}")
    if status != 200:
        raise SetupError(f"reading story {slug}: HTTP {status}")
    events: list[dict] = []
    after = 0
    while time.monotonic() < deadline:
        status, page = api.request("GET", f"/api/stories/{slug}/events?after={after}&limit=1000")
        if status != 200:
            raise SetupError(f"reading events of {slug}: HTTP {status}")
        if not page["events"]:
            break
        events += page["events"]
        after = page["events"][-1]["seq"]
    entry_ids: list[int] = []
    query = "?limit=100"
    while time.monotonic() < deadline:
        status, page = api.request("GET", f"/api/stories/{slug}/entries{query}")
        if status != 200:
            raise SetupError(f"reading entries of {slug}: HTTP {status}")
        entry_ids += [entry["id"] for entry in page["entries"]]
        if not page["next"]:
            break
        query = f"?limit=100&before={entry_ids[-1]}"
    return story, events, entry_ids


def check_story(
    slug: str, posts: list[Post], story: dict, events: list[dict], entry_ids: list[int]
) -> dict:
    """Compare one story's log with what its POSTs were told."""
    seqs = [event["seq"] for event in events]
    ok = [post for post in posts if post.seq is not None]
    created = [event for event in events if event["type"] == "entry.created"]
    created_ids = Counter(event["entry"]["id"] for event in created)
    post_ids = Counter(post.entry_id for post in ok)
    post_seqs = Counter(post.seq for post in ok)
    return {
        "last_seq": story["last_seq"],
        "events": len(events),
        "gapless": seqs == list(range(1, story["last_seq"] + 1)),
        "duplicate_seqs": sum(n - 1 for n in Counter(seqs).values() if n > 1),
        "duplicate_post_seqs": sum(n - 1 for n in post_seqs.values() if n > 1),
        "entry_created_events": len(created),
        "posts_ok": len(ok),
        "published_entries": len(entry_ids),
        # Every successful POST has its event and its entry, and no event or entry is extra.
        "counts_match": len(created) == len(ok) == len(entry_ids) == len(set(entry_ids)),
        "ids_match": created_ids == post_ids and set(entry_ids) == set(post_ids),
        "post_seqs_in_log": all(post.seq in set(seqs) for post in ok),
    }


# ---------------------------------------------------------------------------------------------
# The run


def run_benchmark(
    args, base_url: str, token: str, server_pid: int | None, db_pid: int | None
) -> dict:
    """Create the stories, post from K threads, read the log back and check it."""
    t_start = time.monotonic()
    hard_deadline = t_start + args.timeout
    run_id = uuid.uuid4().hex[:8]
    setup_api = Api(base_url, token)
    slugs = []
    for number in range(args.stories):
        slug = f"publish-{run_id}-{number}"
        status, data = setup_api.request(
            "POST", "/api/stories", {"slug": slug, "title": f"Publish bench {number}"}
        )
        if status != 201:
            raise SetupError(f"creating story failed: HTTP {status} {data}")
        slugs.append(slug)

    posts: list[Post] = []
    apis = [Api(base_url, token) for _ in range(args.clients)]
    start = threading.Barrier(args.clients + 1)
    budget = Budget(args.entries, time.monotonic() + args.duration + 3600)  # set at the start
    threads = [
        threading.Thread(
            target=client_loop,
            daemon=True,
            args=(n, apis[n], slugs[n % args.stories], budget, start, run_id, posts),
        )
        for n in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    machine0, client0 = machine_cpu_seconds(), self_cpu_seconds()
    server0 = servers.tree_cpu_seconds(server_pid)
    by_process0 = servers.cpu_by_process(server_pid)
    db0 = servers.tree_cpu_seconds(db_pid)
    load0 = os.getloadavg()[0]
    budget.deadline = min(time.monotonic() + args.duration, hard_deadline)
    start.wait()
    posting_started = time.monotonic()
    for thread in threads:
        thread.join(timeout=max(0.0, hard_deadline - time.monotonic()) + 5)
    posting_seconds = time.monotonic() - posting_started
    machine = {
        "busy": machine_cpu_seconds() - machine0,
        "client": self_cpu_seconds() - client0,
        "server": servers.tree_cpu_seconds(server_pid) - server0,
        # Per gunicorn process (master and workers): keep-alive connections stay on one worker.
        "server_by_process": [
            round(cpu - by_process0.get(pid, 0.0), 2)
            for pid, cpu in servers.cpu_by_process(server_pid).items()
        ],
        "db": servers.tree_cpu_seconds(db_pid) - db0,
        "load": [load0, os.getloadavg()[0]],
    }
    timed_out = any(thread.is_alive() for thread in threads)
    for api in apis:
        api.close()

    checks = {}
    check_deadline = max(hard_deadline, time.monotonic() + 60)
    for slug in slugs:
        story, events, entry_ids = read_log(setup_api, slug, check_deadline)
        checks[slug] = check_story(
            slug, [p for p in posts if p.story == slug], story, events, entry_ids
        )
    setup_api.close()
    return summarise(
        args,
        posts,
        checks,
        machine,
        posting_seconds,
        timed_out,
        sum(api.reconnects for api in apis),
    )


def summarise(args, posts, checks, machine, seconds, timed_out, reconnects) -> dict:
    """Turn the raw timings and checks into the result record."""
    ok = [post for post in posts if post.seq is not None]
    durations = sorted(post.duration for post in ok)
    errors = Counter((post.error or "").split(":")[0] for post in posts if post.seq is None)
    # From the first POST sent to the last answer received.
    span = (max(p.sent_at + p.duration for p in ok) - min(p.sent_at for p in ok)) if ok else 0.0
    other = machine["busy"] - machine["client"] - machine["server"] - machine["db"]
    return {
        "params": {
            key: getattr(args, key)
            for key in (
                "spawn",
                "workers",
                "pg_fast",
                "clients",
                "stories",
                "entries",
                "duration",
                "timeout",
            )
        },
        "posts_sent": len(posts),
        "posts_ok": len(ok),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "first_error": next((post.error for post in posts if post.error), None),
        "reconnects": reconnects,
        "posting_seconds": round(seconds, 2),
        "entries_per_s": round(len(ok) / span, 1) if span else None,
        "latency_ms": {
            "p50": ms(percentile(durations, 0.5)),
            "p99": ms(percentile(durations, 0.99)),
            "max": ms(durations[-1] if durations else None),
        },
        "timed_out": timed_out,
        "checks": checks,
        "log_ok": all(
            c["gapless"]
            and not c["duplicate_seqs"]
            and not c["duplicate_post_seqs"]
            and c["counts_match"]
            and c["ids_match"]
            and c["post_seqs_in_log"]
            for c in checks.values()
        ),
        "machine": {
            "cores": os.cpu_count(),
            "busy_cpu_s": round(machine["busy"], 2),
            "client_cpu_s": round(machine["client"], 2),
            "server_cpu_s": round(machine["server"], 2),
            "server_cpu_s_by_process": machine["server_by_process"],
            "db_cpu_s": round(machine["db"], 2),
            # What else ran meanwhile: the run is only clean when this is small.
            "other_cpu_s": round(other, 2),
            "other_cpu_share": round(other / seconds, 3) if seconds else None,
            "loadavg_1m": [round(value, 2) for value in machine["load"]],
        },
    }


def print_report(result: dict) -> None:
    """Print a short human-readable report."""
    p, lat, machine = result["params"], result["latency_ms"], result["machine"]
    where = f"{p['spawn'] or 'server'}, {p['workers']} worker(s)" if p["spawn"] else "server"
    print(
        f"{where}: {p['clients']} clients -> {p['stories']} story(ies), "
        f"{result['posts_ok']}/{result['posts_sent']} entries in {result['posting_seconds']} s"
    )
    print(
        f"  {result['entries_per_s']} entries/s; POST p50/p99/max "
        f"{lat['p50']}/{lat['p99']}/{lat['max']} ms; errors {result['errors']} "
        f"{result['error_kinds']}; reconnects {result['reconnects']}"
    )
    if result["first_error"]:
        print(f"    first: {result['first_error']}")
    for slug, check in result["checks"].items():
        print(
            f"  {slug}: last_seq {check['last_seq']}, {check['events']} events, gapless "
            f"{check['gapless']}, dup seqs {check['duplicate_seqs']}/"
            f"{check['duplicate_post_seqs']}, created {check['entry_created_events']} / ok "
            f"posts {check['posts_ok']} / published {check['published_entries']}, ids match "
            f"{check['ids_match']}"
        )
    print(
        f"  machine: {machine['busy_cpu_s']} CPU s busy; client {machine['client_cpu_s']}, "
        f"server {machine['server_cpu_s']} (by process {machine['server_cpu_s_by_process']}), "
        f"database {machine['db_cpu_s']}, other "
        f"{machine['other_cpu_s']} ({machine['other_cpu_share']} of a core)"
    )
    print("  log OK" if result["log_ok"] else "  LOG BROKEN")


def exit_status(result: dict) -> int:
    """0 clean; 1 the log is broken; 2 a POST failed or the run was cut short."""
    if not result["log_ok"]:
        return 1
    if result["errors"] or result["timed_out"] or not result["posts_ok"]:
        return 2
    return 0


def run(args) -> dict:
    """Run against --url, or inside throwaway servers with --spawn."""
    if args.url:
        return run_benchmark(args, args.url, args.token, args.server_pid, None)
    instance = servers.fresh_instance("liveblog-publish-bench-")
    with servers.database(args.spawn, instance, durable=not args.pg_fast) as (url, db_facts):
        token = servers.prepare_instance(instance, url)
        with servers.gunicorn(instance, url, args.workers) as server:
            result = run_benchmark(args, server.url, token, server.pid, db_facts["pid"])
    result["setup"] = {"database": db_facts, "instance": instance, "versions": servers.versions()}
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    return run_and_finish(run, parse_args(argv), print_report, exit_status)


if __name__ == "__main__":
    sys.exit(main())
