#!/usr/bin/env python3
"""Starts a program with listening unix sockets passed as systemd does (from fd 3 on, with
LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES), forwards SIGTERM and SIGINT to it, and exits with its
status.

Usage: socket-activate.py SOCKETS STATUS_FILE PROGRAM [ARGUMENT...]

SOCKETS is a comma-separated list of PATH or PATH=NAME. When any socket has a name,
LISTEN_FDNAMES lists the names in order, with "unknown" for an unnamed socket as systemd does.
The program's exit status is also written to STATUS_FILE when it ends.
"""
import fcntl
import os
import signal
import socket
import sys


def main() -> int:
    sockets, status_file, program = sys.argv[1], sys.argv[2], sys.argv[3:]
    # A parent may have left these blocked (a test runner's thread does); systemd does not.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    listeners, names = [], []
    for entry in sockets.split(","):
        path, _, name = entry.partition("=")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        listener.bind(path)
        listener.listen(64)
        listeners.append(listener)
        names.append(name or "unknown")
    child = os.fork()
    if child == 0:
        # Move every socket above the target range first, so that no dup2 onto fd 3 + i
        # closes a listener that has not been placed yet.
        high = [fcntl.fcntl(listener.fileno(), fcntl.F_DUPFD, 100) for listener in listeners]
        for index, fd in enumerate(high):
            os.dup2(fd, 3 + index)
            os.close(fd)
        os.environ["LISTEN_FDS"] = str(len(listeners))
        os.environ["LISTEN_PID"] = str(os.getpid())
        if any(name != "unknown" for name in names):
            os.environ["LISTEN_FDNAMES"] = ":".join(names)
        os.execv(program[0], program)
    for listener in listeners:
        listener.close()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda received, _frame: os.kill(child, received))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    # Written whole and renamed into place, so that a reader never sees an empty file.
    partial = f"{status_file}.partial"
    with open(partial, "w", encoding="ascii") as output:
        output.write(f"{code}\n")
    os.rename(partial, status_file)
    return code


if __name__ == "__main__":
    sys.exit(main())
