"""N readers through Pushpin (GRIP mode) or straight to our gevent worker: loss, order, resume.

Starts a private instance (SQLite), gunicorn and, in GRIP mode, one or more Pushpins routed to
it (the readers spread over them; each is one condure process, and this machine allows 20,000
open files per process). Readers run in several client processes, each reader doing what the
page's live-socket.js does: apply seq = last + 1, drop seq <= last, and on a hole (or a heartbeat
ahead of it) reconnect with after=<last>. Once every reader is in, entries are posted at a fixed
rate; halfway, 10% of the readers are cut off (their sockets aborted) and reconnect with
after=<last applied>. At the end every reader must hold every entry once and in order.

    ulimit -n "$(ulimit -Hn)"
    .venv/bin/python bench/grip.py --mode grip --readers 10000
    .venv/bin/python bench/grip.py --mode grip --readers 20000 --edges 2
    .venv/bin/python bench/grip.py --mode gevent --readers 10000
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from contextlib import ExitStack

from common import Api, SetupError, benchmark_parser, ms, percentile
from fanout_suite import redis_server
from servers import (
    ROOT,
    Gunicorn,
    cpu_by_process,
    free_port,
    fresh_instance,
    prepare_instance,
    process_tree,
    tree_cpu_seconds,
)

sys.path.insert(0, os.path.join(ROOT, "tests"))
from grip_support import Pushpin  # noqa: E402  (the tests' private Pushpin)

KEY = "bench-grip-key"


# static/js/live-socket.js's reconnect: full jitter under a ceiling of 0.5 s x 2 ** attempts (1 s
# after a socket that was open closes), up to 30 s, so a crowd cut off together does not come
# back together.
MAX_BACKOFF = 30.0


def parse_args(argv=None):
    """Parse the command line."""
    parser = benchmark_parser(__doc__)
    parser.add_argument("--mode", choices=("grip", "gevent"), default="grip")
    parser.add_argument("--readers", type=int, default=1000)
    parser.add_argument("--edges", type=int, default=1, help="Pushpins (GRIP mode)")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--rate", type=float, default=2.0, help="entries per second")
    parser.add_argument("--drop", type=float, default=0.1, help="share of readers cut off")
    parser.add_argument("--connect-rate", type=float, default=2000.0, help="opens per s")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--save", help="write the JSON result here")
    args = parser.parse_args(argv)
    if not (1 <= args.readers <= 100_000 and 1 <= args.clients <= 16 and 1 <= args.edges <= 8):
        parser.error("readers 1-100000, clients 1-16, edges 1-8")
    return args


# ---------------------------------------------------------------------------------------------
# A client process: its share of the readers, as live-socket.js behaves


def client_main(urls, after, count, rate, drop_share, events, results, deadline):
    """Run `count` readers until told to stop; put their accounts on `results`."""
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    results.put(asyncio.run(_client(urls, after, count, rate, drop_share, events, deadline)))


async def _client(urls, after, count, rate, drop_share, events, deadline):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    readers = [{"last": after, "got": [], "dups": 0, "gaps": 0, "beats_ahead": 0, "closed": 0,
                "opens": 0, "failures": 0,
                "ws": None, "subscribed": False, "cut": False, "latency": []}
               for _ in range(count)]
    stop = asyncio.Event()

    async def read(index: int, reader: dict) -> None:
        base = urls[index % len(urls)]
        attempts = 0  # as the page counts them: since the last open, this close included
        while not stop.is_set() and time.time() < deadline:
            if attempts:  # after any close, a failed open or a resume alike, as the page does
                await asyncio.sleep(random.random() * min(MAX_BACKOFF, 0.5 * 2 ** attempts))
            try:
                ws = await connect(f"{base}?after={reader['last']}", compression=None,
                                   ping_interval=None, open_timeout=60, max_queue=None)
            except Exception:  # counted; reconnect with backoff, as the page does
                reader["failures"] += 1
                attempts += 1
                continue
            attempts = 1  # the page's count once this socket closes
            reader["opens"] += 1
            reader["ws"] = ws
            try:
                async for message in ws:
                    frame = json.loads(message)
                    seq = frame.get("seq")
                    if frame.get("type") == "heartbeat":
                        reader["subscribed"] = True
                        if isinstance(seq, int) and seq > reader["last"]:
                            reader["beats_ahead"] += 1
                            break  # a frame was lost on the way: resume
                        continue
                    if not isinstance(seq, int) or seq <= reader["last"]:
                        reader["dups"] += 1  # seen already: dropped, as the page does
                        continue
                    if seq > reader["last"] + 1:
                        reader["gaps"] += 1
                        break
                    reader["last"] = seq
                    reader["got"].append(seq)
                    sent = frame.get("entry", {}).get("body_html", "")
                    if "sent=" in sent:
                        reader["latency"].append(time.time() - float(sent.split("sent=")[1][:17]))
            except ConnectionClosed:
                if not reader.pop("aborted", False):
                    reader["closed"] += 1  # by the edge or the origin, not by this benchmark
            finally:
                reader["ws"] = None
                await ws.close()

    tasks = []
    for index, reader in enumerate(readers):
        tasks.append(asyncio.create_task(read(index, reader)))
        await asyncio.sleep(1 / rate)
    while not stop.is_set():
        if events["stop"].is_set() or time.time() > deadline:
            stop.set()
        elif events["drop"].is_set() and not any(r["cut"] for r in readers):
            # Cut off a share of the readers at once, as a network blip would.
            for reader in random.sample(readers, int(len(readers) * drop_share)):
                reader["cut"] = True
                if reader["ws"] is not None:
                    reader["aborted"] = True
                    reader["ws"].transport.abort()
        events["status"].put((os.getpid(), sum(r["ws"] is not None for r in readers),
                              sum(r["subscribed"] for r in readers),
                              min((r["last"] for r in readers), default=0)))
        await asyncio.sleep(0.25)
    for reader in readers:
        if reader["ws"] is not None:
            reader["aborted"] = True
            reader["ws"].transport.abort()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [{key: value for key, value in r.items() if key not in ("ws", "aborted")}
            for r in readers]


# ---------------------------------------------------------------------------------------------
# The run


def run(args) -> dict:
    """Set up, connect, publish, cut off and resume; return the figures."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the edges inherit it
    instance = fresh_instance("liveblog-bench-grip-")
    token = prepare_instance(instance, None)
    os.environ["LIVE_HEARTBEAT_SECONDS"] = "5"
    os.environ["MAX_READERS_PER_PROCESS"] = "100000"
    port = free_port(5700, 5779)
    # The edges' ports first: the workers read the publish addresses as they boot.
    edges = ([Pushpin(os.path.join(instance, f"pushpin-{n}"), port, KEY)
              for n in range(args.edges)] if args.mode == "grip" else [])
    if edges:
        _grip_env(edges)
    server = Gunicorn(instance, None, args.workers, port)
    with ExitStack() as stack:
        if args.workers > 1:
            # Several workers hear each other's frames through Redis, as in production.
            server.env["REDIS_URL"] = stack.enter_context(redis_server())
        try:
            server.start()
            for edge in edges:
                edge.start()
            return _measure(args, server, edges, token)
        finally:
            for edge in edges:
                edge.stop()
            server.stop()


