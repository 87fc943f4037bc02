#!/usr/bin/env python3
"""Runs the same workloads against swiftd and dockerd and prints one table.

Each daemon is started and stopped by this script with its own root, exec root, socket,
pidfile, bridge and subnet, iptables on. Everything it creates (daemons, containers, bridges,
iptables rules, cgroups, mounts, the work directory) is removed at the end, also on failure.
Only Python's standard library, hyperfine and the two daemons' own CLIs are used.

Usage: bench.py --swiftd PATH [--no-docker] [--output FILE]
Environment: BENCH_QUICK=1 for fewer repetitions.
"""

import argparse
import contextlib
import http.client
import ipaddress
import json
import multiprocessing
import os
import platform
import random
import selectors
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

QUICK = os.environ.get("BENCH_QUICK") == "1"
REPEAT = {
    "starts": 3 if QUICK else 7,
    "run_rm": 5 if QUICK else 20,
    "parallel": 1 if QUICK else 3,
    "rps_seconds": 1.0 if QUICK else 3.0,
    "rps_rounds": 2 if QUICK else 3,
    "image": 1 if QUICK else 3,
}
CONTAINERS = 50
SUBSCRIBERS = 1000
BIG_IMAGE_MB = 200
DOCKER_CLI = "/usr/bin/docker"
# The repository this script belongs to, for its default busybox script.
REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCKERD = "/usr/sbin/dockerd"
TRUST_KEY = "/etc/docker/key.json"
# CPU microseconds per request that the request-rate client itself used, by target, so that a
# reader can tell whether the client limited a rate.
CLIENT_CPU_US = {}


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(command, check=True, **kwargs):
    """Runs a command, capturing its output; raises with its stderr when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        detail = lines[-1] if lines else "no error output"
        if len(lines) > 1:
            detail += f" (the last of {len(lines)} lines of error output)"
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {detail}")
    return result


# MARK: interrupts

# The first SIGINT, SIGTERM or SIGHUP ends the run. Later ones are ignored, so that a repeated
# Ctrl-C cannot cut the teardown short. A signal during a teardown takes effect after it.
INTERRUPT = {"signal": None, "deferred": False}


def interrupt(signum, _frame):
    if INTERRUPT["signal"] is not None:
        return
    INTERRUPT["signal"] = signal.Signals(signum).name
    log(f"interrupted by {INTERRUPT['signal']}: tearing down, which can take a minute; "
        "further signals are ignored")
    if not INTERRUPT["deferred"]:
        raise KeyboardInterrupt(INTERRUPT["signal"])


@contextlib.contextmanager
def signals_deferred():
    """Delays the interrupt of a signal that arrives in the block until the block ends."""
    INTERRUPT["deferred"] = True
    try:
        yield
    finally:
        INTERRUPT["deferred"] = False
    if INTERRUPT["signal"] is not None:
        raise KeyboardInterrupt(INTERRUPT["signal"])


# MARK: HTTP over a unix socket


class UnixHTTPConnection(http.client.HTTPConnection):
    """An http.client connection to a daemon's unix socket."""

    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.socket_path)


def api(path, method, target, body=None):
    """One request on a fresh connection; returns (status, decoded JSON or raw bytes)."""
    connection = UnixHTTPConnection(path)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        data = json.dumps(body).encode() if body is not None else None
        connection.request(method, target, body=data, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw
    finally:
        connection.close()


class RawKeepAlive:
    """A keep-alive HTTP/1.1 client on a raw socket, for request-rate loops.

    It makes two system calls per small response: one send and one receive. http.client
    parses headers through the email package, and a socket with Python's timeout polls before
    every call, both of which cost more per request than a fast daemon takes to respond.
    """

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        # The kernel's receive timeout, not Python's, and one receive buffer for all calls: a
        # new 256 KiB bytes object per receive costs an mmap, an mremap and a munmap.
        self.sock.settimeout(None)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 30, 0))
        self.scratch = bytearray(262144)
        self.view = memoryview(self.scratch)
        self.buffer = b""

    def _fill(self):
        count = self.sock.recv_into(self.scratch)
        if not count:
            raise ConnectionError("the daemon closed the connection")
        self.buffer += self.view[:count]

    def _line(self):
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line, self.buffer = self.buffer[:end], self.buffer[end + 2:]
                return line
            self._fill()

    def _take(self, count):
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def request(self, raw_request):
        """Sends one request and reads its whole response; returns the body's length."""
        self.sock.sendall(raw_request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buffer = self.buffer[:end + 2].lower(), self.buffer[end + 4:]
        if not head.startswith(b"http/1.1 200"):
            raise RuntimeError(f"unexpected response: {head.splitlines()[0]!r}")
        field = head.find(b"\r\ncontent-length:")
        if field >= 0:
            value = head[field + 17:head.find(b"\r\n", field + 2)]
            return len(self._take(int(value)))
        if head.find(b"\r\ntransfer-encoding:") < 0 or b"chunked" not in head:
            return 0
        total = 0
        while True:
            size = int(self._line().split(b";")[0], 16)
            if size == 0:
                while self._line():
                    pass
                return total
            total += len(self._take(size + 2)) - 2

    def close(self):
        self.sock.close()


def _rate_worker(path, raw_request, seconds, start, results):
    # A terminal's Ctrl-C reaches the workers too, but the parent handles it and ends them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    client = RawKeepAlive(path)
    client.request(raw_request)
    if not start.wait(timeout=60):
        return
    count, deadline, cpu = 0, time.monotonic() + seconds, time.process_time()
    while time.monotonic() < deadline:
        client.request(raw_request)
        count += 1
    client.close()
    results.put((count, time.process_time() - cpu))


def request_rate(path, target, connections, seconds):
    """Requests per second of `GET target` over `connections` keep-alive connections, each
    driven by its own process so that the client is not one interpreter's lock."""
    raw_request = f"GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()
    context = multiprocessing.get_context("fork")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=_rate_worker,
                               args=(path, raw_request, seconds, start, results))
               for _ in range(connections)]
    try:
        for worker in workers:
            worker.start()
        time.sleep(0.3)
        start.set()
        reports = [results.get(timeout=seconds + 60) for _ in workers]
        for worker in workers:
            worker.join()
            if worker.exitcode != 0:
                raise RuntimeError(f"a request worker for {target} exited {worker.exitcode}")
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
                worker.join()
    count = sum(report[0] for report in reports)
    if count:
        cost = sum(report[1] for report in reports) / count * 1e6
        CLIENT_CPU_US.setdefault(target, []).append(cost)
    return count / seconds


