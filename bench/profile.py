#!/usr/bin/env python3
"""Profiles swiftd's slow paths with perf: GET /containers/json?all=1 with 50 containers,
GET /_ping, and `run --rm busybox true`.

Starts its own swiftd (own root, socket, bridge and subnet, as bench.py does), records each
workload with `perf record -g` on the daemon's pid, prints `perf stat` counters and the top
of `perf report`, and prints the daemon's job durations for `run --rm`. Tears it all down.

Usage: profile.py --swiftd PATH [--seconds N]
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def perf_during(pid, work, name, action, seconds):
    """Runs `action` while perf stat and perf record watch `pid`; prints both reports."""
    data = os.path.join(work, re.sub(r"[^A-Za-z0-9]+", "-", name) + ".perf")
    record = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-g",
                               "-o", data, "-p", str(pid), "--", "sleep", str(seconds)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stat = subprocess.Popen(["perf", "stat", "-p", str(pid), "--", "sleep", str(seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    result = action()
    _, counters = stat.communicate()
    record.wait()
    print(f"\n=== {name}: {result}\n--- perf stat of the daemon")
    print("\n".join(line for line in counters.splitlines() if line.strip()))
    report = bench.run(["perf", "report", "-i", data, "--no-children", "--stdio",
                        "--percent-limit", "1.5", "-g", "none", "--sort", "dso,symbol"],
                       check=False).stdout
    print("--- perf report (self time, symbols over 1.5 %)")
    print("\n".join(line for line in report.splitlines()
                    if line.strip() and not line.startswith("#"))[:6000])
    children = bench.run(["perf", "report", "-i", data, "--children", "--stdio",
                          "--percent-limit", "8", "-g", "none", "--sort", "symbol"],
                         check=False).stdout
    print("--- perf report (with children, over 8 %)")
    print("\n".join(line for line in children.splitlines()
                    if line.strip() and not line.startswith("#"))[:6000])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swiftd", required=True)
    parser.add_argument("--seconds", type=float, default=8)
    options = parser.parse_args()
    suffix = "".join(random.choice("0123456789abcdef") for _ in range(6))
    work = tempfile.mkdtemp(prefix=f"swiftd-profile.{suffix}.", dir="/tmp")
    daemon = bench.Swiftd(work, f"sbp{suffix}", bench.free_subnet([]),
                          os.path.abspath(options.swiftd))
    def interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # SIGTERM unwinds like Ctrl-C, so that the teardown below runs.
    signal.signal(signal.SIGTERM, interrupt)
    try:
        daemon.prepare()
        busybox = os.path.join(work, "busybox.tar")
        bench.run(["scripts/busybox-image.sh", busybox])
        daemon.start()
        bench.run(daemon.cli("import", busybox, "busybox"))
        pid = daemon.process.pid

        def run_rm():
            times = []
            deadline = time.monotonic() + options.seconds - 0.5
            while time.monotonic() < deadline:
                seconds, _ = bench.timed(daemon.cli("run", "--rm", "busybox", "true"), None)
                times.append(seconds)
            median = sorted(times)[len(times) // 2] * 1000
            return f"{len(times)} runs, median {median:.0f} ms"

        perf_during(pid, work, "run --rm busybox true", run_rm, options.seconds)
        with open(daemon.log_file, errors="replace") as file:
            jobs = {}
            for line in file:
                match = re.search(r"-job (\w+)\(.*= OK \(0\) took=([\d.e+-]+) seconds", line)
                if match:
                    value = float(match.group(2)) * 1000
                    jobs.setdefault(match.group(1), []).append(value)
        print("--- daemon job durations (median ms, count)")
        for name, values in sorted(jobs.items(), key=lambda item: -sorted(item[1])[0]):
            print(f"{name:24} {sorted(values)[len(values) // 2]:9.2f} {len(values):5}")

        def rate(target):
            value = bench.request_rate(daemon.socket, target, 1, options.seconds - 1)
            return f"{value:.0f} req/s"

        perf_during(pid, work, "GET /_ping, 1 connection", lambda: rate("/_ping"),
                    options.seconds)
        _, ids, _ = bench.parallel_runs(daemon, bench.CONTAINERS)
        perf_during(pid, work, f"GET /containers/json?all=1, {bench.CONTAINERS} containers",
                    lambda: rate("/containers/json?all=1"), options.seconds)
        bench.run(daemon.cli("rm", "-f", *ids))
    finally:
        for note in daemon.teardown():
            print(f"teardown: {note}", file=sys.stderr)
        daemon.notify.close()
        bench.unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
