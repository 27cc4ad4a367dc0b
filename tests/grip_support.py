"""A private Pushpin for GRIP tests and the benchmark: its own config, ports and run directory."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from contextlib import ExitStack

from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

# Debian's package (make test-deps installs it).
PUSHPIN = shutil.which("pushpin") or "/usr/bin/pushpin"
# The package's config, which we copy and point at our own ports and directories.
PACKAGE_CONFIG = "/etc/pushpin/pushpin.conf"
INTERNAL_CONFIG = "/usr/lib/pushpin/internal.conf"
# The templates its runner writes its services' configs from; zurl's is ours (`_library`).
RUNNER_TEMPLATES = "/usr/lib/pushpin/runner"
# Requests zurl keeps open to the origin at once, and the messages its queues hold: each reader
# who arrives is one request to us until we answer, and the package's 2,000 and 1,000 answered
# most of a 10,000-reader storm 502 (docs/benchmarks.md).
ZURL_OPEN_REQUESTS = 25_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (bench/ imports this module too,
    where `servers` is another module)."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different TCP ports on 127.0.0.1 that nothing listens on right now."""
    # Every probe stays bound until all are chosen. Probed one after another, the kernel may
    # give a port again as soon as its probe closes: two of Pushpin's parts then got the same
    # port, and it could not start.
    with ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def available() -> bool:
    """Whether Pushpin is installed here."""
    return os.access(PUSHPIN, os.X_OK) and os.path.exists(PACKAGE_CONFIG)


