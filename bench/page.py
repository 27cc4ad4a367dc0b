"""Reader page benchmark: a story of 10,000 entries against one of 20, sequential requests.

Seeds the two stories in-process through the publishing service (liveblog.publishing, the only
write path), then asks the server for each reader-facing address of both stories many times,
one request at a time on a keep-alive connection, alternating long and short so that noise on
the machine falls on both alike. Reports time to first byte (status line and headers received)
and full response time, p50/p99/max, per address and story, and the long/short ratio.

Addresses: the story page, the same page as a conditional request (If-None-Match with the page's
ETag: a 304), the second page and one from the middle (?before=), a deep link (?through=), the
Atom and JSON feeds, the embed page, the entries API and the event log (a reconnecting reader's
tail, the first 20 events, and a full default page of 500). Feeds hold up to 50 entries and the
event log pages hold up to 500, so against a 20-entry story they do more work by design; run
with --short 500 to compare them like for like.

Acceptance: the long story's page answers within 1.5x the short story's (p50 of full response
time). Exit status: 0 it holds; 1 it does not; 2 a request failed or the run could not start.

Examples:
    # Everything: a private instance, a throwaway database, gunicorn with one worker.
    .venv/bin/python bench/page.py --spawn sqlite --save bench/results/page-sqlite.json
    .venv/bin/python bench/page.py --spawn postgresql --save bench/results/page-pg.json
    # Against a running server: seed with the server's LIVEBLOG_INSTANCE / DATABASE_URL.
    LIVEBLOG_INSTANCE=/tmp/bench-instance .venv/bin/python bench/page.py --seed \\
        --url http://127.0.0.1:5700 --server-pid "$(cat /tmp/bench-gunicorn.pid)"
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from datetime import timedelta
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import servers  # noqa: E402 - bench/servers.py, next to this file
from common import (  # noqa: E402 - bench/common.py, next to this file
    SetupError,
    add_output_arguments,
    benchmark_parser,
    machine_cpu_seconds,
    ms,
    percentile,
    run_and_finish,
    self_cpu_seconds,
)

ACCEPTANCE = 1.5
BROWSER_ENCODING = "gzip, deflate, br"
SEED_EMAIL = "page-bench@example.org"


# ---------------------------------------------------------------------------------------------
# Command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = benchmark_parser(__doc__)
    servers.add_target_arguments(parser, "base URL of a running server (seed with --seed)")
    parser.add_argument("--instance", help="LIVEBLOG_INSTANCE to use with --spawn (default: new)")
    parser.add_argument(
        "--seed",
        action="store_true",
        help="with --url: seed the stories in the database of $LIVEBLOG_INSTANCE "
        "/ $DATABASE_URL first (the server's)",
    )
    parser.add_argument("--long", type=int, default=10_000, help="entries in the long story")
    parser.add_argument("--short", type=int, default=20, help="entries in the short story")
    parser.add_argument(
        "--key-entries",
        type=int,
        default=3,
        help="key (pinned) entries in each story, for the LATEST box",
    )
    parser.add_argument("--repeats", type=int, default=200, help="requests per address and story")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests first")
    parser.add_argument("--only", help="comma-separated addresses to measure (default: all)")
    parser.add_argument(
        "--accept-encoding",
        default=BROWSER_ENCODING,
        help=f"Accept-Encoding sent (default {BROWSER_ENCODING!r}; '' for none)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="hard limit in seconds for the measuring phase"
    )
    parser.add_argument("--server-pid", type=int, help="gunicorn master pid (with --url)")
    add_output_arguments(parser)
    args = parser.parse_args(argv)
    if min(args.long, args.short) < 2 or args.repeats < 1 or args.warmup < 0:
        parser.error("stories need >= 2 entries; --repeats >= 1")
    if not 0 < args.timeout <= 3600:
        parser.error("--timeout must be in (0, 3600]")
    if args.key_entries < 0 or args.key_entries > min(args.long, args.short):
        parser.error("--key-entries must be between 0 and the short story's entries")
    return args


# ---------------------------------------------------------------------------------------------
# Seeding, in-process through the publishing service


def entry_fields(number: int, total: int, pinned: bool) -> dict:
    """A plausible entry: a paragraph or two, sometimes a headline, a link or a list."""
    body = (
        f"<p>Update {number} of {total}: crews are still working along the quay, and the "
        "harbour master expects the next high tide a little after midnight.</p>"
    )
    if number % 3 == 0:
        body += (
            '<p>Residents can find help at the <a href="https://example.org/help">'
            "council's storm page</a>, which lists the rest centres.</p>"
        )
    if number % 7 == 0:
        body += "<ul><li>Ferries suspended</li><li>Bridge closed</li><li>Schools open</li></ul>"
    fields: dict = {"body": body}
    if pinned or number % 5 == 0:
        fields["headline"] = f"Key moment {number}" if pinned else f"Headline {number}"
    if pinned:
        fields["pinned"] = True
    return fields


def seed_stories(counts: dict[str, int], key_entries: int, echo=print) -> dict[str, dict]:
    """Create each story with its entries unless it exists; return slug -> facts."""
    from sqlalchemy import func, select

    from liveblog import create_app, publishing
    from liveblog.extensions import db
    from liveblog.models import Entry, EntryStatus, Role, Story, User, utcnow

    app = create_app()
    facts = {}
    with app.app_context():
        editor = db.session.scalar(select(User).filter_by(email=SEED_EMAIL))
        if editor is None:
            editor = User(email=SEED_EMAIL, display_name="Page Bench", role=Role.EDITOR.value)
            editor.set_password("page-bench-password")
            db.session.add(editor)
            db.session.commit()
        for slug, count in counts.items():
            story = db.session.scalar(select(Story).filter_by(slug=slug))
            if story is None:
                started = time.monotonic()
                story = publishing.create_story(
                    {
                        "slug": slug,
                        "title": f"Page bench: {count}",
                        "summary": "Sequential page timings.",
                    }
                )
                # Backdated one minute apart, so published_at orders them as a real story would.
                first = utcnow() - timedelta(minutes=count)
                pins = {round((k + 0.5) * count / key_entries) for k in range(key_entries)}
                for index in range(count):
                    publishing.create_entry(
                        story.id,
                        editor,
                        entry_fields(index + 1, count, index in pins),
                        published_at=first + timedelta(minutes=index),
                    )
                    if index and index % 1000 == 0:
                        echo(f"  seeded {index} of {count} entries in {slug}")
                echo(f"seeded {slug}: {count} entries in {time.monotonic() - started:.0f} s")
            published = db.session.scalar(
                select(func.count())
                .select_from(Entry)
                .where(Entry.story_id == story.id, Entry.status == EntryStatus.PUBLISHED)
            )
            ids = list(
                db.session.scalars(
                    select(Entry.id)
                    .where(Entry.story_id == story.id, Entry.status == EntryStatus.PUBLISHED)
                    .order_by(Entry.published_at.desc(), Entry.id.desc())
                )
            )
            facts[slug] = {
                "entries": published,
                "last_seq": story.last_seq,
                "newest_id": ids[0],
                "middle_id": ids[len(ids) // 2],
                "through_id": ids[min(20, len(ids) - 1)],
            }
        db.session.remove()
        db.engine.dispose()
    return facts


# ---------------------------------------------------------------------------------------------
# Measuring


class Client:
    """One keep-alive HTTP connection; times each answer's first byte and its end."""

    def __init__(self, base_url: str, accept_encoding: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Accept": "text/html,application/json;q=0.9,*/*;q=0.8"}
        if accept_encoding:
            self.headers["Accept-Encoding"] = accept_encoding
        self.conn: http.client.HTTPConnection | None = None

    def get(self, path: str, headers: dict | None = None) -> tuple[int, float, float, int, dict]:
        """(status, seconds to headers, seconds to the last byte, body bytes, headers)."""
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                self.conn.connect()
            started = time.perf_counter()
            try:
                self.conn.request("GET", path, headers={**self.headers, **(headers or {})})
                response = self.conn.getresponse()
                first = time.perf_counter()
                body = response.read()
                done = time.perf_counter()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()  # a keep-alive connection the server closed between requests
                if attempt == 2:
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            return (
                response.status,
                first - started,
                done - started,
                len(body),
                {k.lower(): v for k, v in response.getheaders()},
            )
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the connection."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def addresses(slug: str, facts: dict) -> dict[str, str]:
    """Every measured address of one story, by name."""
    tail = max(0, facts["last_seq"] - 20)
    return {
        "page": f"/stories/{slug}",
        "page-304": f"/stories/{slug}",
        # The second page (before the newest entry: 20 entries, 19 in the short story), and a
        # page from the middle (5,000 entries deep in the long story, 10 in the short one).
        "page-older": f"/stories/{slug}?before={facts['newest_id']}",
        "page-older-deep": f"/stories/{slug}?before={facts['middle_id']}",
        "page-through": f"/stories/{slug}?through={facts['through_id']}",
        "feed.atom": f"/stories/{slug}/feed.atom",
        "feed.json": f"/stories/{slug}/feed.json",
        "embed": f"/stories/{slug}/embed",
        "api-entries": f"/api/stories/{slug}/entries",
        "events-tail": f"/api/stories/{slug}/events?after={tail}",
        "events-first-20": f"/api/stories/{slug}/events?after=0&limit=20",
        "events-first-500": f"/api/stories/{slug}/events?after=0",
    }


def measure(
    args, base_url: str, facts: dict[str, dict], server_pid: int | None, db_pid: int | None
) -> dict:
    """Time every address of both stories, interleaved; return the raw per-address timings."""
    client = Client(base_url, args.accept_encoding)
    slugs = list(facts)
    paths = {slug: addresses(slug, facts[slug]) for slug in slugs}
    names = list(paths[slugs[0]])
    if args.only:
        names = [name for name in names if name in set(args.only.split(","))]
    etags: dict[str, str] = {}
    for slug in slugs:
        status, _, _, _, headers = client.get(paths[slug]["page"])
        if status != 200 or "etag" not in headers:
            raise SetupError(f"page of {slug}: HTTP {status}, ETag {headers.get('etag')}")
        etags[slug] = headers["etag"]
    timings = {
        name: {slug: {"first": [], "full": [], "bytes": 0, "status": {}} for slug in slugs}
        for name in names
    }
    errors = 0
    deadline = time.monotonic() + args.timeout
    machine0, client0 = machine_cpu_seconds(), self_cpu_seconds()
    server0 = servers.tree_cpu_seconds(server_pid) + servers.tree_cpu_seconds(db_pid)
    started = time.monotonic()
    timed_out = False
    for round_number in range(args.warmup + args.repeats):
        if time.monotonic() > deadline:
            timed_out = True
            break
        for name in names:
            # Alternate which story goes first, so neither always follows the other.
            for slug in slugs if round_number % 2 == 0 else slugs[::-1]:
                headers = {"If-None-Match": etags[slug]} if name == "page-304" else None
                status, first, full, size, _ = client.get(paths[slug][name], headers)
                if round_number < args.warmup:
                    continue
                record = timings[name][slug]
                record["first"].append(first)
                record["full"].append(full)
                record["bytes"] = size
                record["status"][status] = record["status"].get(status, 0) + 1
                expected = 304 if name == "page-304" else 200
                errors += status != expected
    seconds = time.monotonic() - started
    client.close()
    machine_busy = machine_cpu_seconds() - machine0
    client_cpu = self_cpu_seconds() - client0
    server_cpu = servers.tree_cpu_seconds(server_pid) + servers.tree_cpu_seconds(db_pid) - server0
    return {
        "timings": timings,
        "errors": errors,
        "timed_out": timed_out,
        "seconds": round(seconds, 1),
        "machine": {
            "cores": os.cpu_count(),
            "busy_cpu_s": round(machine_busy, 2),
            "client_cpu_s": round(client_cpu, 2),
            "server_cpu_s": round(server_cpu, 2) if server_pid else None,
            # What else ran meanwhile: the run is only clean when this is small.
            "other_cpu_s": round(machine_busy - client_cpu - server_cpu, 2) if server_pid else None,
            "other_cpu_share": (
                round((machine_busy - client_cpu - server_cpu) / seconds, 3)
                if server_pid and seconds
                else None
            ),
            "loadavg_1m_end": round(os.getloadavg()[0], 2),
        },
    }


def summarise(args, facts: dict, measured: dict, setup: dict) -> dict:
    """Percentiles per address and story, and the long/short ratios."""
    long_slug, short_slug = list(facts)
    table = {}
    for name, by_slug in measured["timings"].items():
        row = {}
        for role, slug in (("long", long_slug), ("short", short_slug)):
            record = by_slug[slug]
            first, full = sorted(record["first"]), sorted(record["full"])
            row[role] = {
                "n": len(full),
                "status": record["status"],
                "bytes": record["bytes"],
                # Two decimals, not one: a single request here takes only a few milliseconds.
                "first_byte_ms": {
                    "p50": ms(percentile(first, 0.5), 2),
                    "p99": ms(percentile(first, 0.99), 2),
                    "max": ms(first[-1] if first else None, 2),
                },
                "full_ms": {
                    "p50": ms(percentile(full, 0.5), 2),
                    "p99": ms(percentile(full, 0.99), 2),
                    "max": ms(full[-1] if full else None, 2),
                },
            }
        short_p50 = row["short"]["full_ms"]["p50"]
        short_p99 = row["short"]["full_ms"]["p99"]
        row["ratio_p50"] = (
            round(row["long"]["full_ms"]["p50"] / short_p50, 2) if short_p50 else None
        )
        row["ratio_p99"] = (
            round(row["long"]["full_ms"]["p99"] / short_p99, 2) if short_p99 else None
        )
        table[name] = row
    page = table.get("page")
    return {
        "params": {
            key: getattr(args, key)
            for key in (
                "spawn",
                "workers",
                "long",
                "short",
                "key_entries",
                "repeats",
                "warmup",
                "accept_encoding",
                "timeout",
            )
        },
        "setup": setup,
        "stories": facts,
        "addresses": table,
        "errors": measured["errors"],
        "timed_out": measured["timed_out"],
        "seconds": measured["seconds"],
        "machine": measured["machine"],
        "acceptance": {
            "rule": f"page p50 (full response) of the long story <= {ACCEPTANCE}x the short's",
            "ratio_p50": page["ratio_p50"] if page else None,
            "holds": bool(
                page and page["ratio_p50"] is not None and page["ratio_p50"] <= ACCEPTANCE
            ),
        },
    }


def print_report(result: dict) -> None:
    """Print one line per address: long vs short, first byte and full, p50/p99/max."""
    stories = result["stories"]
    long_slug, short_slug = list(stories)
    print(
        f"long {long_slug} ({stories[long_slug]['entries']} entries) vs "
        f"short {short_slug} ({stories[short_slug]['entries']} entries), "
        f"{result['params']['repeats']} requests each, {result['seconds']} s"
    )
    print(
        f"{'address':18} {'long first p50/p99':>19} {'long full p50/p99/max':>24} "
        f"{'short full p50/p99/max':>24} {'ratio p50/p99':>14} {'bytes long/short':>17}"
    )
    for name, row in result["addresses"].items():
        lf, ll, sl = row["long"]["first_byte_ms"], row["long"]["full_ms"], row["short"]["full_ms"]
        print(
            f"{name:18} {lf['p50']:>9}/{lf['p99']:<9} "
            f"{ll['p50']:>8}/{ll['p99']}/{ll['max']:<8} "
            f"{sl['p50']:>8}/{sl['p99']}/{sl['max']:<8} "
            f"{row['ratio_p50']:>6}/{row['ratio_p99']:<7} "
            f"{row['long']['bytes']:>8}/{row['short']['bytes']}"
        )
    machine = result["machine"]
    print(
        f"machine: {machine['busy_cpu_s']} CPU s busy; client {machine['client_cpu_s']}, "
        f"server {machine['server_cpu_s']}, other {machine['other_cpu_s']} "
        f"({machine['other_cpu_share']} of a core); errors {result['errors']}"
    )
    verdict = "holds" if result["acceptance"]["holds"] else "FAILS"
    print(
        f"acceptance ({result['acceptance']['rule']}): ratio {result['acceptance']['ratio_p50']}"
        f" -> {verdict}"
    )


def exit_status(result: dict) -> int:
    """0 acceptance holds; 1 it does not; 2 a request failed or the run was cut short."""
    if result["errors"] or result["timed_out"]:
        return 2
    return 0 if result["acceptance"]["holds"] else 1


def run(args) -> dict:
    """Seed (if asked), measure, summarise; with --spawn, inside throwaway servers."""
    counts = {f"page-bench-{args.long}": args.long, f"page-bench-{args.short}": args.short}
    echo = (lambda text: print(text, file=sys.stderr)) if args.json else print
    setup = {"versions": servers.versions()}
    if args.url:
        if args.seed:
            facts = seed_stories(counts, args.key_entries, echo)
        else:
            facts = _facts_from_api(args.url, counts)
        setup["database"] = "as configured by the server"
        measured = measure(args, args.url, facts, args.server_pid, None)
        return summarise(args, facts, measured, setup)
    instance = args.instance or servers.fresh_instance("liveblog-page-bench-")
    # Reads only: PostgreSQL's fsync would slow the seeding, not the measured requests.
    with servers.database(args.spawn, instance, durable=False) as (database_url, db_facts):
        servers.prepare_instance(instance, database_url)
        os.environ["LIVEBLOG_INSTANCE"] = instance
        os.environ.pop("DATABASE_URL", None)
        if database_url:
            os.environ["DATABASE_URL"] = database_url
        facts = seed_stories(counts, args.key_entries, echo)
        setup.update(database=db_facts, instance=instance, workers=args.workers)
        with servers.gunicorn(instance, database_url, args.workers) as server:
            measured = measure(args, server.url, facts, server.pid, db_facts["pid"])
    return summarise(args, facts, measured, setup)


def _facts_from_api(base_url: str, counts: dict[str, int]) -> dict[str, dict]:
    """Facts about already seeded stories, read through the API (no --seed)."""
    client = Client(base_url, "")
    facts = {}
    for slug in counts:
        status, _, _, _, _ = client.get(f"/api/stories/{slug}")
        if status != 200:
            raise SetupError(f"story {slug}: HTTP {status}; seed it with --seed")
        conn = client.conn
        conn.request("GET", f"/api/stories/{slug}")
        story = json.loads(conn.getresponse().read())
        ids, before = [], None
        while True:
            query = f"?limit=100&before={before}" if before else "?limit=100"
            conn.request("GET", f"/api/stories/{slug}/entries{query}")
            page = json.loads(conn.getresponse().read())
            ids += [entry["id"] for entry in page["entries"]]
            if not page["next"]:
                break
            before = ids[-1]
        facts[slug] = {
            "entries": len(ids),
            "last_seq": story["last_seq"],
            "newest_id": ids[0],
            "middle_id": ids[len(ids) // 2],
            "through_id": ids[min(20, len(ids) - 1)],
        }
    client.close()
    return facts


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    return run_and_finish(run, parse_args(argv), print_report, exit_status)


if __name__ == "__main__":
    sys.exit(main())