# MARK: processes and memory


def process_table():
    """Returns every process's parent, pid namespace and command line, keyed by pid."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            with open(f"/proc/{pid}/stat") as file:
                stat = file.read()
            parent = int(stat[stat.rindex(")") + 2:].split()[1])
            namespace = os.readlink(f"/proc/{pid}/ns/pid")
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        table[pid] = (parent, namespace, command)
    return table


def daemon_processes(root_pid, marker):
    """Returns the daemon's processes: its descendants and the processes whose command line
    contains `marker` (containerd shims re-parent themselves to pid 1). Processes in another
    pid namespace are containers, so they are not counted."""
    table = process_table()
    if root_pid not in table:
        return []
    namespace = table[root_pid][1]
    found, queue = set(), [root_pid]
    queue += [pid for pid, (_, _, command) in table.items() if marker and marker in command]
    while queue:
        pid = queue.pop()
        if pid in found or pid not in table or table[pid][1] != namespace:
            continue
        found.add(pid)
        queue += [child for child, (parent, _, _) in table.items() if parent == pid]
    return sorted(found)


def memory_kib(pids):
    """Sums Rss, Pss and Anonymous (KiB) of `pids` from /proc/PID/smaps_rollup."""
    rss = pss = anonymous = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as file:
                for line in file:
                    if line.startswith("Rss:"):
                        rss += int(line.split()[1])
                    elif line.startswith("Pss:"):
                        pss += int(line.split()[1])
                    elif line.startswith("Anonymous:"):
                        anonymous += int(line.split()[1])
        except OSError:
            continue
    return rss, pss, anonymous


def sample_memory(daemon, samples=3, interval=1.0):
    """Returns the median Rss and Pss (KiB) of the daemon's processes over a few samples, their
    count, and the median of their anonymous memory (KiB)."""
    values = []
    for index in range(samples):
        if index:
            time.sleep(interval)
        values.append(memory_kib(daemon.processes()))
    return (statistics.median(v[0] for v in values), statistics.median(v[1] for v in values),
            len(daemon.processes()), statistics.median(v[2] for v in values))


# MARK: host resources and teardown


def used_subnets():
    networks = []
    output = run(["ip", "-4", "-o", "route", "show", "table", "all"], check=False).stdout
    output += run(["ip", "-4", "-o", "addr", "show"], check=False).stdout
    for word in output.split():
        if "/" in word and word[0].isdigit():
            try:
                networks.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                pass
    return networks


def free_subnet(excluded):
    """Returns a /24 in 10.200.0.0/16 to 10.250.0.0/16, the ranges kept for tests, that
    overlaps no host route or address and none of `excluded`."""
    used = used_subnets() + excluded
    for _ in range(1000):
        candidate = ipaddress.ip_network(
            f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(network) for network in used):
            return candidate
    raise RuntimeError("no free /24 subnet in 10.200.0.0/16 to 10.250.0.0/16")


def link_exists(name):
    return run(["ip", "link", "show", name], check=False).returncode == 0


def unmount_under(directory):
    """Lazily unmounts every mount point under `directory`, deepest first."""
    points = []
    with open("/proc/self/mountinfo") as file:
        for line in file:
            point = line.split()[4].replace("\\040", " ")
            if point == directory or point.startswith(directory + "/"):
                points.append(point)
    for point in sorted(points, key=len, reverse=True):
        run(["umount", "-l", point], check=False)
    return points


def iptables_chains(binary, table):
    output = run([binary, "-w", "-t", table, "-S"], check=False).stdout
    return {line.split()[1] for line in output.splitlines() if line.startswith(("-N", "-P"))}


def docker_chains_problem(chains=None):
    """Describes the DOCKER chains in iptables (Debian's nft variant, which dockerd 20.10 uses),
    or returns None when there are none. `chains` maps a table to its chains."""
    for table in ("filter", "nat"):
        names = chains[table] if chains else iptables_chains("iptables", table)
        existing = sorted(c for c in names if c.startswith("DOCKER"))
        if existing:
            return (f"iptables {table} already has dockerd's chains {existing}: a dockerd runs "
                    "here or one left them behind, and the benchmark leaves them alone. Remove "
                    "them, or run with --no-docker (BENCH_NO_DOCKER=1)")
    return None


def remove_iptables(binary, bridge, own_chains):
    """Deletes the rules that name `bridge` or jump to one of `own_chains`, then those chains.
    Returns the rules deleted."""
    deleted = []
    for table in ("filter", "nat"):
        output = run([binary, "-w", "-t", table, "-S"], check=False).stdout
        for line in output.splitlines():
            words = line.split()
            if not words or words[0] != "-A":
                continue
            target = words[words.index("-j") + 1] if "-j" in words else ""
            if bridge in words or target in own_chains.get(table, ()):
                if words[1] in own_chains.get(table, ()):
                    continue
                if run([binary, "-w", "-t", table, "-D"] + words[1:], check=False).returncode == 0:
                    deleted.append(f"{table}: {line}")
        for chain in own_chains.get(table, ()):
            run([binary, "-w", "-t", table, "-F", chain], check=False)
            if run([binary, "-w", "-t", table, "-X", chain], check=False).returncode == 0:
                deleted.append(f"{table}: -X {chain}")
    return deleted


def stop_process(process, seconds=30):
    """SIGTERM, then SIGKILL after `seconds`; returns how long the process took to exit."""
    if process.poll() is not None:
        return 0.0
    began = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        log(f"pid {process.pid} ignored SIGTERM for {seconds} s; sending SIGKILL")
        process.kill()
        process.wait()
    return time.monotonic() - began


# MARK: the two daemons


class Daemon:
    """A daemon started and stopped by the benchmark, with a private root, socket and bridge."""

    name = ""
    marker = None

    def __init__(self, work, bridge, subnet):
        self.work = os.path.join(work, self.name)
        os.makedirs(self.work)
        self.socket = os.path.join(self.work, "api.sock")
        self.bridge = bridge
        self.subnet = subnet
        self.gateway = f"{next(subnet.hosts())}/{subnet.prefixlen}"
        self.process = None
        # Whether prepare() began (so there may be something to remove), and whether a
        # teardown has finished.
        self.prepared = self.torn_down = False
        self.log_file = os.path.join(self.work, "daemon.log")
        self.notify_path = os.path.join(self.work, "notify.sock")
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(self.notify_path)
        self.env = dict(os.environ)
        self.sends_ready = True

    def cli(self, *arguments):
        return self.cli_prefix() + list(arguments)

    def start(self):
        """Starts the daemon; returns seconds to the first good /_ping and to READY=1."""
        while True:
            try:
                self.notify.setblocking(False)
                self.notify.recv(4096)
            except BlockingIOError:
                break
        self.notify.setblocking(True)
        ready_at = []

        def wait_ready():
            self.notify.settimeout(30 if self.sends_ready else 0.5)
            try:
                while True:
                    message = self.notify.recv(4096)
                    if b"READY=1" in message.split(b"\n"):
                        ready_at.append(time.monotonic())
                        return
            except OSError:
                return

        waiter = threading.Thread(target=wait_ready, daemon=True)
        waiter.start()
        environment = dict(self.env, NOTIFY_SOCKET=self.notify_path)
        output = open(self.log_file, "ab")
        began = time.monotonic()
        self.process = subprocess.Popen(self.daemon_command(), stdout=output, stderr=output,
                                        env=environment, start_new_session=True)
        output.close()
        ping_at = None
        while ping_at is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.process.returncode} at start; "
                                   f"see {self.log_file}:\n{self.log_tail()}")
            if time.monotonic() - began > 120:
                raise RuntimeError(f"{self.name} did not respond to /_ping in 120 s")
            try:
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                probe.settimeout(120)
                probe.connect(self.socket)
                probe.sendall(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n\r\n")
                if probe.recv(64).startswith(b"HTTP/1.1 200"):
                    ping_at = time.monotonic()
                probe.close()
            except OSError:
                pass
            if ping_at is None:
                time.sleep(0.002)
        # A daemon that never sent READY=1 is waited for only at its first start.
        waiter.join(timeout=30 if self.sends_ready else 0.5)
        if not ready_at:
            self.sends_ready = False
        ready = ready_at[0] - began if ready_at else None
        return ping_at - began, ready

    def log_tail(self):
        try:
            with open(self.log_file, errors="replace") as file:
                return "".join(file.readlines()[-20:])
        except OSError:
            return ""

    def stop(self):
        return stop_process(self.process) if self.process else 0.0

    def processes(self):
        return daemon_processes(self.process.pid, self.marker) if self.process else []

    def remove_all_containers(self):
        """Removes every container through the API (best effort, for teardown)."""
        if not self.process or self.process.poll() is not None:
            return
        try:
            status, containers = api(self.socket, "GET", "/containers/json?all=1")
            for container in containers if status == 200 else []:
                api(self.socket, "DELETE", f"/containers/{container['Id']}?force=1")
        except (OSError, http.client.HTTPException, ValueError, TypeError) as error:
            log(f"{self.name}: removing containers at teardown failed: {error}")


class Swiftd(Daemon):
    name = "swiftd"

    def __init__(self, work, bridge, subnet, binary):
        self.binary = binary
        super().__init__(work, bridge, subnet)

    def cli_prefix(self):
        return [self.binary, "-H", f"unix://{self.socket}"]

    def daemon_command(self):
        return [self.binary, "-d", "-H", f"unix://{self.socket}",
                "-g", os.path.join(self.work, "root"), "--exec-root",
                os.path.join(self.work, "run"), "-p", os.path.join(self.work, "daemon.pid"),
                "-b", self.bridge, "--bip", self.gateway, "--iptables", "--ip-forward=false",
                "--config-file", os.path.join(self.work, "daemon.json")]

    def prepare(self):
        with open(os.path.join(self.work, "daemon.json"), "w") as file:
            file.write("{}\n")

    def teardown(self):
        notes = []
        self.remove_all_containers()
        self.stop()
        mounts = unmount_under(self.work)
        if mounts:
            notes.append(f"unmounted {len(mounts)} mounts swiftd left under {self.work}")
        deleted = remove_iptables("iptables-legacy", self.bridge, {})
        if deleted:
            notes.append(f"deleted {len(deleted)} iptables rules swiftd left for {self.bridge}")
        if link_exists(self.bridge):
            run(["ip", "link", "del", self.bridge], check=False)
        return notes


class Dockerd(Daemon):
    name = "dockerd"

    def __init__(self, work, bridge, subnet, cgroup):
        super().__init__(work, bridge, subnet)
        self.cgroup = cgroup
        self.marker = self.work
        self.env["DOCKER_CONFIG"] = os.path.join(self.work, "client-config")
        self.chains_before = {}
        self.own_chains = {}
        self.bridge_nf = None
        self.created_key = False

    def cli_prefix(self):
        return [DOCKER_CLI, "-H", f"unix://{self.socket}"]

    def daemon_command(self):
        return [DOCKERD, "-H", f"unix://{self.socket}",
                "--data-root", os.path.join(self.work, "root"),
                "--exec-root", os.path.join(self.work, "run"),
                "--pidfile", os.path.join(self.work, "daemon.pid"),
                "--config-file", os.path.join(self.work, "daemon.json"),
                "--bridge", self.bridge, "--iptables=true", "--ip-forward=false",
                "--cgroup-parent", f"/{self.cgroup}"]

    def prepare(self):
        os.makedirs(self.env["DOCKER_CONFIG"])
        # dockerd 20.10 writes its trust key to /etc/docker/key.json whatever its roots are.
        self.created_key = not os.path.exists(TRUST_KEY)
        with open(os.path.join(self.work, "daemon.json"), "w") as file:
            file.write("{}\n")
        for table in ("filter", "nat"):
            self.chains_before[table] = iptables_chains("iptables", table)
        problem = docker_chains_problem(self.chains_before)
        if problem:
            raise RuntimeError(problem)
        path = "/proc/sys/net/bridge/bridge-nf-call-iptables"
        if os.path.exists(path):
            with open(path) as file:
                self.bridge_nf = (path, file.read().strip())
        # dockerd sets the FORWARD policy to DROP when it turns forwarding on itself, which
        # would cut off every other bridge on the host. None of the workloads routes beyond
        # the bridge, so it runs with --ip-forward=false and leaves the sysctl alone.
        run(["ip", "link", "add", "name", self.bridge, "type", "bridge"])
        run(["ip", "addr", "add", self.gateway, "dev", self.bridge])
        run(["ip", "link", "set", self.bridge, "up"])

    def teardown(self):
        notes = []
        self.remove_all_containers()
        self.stop()

        for pid, (_, _, command) in process_table().items():
            if self.work in command:
                notes.append(f"killed pid {pid} left by dockerd: {command[:80]}")
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        mounts = unmount_under(self.work)
        if mounts:
            notes.append(f"unmounted {len(mounts)} mounts dockerd left under {self.work}")

        for table in ("filter", "nat"):
            after = iptables_chains("iptables", table)
            self.own_chains[table] = sorted(after - self.chains_before.get(table, after))
        deleted = remove_iptables("iptables", self.bridge, self.own_chains)
        notes.append(f"deleted {len(deleted)} iptables rules and chains dockerd left")

        if self.bridge_nf:
            with open(self.bridge_nf[0], "w") as file:
                file.write(self.bridge_nf[1])
        if link_exists(self.bridge):
            run(["ip", "link", "del", self.bridge], check=False)
        if self.created_key and os.path.exists(TRUST_KEY):
            os.unlink(TRUST_KEY)
            notes.append(f"removed {TRUST_KEY}, which dockerd created")

        for controller in os.listdir("/sys/fs/cgroup"):
            parent = os.path.join("/sys/fs/cgroup", controller, self.cgroup)
            if os.path.isdir(parent):
                for child, _, _ in sorted(os.walk(parent), key=lambda w: -len(w[0])):
                    try:
                        os.rmdir(child)
                    except OSError as error:
                        notes.append(f"could not remove cgroup {child}: {error}")
        return notes


# MARK: workloads


def summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def hyperfine(command, runs, work, env):
    """Times `command` with hyperfine (no shell); returns seconds of each run."""
    export = os.path.join(work, f"hyperfine-{time.monotonic_ns()}.json")
    run(["hyperfine", "-N", "--style", "none", "--warmup", "2", "--runs", str(runs),
         "--export-json", export, " ".join(command)], env=env)
    with open(export) as file:
        return json.load(file)["results"][0]["times"]


def timed(command, env):
    began = time.monotonic()
    result = run(command, env=env)
    return time.monotonic() - began, result.stdout


def parallel_runs(daemon, count):
    """Starts `count` `run -d busybox sleep` at once.

    Returns the seconds until the last CLI exited, the ids of the containers started and the
    error messages of the commands that failed."""
    command = daemon.cli("run", "-d", "busybox", "sleep", "100000")
    began = time.monotonic()
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=daemon.env) for _ in range(count)]
    outputs = [process.communicate() for process in processes]
    seconds = time.monotonic() - began
    ids, failures = [], []
    for process, (output, error) in zip(processes, outputs):
        if process.returncode == 0:
            ids.append(output.strip().splitlines()[-1])
        else:
            failures.append(error.strip())
    if len(failures) > count // 10:
        raise RuntimeError(f"{daemon.name}: {len(failures)} of {count} run -d failed, such as "
                           f"{failures[0]}")
    return seconds, ids, failures


def hold_subscribers(daemon, count):
    """Opens `count` idle /events subscribers and measures the daemon's memory growth.

    Returns how many received response headers, how many were still open five seconds later,
    and the growth per subscriber."""
    before = sample_memory(daemon)
    selector = selectors.DefaultSelector()
    sockets = []
    for _ in range(count):
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(daemon.socket)
        connection.sendall(b"GET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        connection.setblocking(False)
        selector.register(connection, selectors.EVENT_READ, bytearray())
        sockets.append(connection)

    answered, deadline = 0, time.monotonic() + 60
    while answered < count and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=1):
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            key.data.extend(data)
            if not data or b"\r\n\r\n" in key.data:
                if data and key.data.startswith(b"HTTP/1.1 200"):
                    answered += 1
                selector.unregister(key.fileobj)

    time.sleep(2)
    during = sample_memory(daemon)
    time.sleep(3)
    still_open = 0
    for connection in sockets:
        try:
            still_open += connection.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass

    for connection in sockets:
        connection.close()
    selector.close()
    time.sleep(2)
    after = sample_memory(daemon)
    return {"answered": answered, "held": still_open,
            "rss_per": (during[0] - before[0]) / count, "pss_per": (during[1] - before[1]) / count,
            "pss_after_close": after[1] - before[1]}


def benchmark(daemon, work, busybox, big_image):
    """Runs every workload against one daemon; returns figures keyed by row name."""
    figures, notes = {}, []
    daemon.prepared = True
    daemon.prepare()
    log(f"{daemon.name}: first start and busybox import")
    daemon.start()
    run(daemon.cli("import", busybox, "busybox"), env=daemon.env)
    _, version = api(daemon.socket, "GET", "/version")
    figures["version"] = version.get("Version", "?") if isinstance(version, dict) else "?"
    figures["stop_first"] = daemon.stop()

    log(f"{daemon.name}: {REPEAT['starts']} starts")
    pings, readies, stops = [], [], []
    for index in range(REPEAT["starts"]):
        ping, ready = daemon.start()
        pings.append(ping)
        readies.append(ready)
        if index < REPEAT["starts"] - 1:
            stops.append(daemon.stop())
    figures["start_ping"] = summary(pings)
    figures["start_ready"] = summary(readies)
    if None in readies:
        notes.append(f"{daemon.name} sent no READY=1 in {readies.count(None)} starts")
    figures["stop"] = summary(stops)

    time.sleep(3)
    idle = sample_memory(daemon, samples=5)
    figures["idle_rss"], figures["idle_pss"] = idle[0] / 1024, idle[1] / 1024
    figures["idle_anonymous"] = idle[3] / 1024
    figures["idle_processes"] = idle[2]

    log(f"{daemon.name}: run --rm busybox true x{REPEAT['run_rm']}")
    figures["run_rm"] = summary(hyperfine(daemon.cli("run", "--rm", "busybox", "true"),
                                          REPEAT["run_rm"], work, daemon.env))

    log(f"{daemon.name}: GET /_ping rate")
    figures["ping_rps"] = summary([request_rate(daemon.socket, "/_ping", 1,
                                                REPEAT["rps_seconds"])
                                   for _ in range(REPEAT["rps_rounds"])])

    starts, removes, per_container, per_container_rss = [], [], [], []
    for round_index in range(REPEAT["parallel"]):
        log(f"{daemon.name}: {CONTAINERS} run -d in parallel (round {round_index + 1})")
        before = sample_memory(daemon, samples=3)
        seconds, ids, failures = parallel_runs(daemon, CONTAINERS)
        starts.append(seconds)
        for failure in failures:
            # A failed `run -d` is reported, not hidden: the figures of this round count only
            # the containers that run.
            notes.append(f"{daemon.name}: run -d failed in round {round_index + 1}: {failure}")
        _, running = api(daemon.socket, "GET", "/containers/json")
        if len(running) != len(ids):
            raise RuntimeError(f"{daemon.name}: {len(running)} containers running, "
                               f"expected {len(ids)}")
        time.sleep(3)
        loaded = sample_memory(daemon, samples=3)
        per_container.append((loaded[1] - before[1]) / len(running) / 1024)
        per_container_rss.append((loaded[0] - before[0]) / len(running) / 1024)
        if round_index == 0:
            log(f"{daemon.name}: GET /containers/json?all=1 rate with {CONTAINERS}")
            for connections in (1, 8):
                figures[f"list_rps_{connections}"] = summary(
                    [request_rate(daemon.socket, "/containers/json?all=1", connections,
                                  REPEAT["rps_seconds"]) for _ in range(REPEAT["rps_rounds"])])
        _, every = api(daemon.socket, "GET", "/containers/json?all=1")
        seconds, _ = timed(daemon.cli("rm", "-f", *[c["Id"] for c in every]), daemon.env)
        removes.append(seconds)
        _, left = api(daemon.socket, "GET", "/containers/json?all=1")
        if left:
            raise RuntimeError(f"{daemon.name}: {len(left)} containers left after rm -f")
    figures["run_parallel"] = summary(starts)
    figures["rm_parallel"] = summary(removes)
    figures["per_container_pss"] = summary(per_container)
    figures["per_container_rss"] = summary(per_container_rss)

    log(f"{daemon.name}: {SUBSCRIBERS} idle /events subscribers")
    figures["events"] = hold_subscribers(daemon, SUBSCRIBERS)

    log(f"{daemon.name}: import and save of a {BIG_IMAGE_MB} MB image")
    imports, saves = [], []
    size = os.path.getsize(big_image) / 1e6
    for index in range(REPEAT["image"]):
        tag = f"bench-big:{index}"
        seconds, _ = timed(daemon.cli("import", big_image, tag), daemon.env)
        imports.append(size / seconds)
        output = os.path.join(work, "saved.tar")
        seconds, _ = timed(daemon.cli("save", "-o", output, tag), daemon.env)
        saves.append(os.path.getsize(output) / 1e6 / seconds)
        os.unlink(output)
        run(daemon.cli("rmi", tag), env=daemon.env)
    figures["import_mbps"] = summary(imports)
    figures["save_mbps"] = summary(saves)
    figures["notes"] = notes
    return figures


def disk_throughput(big_image, work):
    """MB/s of dd copying the image file with fsync, the disk's own limit for import/save."""
    values = []
    for _ in range(REPEAT["image"]):
        target = os.path.join(work, "dd.out")
        began = time.monotonic()
        run(["dd", f"if={big_image}", f"of={target}", "bs=1M", "conv=fsync"])
        values.append(os.path.getsize(big_image) / 1e6 / (time.monotonic() - began))
        os.unlink(target)
    return summary(values)


# MARK: the table


ROWS = [
    # key, label, unit, scale, better, target ratio (swiftd / dockerd)
    ("run_rm", "`run --rm busybox true` (CLI, end to end)", "ms", 1000, "lower", 0.1),
    ("start_ping", "daemon start to first `/_ping` 200", "ms", 1000, "lower", 0.1),
    ("start_ready", "daemon start to `READY=1`", "ms", 1000, "lower", 0.1),
    ("stop", "daemon stop (SIGTERM to exit), idle", "ms", 1000, "lower", None),
    ("idle_pss", "idle memory, PSS of all daemon processes", "MiB", 1, "lower", 0.12),
    ("idle_rss", "idle memory, RSS sum of all daemon processes", "MiB", 1, "lower", 0.12),
    ("idle_anonymous", "idle memory, anonymous (heap, stacks, written data) of all daemon "
     "processes", "MiB", 1, "lower", None),
    ("per_container_pss", f"added PSS per running container ({CONTAINERS} running)", "MiB", 1,
     "lower", 0.1),
    ("per_container_rss", f"added RSS per running container ({CONTAINERS} running)", "MiB", 1,
     "lower", 0.1),
    ("run_parallel", f"{CONTAINERS} × `run -d` in parallel (CLI)", "s", 1, "lower", 0.2),
    ("rm_parallel", f"`rm -f` of all {CONTAINERS} (one CLI command)", "s", 1, "lower", 0.2),
    ("list_rps_1", f"`GET /containers/json?all=1`, {CONTAINERS} containers, 1 connection",
     "req/s", 1, "higher", 10),
    ("list_rps_8", f"`GET /containers/json?all=1`, {CONTAINERS} containers, 8 connections",
     "req/s", 1, "higher", 10),
    ("ping_rps", "`GET /_ping`, 1 keep-alive connection", "req/s", 1, "higher", 2),
    ("import_mbps", f"`import` of a {BIG_IMAGE_MB} MB image (CLI)", "MB/s", 1, "higher", None),
    ("save_mbps", f"`save -o` of the {BIG_IMAGE_MB} MB image (CLI)", "MB/s", 1, "higher", None),
]


def number(value, unit):
    if value is None:
        return "–"
    if unit in ("req/s",) or value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def cell(figure, scale, unit):
    if figure is None:
        return "–"
    if not isinstance(figure, dict):
        return number(figure * scale, unit)
    median, low, high = (figure[k] * scale for k in ("median", "min", "max"))
    if figure["n"] == 1:
        return number(median, unit)
    return f"{number(median, unit)} ({number(low, unit)}–{number(high, unit)})"


def median_of(figure):
    if figure is None:
        return None
    return figure["median"] if isinstance(figure, dict) else figure


def table(results, header, disk):
    swiftd, dockerd = results.get("swiftd", {}), results.get("dockerd")
    lines = header + [
        "", "| workload | unit | swiftd | dockerd | swiftd / dockerd | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, label, unit, scale, better, target in ROWS:
        ours = swiftd.get(key)
        theirs = dockerd.get(key) if dockerd else None
        ratio = met = target_text = "–"
        if target is not None:
            target_text = f"≤ {target}" if better == "lower" else f"≥ {target}×"
        if median_of(ours) and median_of(theirs):
            value = median_of(ours) / median_of(theirs)
            ratio = f"{value:.3f}" if value < 1 else f"{value:.2f}"
            if target is not None:
                met = "yes" if (value <= target if better == "lower" else value >= target) \
                    else "no"
        lines.append(f"| {label} | {unit} | {cell(ours, scale, unit)} | "
                     f"{cell(theirs, scale, unit) if dockerd else 'not run'} | {ratio} | "
                     f"{target_text} | {met} |")

    lines.append(f"| disk: `dd bs=1M conv=fsync` copy of the same {BIG_IMAGE_MB} MB file "
                 f"(the limit for import and save) | MB/s | {cell(disk, 1, 'MB/s')} | "
                 f"{cell(disk, 1, 'MB/s') if dockerd else 'not run'} | – | – | – |")
    lines.append("")
    lines.append(f"{SUBSCRIBERS} idle `/events` subscribers:")
    lines.append("")
    for name, figures in results.items():
        events = figures.get("events")
        if events:
            lines.append(f"- {name}: {events['answered']} answered, {events['held']} still "
                         f"open after 5 s; growth per subscriber {events['pss_per']:.1f} KiB "
                         f"PSS ({events['rss_per']:.1f} KiB RSS); "
                         f"{events['pss_after_close'] / 1024:+.1f} MiB PSS left after closing")
    lines.append("")

    for name, figures in results.items():
        count = figures['idle_processes']
        lines.append(f"- {name}: {count} process{'' if count == 1 else 'es'} when idle; first stop "
                     f"after import {figures['stop_first'] * 1000:.0f} ms")
        for note in figures.get("notes", []):
            lines.append(f"- {note}")
    lines.append("")
    for target, costs in sorted(CLIENT_CPU_US.items()):
        lines.append(f"- request-rate client (Python) CPU per request, `{target}`: "
                     f"median {statistics.median(costs):.0f} µs")
    lines.append("")
    lines.append("Cells: median (min–max) over the repetitions; MB = 10^6 bytes for throughput, "
                 "MiB for memory. PSS shares each shared page among the processes mapping it; "
                 "RSS counts it in every process.")
    return "\n".join(lines)


def versions(swiftd_binary, docker):
    def first_line(command):
        try:
            return run(command, check=False).stdout.strip().splitlines()[0]
        except (IndexError, OSError):
            return "not installed"

    with open("/proc/cpuinfo") as file:
        model = next((line.split(":", 1)[1].strip() for line in file
                      if line.startswith("model name")), platform.processor())
    with open("/proc/meminfo") as file:
        memory = int(file.readline().split()[1]) // 1024
    items = [
        f"- machine: {model}, {os.cpu_count()} cores, {memory} MiB, Linux {platform.release()}",
        f"- load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- swiftd: {first_line([swiftd_binary, '--version'])} (release build)",
    ]
    if docker:
        items += [f"- dockerd: {first_line([DOCKERD, '--version'])}",
                  f"- containerd: {first_line(['containerd', '--version'])}",
                  f"- runc: {first_line(['runc', '--version'])}",
                  f"- docker CLI: {first_line([DOCKER_CLI, '--version'])}"]
    items += [f"- {first_line(['hyperfine', '--version'])}, Python {platform.python_version()}",
              f"- mode: {'BENCH_QUICK=1' if QUICK else 'full'}; repetitions {REPEAT}"]
    return items


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swiftd", required=True, help="the swiftd binary (release build)")
    parser.add_argument("--no-docker", action="store_true", help="run swiftd's column only")
    parser.add_argument("--output", help="also write the table to this file")
    parser.add_argument("--busybox-script",
                        default=os.path.join(REPOSITORY, "scripts", "busybox-image.sh"))
    options = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench.py: needs root (daemons, bridges, iptables)")
    swiftd_binary = os.path.abspath(options.swiftd)
    # Bad arguments stop the run before any work, each with the path it names.
    if not (os.path.isfile(swiftd_binary) and os.access(swiftd_binary, os.X_OK)):
        sys.exit(f"bench.py: {options.swiftd}: not an executable file")
    try:
        reported = subprocess.run([swiftd_binary, "--version"], capture_output=True,
                                  text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        sys.exit(f"bench.py: {options.swiftd}: cannot run it: {error}")
    if not reported.startswith("swiftd version"):
        first = (reported.strip().splitlines() or [""])[0]
        sys.exit(f"bench.py: {options.swiftd}: not swiftd (its --version printed {first!r})")
    script = options.busybox_script
    if not (os.path.isfile(script) and os.access(script, os.X_OK)):
        sys.exit(f"bench.py: {script}: no such executable busybox script")
    if options.output:
        directory = os.path.dirname(os.path.abspath(options.output))
        if os.path.isdir(options.output):
            sys.exit(f"bench.py: {options.output}: is a directory, expected a file name")
        if not os.path.isdir(directory):
            sys.exit(f"bench.py: {options.output}: its directory does not exist")
        if not os.access(directory, os.W_OK) or (
                os.path.exists(options.output) and not os.access(options.output, os.W_OK)):
            sys.exit(f"bench.py: {options.output}: not writable")
    docker = not options.no_docker and os.path.exists(DOCKERD) and os.path.exists(DOCKER_CLI)
    if not docker and not options.no_docker:
        log(f"{DOCKERD} or {DOCKER_CLI} is missing: swiftd's column only")
    problem = docker_chains_problem() if docker else None
    if problem:
        sys.exit(f"bench.py: {problem}")

    # SIGTERM and SIGHUP end the run like Ctrl-C, so that the teardown below runs.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupt)

    title = "## swiftd against dockerd" if docker else "## swiftd (dockerd not run)"
    suffix = "".join(random.choice("0123456789abcdef") for _ in range(6))
    work = tempfile.mkdtemp(prefix=f"swiftd-bench.{suffix}.", dir="/tmp")
    results, teardown_notes = {}, []
    daemons = []
    exit_code = 0
    try:
        header = [title, ""] + versions(swiftd_binary, docker)
        busybox = os.path.join(work, "busybox.tar")
        run([options.busybox_script, busybox])
        payload = os.path.join(work, "big")
        os.makedirs(payload)
        with open(os.path.join(payload, "payload.bin"), "wb") as file:
            for _ in range(BIG_IMAGE_MB):
                file.write(os.urandom(1 << 20))
        big_image = os.path.join(work, "big.tar")
        run(["tar", "-C", payload, "-cf", big_image, "payload.bin"])
        shutil.rmtree(payload)
        disk = disk_throughput(big_image, work)

        first = free_subnet([])
        second = free_subnet([first])
        daemons.append(Swiftd(work, f"swdtbs{suffix}", first, swiftd_binary))
        if docker:
            daemons.append(Dockerd(work, f"swdtbd{suffix}", second, f"swiftd-bench-{suffix}"))
        for daemon in daemons:
            try:
                results[daemon.name] = benchmark(daemon, work, busybox, big_image)
            finally:
                log(f"{daemon.name}: teardown")
                with signals_deferred():
                    teardown_notes += [f"{daemon.name}: {n}" for n in daemon.teardown()]
                    daemon.torn_down = True
        header.append(f"- load average at end: "
                      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        text = table(results, header, disk)
        print(text)
        if options.output:
            try:
                with open(options.output, "w") as file:
                    file.write(text + "\n")
            except OSError as error:
                raise RuntimeError(f"failed to write {options.output}: {error.strerror}") from None
    except KeyboardInterrupt:
        exit_code = 1
    except Exception as error:
        kind = "" if isinstance(error, RuntimeError) else f"{type(error).__name__}: "
        log(f"failed: {kind}{error}")
        for daemon in daemons:
            if daemon.process:
                log(f"{daemon.name} log tail:\n{daemon.log_tail()}")
        exit_code = 1
    finally:
        # From here on, signals are ignored, because the run has ended.
        INTERRUPT["signal"] = INTERRUPT["signal"] or "the end of the run"
        for daemon in daemons:
            try:
                if daemon.prepared and not daemon.torn_down:
                    teardown_notes += [f"{daemon.name}: {n}" for n in daemon.teardown()]
                    daemon.torn_down = True
            except Exception as error:
                teardown_notes.append(f"{daemon.name}: teardown failed: {error!r}")
            daemon.notify.close()
        if unmount_under(work):
            teardown_notes.append(f"unmounted leftovers under {work}")
        shutil.rmtree(work, ignore_errors=True)
        for note in teardown_notes:
            log(f"teardown: {note}")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
