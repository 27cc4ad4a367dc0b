"""bench/fanout_cost.py runs: readers made as the gevent worker makes them, every frame written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench",
                      "fanout_cost.py")


def test_the_fan_out_cost_benchmark_writes_every_frame_through_the_greenlet_reader():
    done = subprocess.run([sys.executable, SCRIPT, "--readers", "20", "--rounds", "3"],
                          capture_output=True, text=True, timeout=60)
    # Exit status 1 says the hub queued frames instead of writing them: not the path measured.
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(reader: GreenletReader)" in done.stdout  # gevent patched: the lock-free write
    costs = re.findall(r"CPU per reader, median: ([\d.]+) µs", done.stdout)
    assert len(costs) == 2 and all(float(cost) > 0 for cost in costs)
    assert re.search(r"hub - bare, paired median: -?[\d.]+ µs", done.stdout)