class Pushpin:
    """One Pushpin (condure, proxy, handler) in front of an origin, on 127.0.0.1; always stopped.

    Its route sends every WebSocket to the origin as WebSocket-over-HTTP (`over_http`), signed
    with `key`. `message_rate` and `message_hwm` are raised from the package's 2,500 a second and
    25,000 queued: one frame to 20,000 readers is 20,000 messages, which those would delay or drop.
    """

    def __init__(self, directory: str, origin_port: int, key: str, *,
                 message_rate: int = 1_000_000, max_connections: int = 50_000,
                 origin_requests: int = ZURL_OPEN_REQUESTS):
        self.directory = directory
        # Its sockets are Unix sockets in the run directory, whose paths may hold 107 bytes: a
        # test's tmp_path under pytest-xdist is longer, so the run directory is a short one.
        self.run_directory = tempfile.mkdtemp(prefix="pushpin-")
        self.port, self.publish_port, push_in, push_in_sub, command = free_ports(5)
        self.key = key
        self.process: subprocess.Popen | None = None
        self.extra_args: list[str] = []
        settings = {
            "include": INTERNAL_CONFIG, "rundir": self.run_directory,
            "logdir": os.path.join(directory, "log"), "http_port": str(self.port),
            "sig_key": key, "updates_check": "off",
            "push_in_spec": f"tcp://127.0.0.1:{push_in}",
            "push_in_sub_specs": f"tcp://127.0.0.1:{push_in_sub}",
            "command_spec": f"tcp://127.0.0.1:{command}",
            "push_in_http_port": str(self.publish_port),
            "message_rate": str(message_rate), "message_hwm": str(message_rate),
            "client_maxconn": str(max_connections),
        }
        with open(PACKAGE_CONFIG) as package:
            config = package.read()
        for name, value in settings.items():
            config, count = re.subn(rf"(?m)^#?{re.escape(name)}=.*$", f"{name}={value}", config,
                                    count=1)
            assert count == 1, f"{name} is not in {PACKAGE_CONFIG}"
        os.makedirs(os.path.join(directory, "log"), exist_ok=True)
        self.config = os.path.join(directory, "pushpin.conf")
        library = self._library(directory, origin_requests)
        config = config.replace("[global]\n", f"[global]\nlibdir={library}\n", 1)
        # Debian's pushpin expects a system-wide zurl (its HTTP client, for requests to us) at
        # /var/run/zurl; ours runs its own, in its run directory.
        config = config.replace("services=condure,", "services=condure,zurl,", 1)
        config = config.replace("[proxy]\n", "[proxy]\n" + "".join(
            f"{name}=ipc://{{rundir}}/{{ipc_prefix}}{socket_name}\n"
            for name, socket_name in (("zurl_out_specs", "zurl-in"),
                                      ("zurl_out_stream_specs", "zurl-in-stream"),
                                      ("zurl_in_specs", "zurl-out"))), 1)
        with open(self.config, "w") as out:
            out.write(config)
        with open(os.path.join(directory, "routes"), "w") as out:
            out.write(f"* 127.0.0.1:{origin_port},over_http\n")

    @staticmethod
    def _library(directory: str, origin_requests: int) -> str:
        # A copy of the runner's templates, with zurl's limits raised: Pushpin reads them from
        # its libdir, which the config may move.
        library = os.path.join(directory, "lib")
        shutil.copytree(RUNNER_TEMPLATES, os.path.join(library, "runner"), dirs_exist_ok=True)
        template = os.path.join(library, "runner", "zurl.conf.template")
        with open(template) as handle:
            text = handle.read()
        for name, value in (("max_open_requests", origin_requests),
                            ("in_hwm", origin_requests), ("out_hwm", origin_requests)):
            text, count = re.subn(rf"(?m)^{name}=.*$", f"{name}={value}", text)
            assert count == 1, f"{name} is not in {template}"
        with open(template, "w") as handle:
            handle.write(text)
        return library

    @property
    def publish_url(self) -> str:
        """The publish API the origin posts frames to."""
        return f"http://127.0.0.1:{self.publish_port}/publish/"

    def ws_url(self, path: str) -> str:
        """A WebSocket address through the edge."""
        return f"ws://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = 15.0) -> None:
        """Start it and wait (bounded) until both its client port and publish API answer."""
        self.log = open(os.path.join(self.directory, "pushpin.log"), "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [PUSHPIN, "--config", self.config, "--merge-output",
             "--port", f"127.0.0.1:{self.port}", *self.extra_args],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            if (_listening(self.port) and _publish_answers(self.publish_url)
                    and self._round_trip()):
                return
            time.sleep(0.05)  # a starting server: nothing to wait on instead
        self.stop()
        with open(os.path.join(self.directory, "pushpin.log")) as log:
            raise RuntimeError(f"pushpin did not start:\n{log.read()[-3000:]}")

    def _round_trip(self) -> bool:
        # Whether a WebSocket's opening request gets through to the origin and its answer back.
        # Its proxy reaches the zurl we run over ZeroMQ sockets that connect in their own time;
        # a request body sent before they have is dropped, and that reader's handshake hangs
        # until zurl gives up 30 s later. An answer proves the whole path is up.
        try:
            with connect(self.ws_url("/api/stories/pushpin-warm-up/live"), open_timeout=1.0):
                return True  # the origin opens, then closes an unknown story with 4404
        except InvalidStatus:
            return True  # an answer all the same (an origin with no GRIP key says 404)
        except (OSError, TimeoutError, InvalidHandshake):
            return False

    def tail(self, lines: int = 40) -> str:
        """The end of its log, for a failing test's report."""
        with open(os.path.join(self.directory, "pushpin.log"), errors="replace") as log:
            return "".join(log.readlines()[-lines:])

    def stop(self) -> None:
        """Stop Pushpin and the processes it runs (killed if they do not go in time); remove its
        run directory, made with the configuration whether or not it was ever started."""
        if self.process is not None:
            self._end_processes()
        shutil.rmtree(self.run_directory, ignore_errors=True)

    def _end_processes(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(timeout=10)
        try:  # its condure, proxy and handler, should any outlive it
            os.killpg(self.process.pid, 9)
        except ProcessLookupError:
            pass
        self.process = None
        self.log.close()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _publish_answers(url: str) -> bool:
    request = urllib.request.Request(url, data=b'{"items":[]}', method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=0.5):
            return True
    except OSError:
        return False
