"""A swiftd daemon on a temporary root, socket and bridge, for the compatibility tests.

The daemon binary comes from SWIFTD_BINARY (default .build/release/swiftd). Each daemon gets a
unique bridge name and a 10.232.x.0/24 subnet that no host route uses, and is stopped and its
leftovers removed by close(), also when a test failed.
"""

import os
import pty
import random
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time

REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("SWIFTD_BINARY", os.path.join(REPOSITORY, ".build/release/swiftd"))


def free_subnet(base="10.232"):
    """Return a `BASE.X` prefix whose /24 no host route uses."""
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True).stdout
    while True:
        prefix = "%s.%d" % (base, random.randint(1, 254))
        if prefix + "." not in routes:
            return prefix


def unique_name(prefix):
    """Return `prefix` with a random suffix, for containers, networks and volumes of one test."""
    return "%s-%08x" % (prefix, random.getrandbits(32))


def run_in_pty(command, environment, keystrokes, timeout=30):
    """Run `command` with a new pseudo-terminal as its stdin, stdout and stderr.

    Writes `keystrokes` after the command's first output, and returns its exit status and
    everything it wrote to the terminal, read until it exits or `timeout` seconds pass.
    """
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command, stdin=secondary, stdout=secondary, stderr=secondary,
                               env=environment, start_new_session=True)
    os.close(secondary)
    output = b""
    deadline = time.time() + timeout
    written = False
    try:
        while time.time() < deadline:
            ready, _, _ = select.select([primary], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(primary, 4096)
                except OSError:
                    # EIO: every process holding the terminal has closed it.
                    break
                if not chunk:
                    break
                output += chunk
            if not written and output:
                # Keystrokes typed before the client puts the terminal in raw mode would be
                # echoed by the host's line discipline as well as by the container's.
                os.write(primary, keystrokes)
                written = True
        return process.wait(timeout=max(deadline - time.time(), 1)), output.decode(errors="replace")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(primary)


class Daemon:
    """Starts `swiftd -d` and imports busybox as busybox:latest."""

    def __init__(self):
        self.work = tempfile.mkdtemp(prefix="swiftd-compat-")
        self.socket = os.path.join(self.work, "swiftd.sock")
        self.root = os.path.join(self.work, "root")
        self.bridge = "swdc%08x" % random.getrandbits(32)
        self.prefix = free_subnet()
        self.host = "unix://" + self.socket
        self.log = open(os.path.join(self.work, "daemon.log"), "wb")
        self.process = subprocess.Popen(
            [BINARY, "-d", "-H", self.host, "-g", self.root, "-p", os.path.join(self.work, "swiftd.pid"),
             "--exec-root", os.path.join(self.work, "run"), "-b", self.bridge, "--bip", self.prefix + ".1/24"],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        try:
            self._wait_ready()
            self.busybox_tar = os.path.join(self.work, "busybox.tar")
            subprocess.run([os.path.join(REPOSITORY, "scripts/busybox-image.sh"), self.busybox_tar], check=True)
            self.swiftd("import", self.busybox_tar, "busybox", check=True)
        except BaseException:
            self.close()
            raise

    def _wait_ready(self):
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("swiftd exited at start-up:\n" + self.daemon_log())
            if os.path.exists(self.socket) and self.swiftd("version").returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("swiftd did not answer within 20 s:\n" + self.daemon_log())

    def daemon_log(self):
        with open(os.path.join(self.work, "daemon.log"), "rb") as log:
            return log.read().decode(errors="replace")

    def swiftd(self, *arguments, check=False, stdin=None):
        return subprocess.run([BINARY, "-H", self.host, *arguments], capture_output=True, text=True,
                              check=check, input=stdin, timeout=120)

    def close(self):
        """Stops the daemon with SIGTERM and removes what it may have left behind."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        subprocess.run(["ip", "link", "delete", self.bridge], capture_output=True)
        with open("/proc/self/mountinfo") as mountinfo:
            points = [line.split()[4] for line in mountinfo if line.split()[4].startswith(self.work)]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)


def read_greeting(port, timeout=20):
    """Connect to 127.0.0.1:`port` until the server sends a line; return that line."""
    deadline = time.time() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
                data = connection.makefile("rb").readline()
                if data:
                    return data
        except OSError:
            if time.time() > deadline:
                raise
        if time.time() > deadline:
            return b""
        time.sleep(0.2)