def _grip_env(edges) -> None:
    # Read by gunicorn's workers at boot: set before the server starts (see run()).
    os.environ["LIVE_GRIP_KEY"] = KEY
    os.environ["LIVE_GRIP_PUBLISH_URL"] = ",".join(edge.publish_url for edge in edges)


def _measure(args, server, edges, token) -> dict:
    api = Api(server.url, token, timeout=30)
    status, story = api.request("POST", "/api/stories", {"slug": "grip-bench", "title": "Bench"})
    if status != 201:
        raise SetupError(f"story: {status} {story}")
    after = story["last_seq"]
    path = "/api/stories/grip-bench/live"
    urls = ([edge.ws_url(path) for edge in edges] if edges
            else [server.url.replace("http://", "ws://") + path])
    deadline = time.time() + args.timeout
    events = {"drop": multiprocessing.Event(), "stop": multiprocessing.Event(),
              "status": multiprocessing.Queue()}
    results = multiprocessing.Queue()
    shares = [args.readers // args.clients + (i < args.readers % args.clients)
              for i in range(args.clients)]
    clients = [multiprocessing.Process(
        target=client_main, args=(urls, after, share, args.connect_rate / args.clients,
                                  args.drop, events, results, deadline), daemon=True)
        for share in shares]
    cpu_before = _cpu(server, edges)
    started = time.time()
    for client in clients:
        client.start()
    status_of: dict[int, tuple] = {}

    def wait_for(predicate, limit) -> bool:
        while time.time() < limit:
            while not events["status"].empty():
                pid, *figures = events["status"].get()
                status_of[pid] = figures
            if len(status_of) == len(clients) and predicate():
                return True
            time.sleep(0.1)
        return False

    connected = wait_for(lambda: sum(s[0] for s in status_of.values()) >= args.readers, deadline)
    connect_seconds = time.time() - started
    # A heartbeat proves a reader is on its channel (GRIP) or in its hub (gevent).
    wait_for(lambda: sum(s[1] for s in status_of.values()) >= args.readers,
             min(deadline, time.time() + 30))
    cpu_connected = _cpu(server, edges)
    rss_connected = _rss(server, edges)
    seqs, post_started = [], time.time()
    for number in range(args.entries):
        if number == args.entries // 2:
            events["drop"].set()
        target = post_started + number / args.rate
        time.sleep(max(0.0, target - time.time()))
        status, entry = api.request("POST", "/api/stories/grip-bench/entries", {
            "body": f"<p>Entry {number} sent={time.time():.6f}</p>"})
        if status != 201:
            raise SetupError(f"post: {status} {entry}")
        seqs.append(entry["seq"])
    last = seqs[-1]
    delivered = wait_for(lambda: min(s[2] for s in status_of.values()) >= last, deadline)
    deliver_seconds = time.time() - post_started
    cpu_end = _cpu(server, edges)
    events["stop"].set()
    accounts = [reader for _ in clients for reader in results.get(timeout=120)]
    for client in clients:
        client.join(timeout=30)
    expected = list(range(after + 1, last + 1))
    latencies = sorted(value for reader in accounts for value in reader["latency"])
    return {
        "mode": args.mode, "readers": args.readers, "edges": len(edges),
        "workers": args.workers, "clients": args.clients, "entries": args.entries,
        "all_connected": connected, "delivered": delivered,
        "connect_seconds": round(connect_seconds, 2), "deliver_seconds": round(deliver_seconds, 2),
        "exact": sum(reader["got"] == expected for reader in accounts),
        "lost": sum(len(set(expected) - set(reader["got"])) for reader in accounts),
        "applied_twice": sum(len(reader["got"]) - len(set(reader["got"])) for reader in accounts),
        "out_of_order": sum(reader["got"] != sorted(reader["got"]) for reader in accounts),
        "duplicates_dropped": sum(reader["dups"] for reader in accounts),
        "gap_resumes": sum(reader["gaps"] for reader in accounts),
        "heartbeat_resumes": sum(reader["beats_ahead"] for reader in accounts),
        "closed_by_server": sum(reader["closed"] for reader in accounts),
        "cut_off": sum(reader["cut"] for reader in accounts),
        "opens": sum(reader["opens"] for reader in accounts),
        "open_failures": sum(reader["failures"] for reader in accounts),
        "latency_ms": {"p50": ms(percentile(latencies, 0.5)),
                       "p99": ms(percentile(latencies, 0.99)),
                       "max": ms(latencies[-1] if latencies else None)},
        "cpu_seconds": {side: round(cpu_end[side] - cpu_before.get(side, 0), 2)
                        for side in cpu_end},
        "cpu_seconds_connecting": {side: round(cpu_connected[side] - cpu_before.get(side, 0), 2)
                                   for side in cpu_connected},
        "rss_mb_connected": rss_connected,
        "load": os.getloadavg()[0],
    }


def _cpu(server, edges) -> dict:
    figures = {"origin": tree_cpu_seconds(server.pid),
               "edge": sum(tree_cpu_seconds(edge.process.pid) for edge in edges)}
    for edge in edges:  # which of the edge's processes pays (condure, proxy, handler, zurl)
        for pid, seconds in cpu_by_process(edge.process.pid).items():
            try:
                with open(f"/proc/{pid}/comm") as comm:
                    name = "edge " + comm.read().strip()
            except OSError:
                continue
            figures[name] = figures.get(name, 0.0) + seconds
    return figures


def _rss(server, edges) -> dict:
    def rss(pid: int | None) -> float:
        total = 0
        for child in process_tree(pid) if pid else []:
            try:
                with open(f"/proc/{child}/statm") as statm:
                    total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except OSError:
                pass
        return round(total / 2**20, 1)

    return {"origin": rss(server.pid), "edge": sum(rss(edge.process.pid) for edge in edges)}


def main(argv=None) -> int:
    """Run once and print the figures as JSON."""
    args = parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2))
    if args.save:
        with open(args.save, "w") as out:
            json.dump(result, out, indent=2)
    ok = result["delivered"] and result["exact"] == args.readers
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
