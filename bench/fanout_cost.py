"""What the hub's fan-out costs per reader in Python, on top of the send each reader needs.

Opens N loopback TCP connections to a draining process (a separate process, so its reading
is not ours), makes each one a reader as a gevent worker does (transport.Connection and
stream.reader_of, subscribed to a Hub), then alternates two ways of writing one frame to all
of them, ROUNDS times:

  bare   one non-blocking send per socket, nothing else: the floor
  hub    Hub._deliver, the fan-out the hub runs for a committed frame

and prints the median CPU per reader of each, and the median of hub - bare over paired rounds:
the Python the hub adds per reader per frame. Run it at two commits to compare them.

Example:
    .venv/bin/python bench/fanout_cost.py --readers 3000 --rounds 60
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import statistics
import sys
import time
from types import SimpleNamespace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A frame as long as a short entry's (the first reader encodes it; the rest share the bytes).
TEXT = '{"type":"entry.created","seq":%d,"entry":{"id":1,"html":"' + "x" * 600 + '"}}'
# Time for the drain to read one round's frames before the next: the sockets start empty.
SETTLE_SECONDS = 0.15


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=60)
    return parser.parse_args(argv)


def drain_forever(listener: socket.socket) -> None:
    """In the forked child: accept every connection and read whatever arrives, until EOF."""
    poller = selectors.DefaultSelector()
    listener.setblocking(False)
    poller.register(listener, selectors.EVENT_READ)
    while True:
        for key, _ in poller.select():
            if key.fileobj is listener:
                try:
                    while True:
                        conn, _ = listener.accept()
                        conn.setblocking(False)
                        poller.register(conn, selectors.EVENT_READ)
                except BlockingIOError:
                    pass
                continue
            try:
                if not key.fileobj.recv(65536):
                    os._exit(0)  # the parent closed its sockets: done
            except BlockingIOError:
                pass


def main(argv: list[str] | None = None) -> int:
    """Measure and print."""
    args = parse_args(argv)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    if os.fork() == 0:  # before gevent: the drain is a plain process
        drain_forever(listener)
    from gevent import monkey

    monkey.patch_all()
    sys.path.insert(0, ROOT)
    from liveblog.live import stream, transport
    from liveblog.live.hub import Frame, Hub

    sockets = [socket.create_connection(listener.getsockname()) for _ in range(args.readers)]
    hub = Hub()
    kinds = set()
    for sock in sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as gunicorn's are
        # What a Connection takes of simple-websocket's Server (tests/test_fast_path.py).
        ws = SimpleNamespace(sock=sock, event=None, ws=SimpleNamespace(connection=None),
                             thread=None)
        reader = stream.reader_of(transport.Connection(ws))
        hub.subscribe(1, write_now=reader.write_now)
        kinds.add(type(reader).__name__)
    raw = [transport.raw_socket(sock) for sock in sockets]

    def bare(seq: int) -> float:
        data = transport.encode_text_frame(TEXT % seq)
        started = time.process_time()
        for sock in raw:
            sock.send(data, socket.MSG_DONTWAIT)
        return time.process_time() - started

    def through_hub(seq: int) -> float:
        frame = Frame(1, seq, TEXT % seq)
        started = time.process_time()
        hub._deliver(frame)
        return time.process_time() - started

    costs: dict[str, list[float]] = {"bare": [], "hub": []}
    for seq in range(1, args.rounds + 1):
        costs["bare"].append(bare(seq))
        time.sleep(SETTLE_SECONDS)
        costs["hub"].append(through_hub(seq))
        time.sleep(SETTLE_SECONDS)
    queued = sum(len(subscription.frames) for subscription in hub._subscribers[1])
    for sock in sockets:
        sock.close()
    per_reader = 1e6 / args.readers
    print(f"{args.readers} readers, {args.rounds} rounds, gevent (reader: {', '.join(kinds)})")
    for name, values in costs.items():
        median = statistics.median(values) * per_reader
        print(f"  {name:<5} CPU per reader, median: {median:.2f} µs")
    added = [hub - bare for hub, bare in zip(costs["hub"], costs["bare"], strict=True)]
    print(f"  hub - bare, paired median: {statistics.median(added) * per_reader:.2f} µs")
    if queued:  # the hub fell back to the queue: not the path this measures
        print(f"  warning: {queued} frames were queued instead of written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
