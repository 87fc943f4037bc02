#!/usr/bin/env python3
"""Starts a program with a listening unix socket passed as systemd does (fd 3, LISTEN_FDS=1,
LISTEN_PID), forwards SIGTERM and SIGINT to it, and exits with its status.

Usage: socket-activate.py SOCKET_PATH STATUS_FILE PROGRAM [ARGUMENT...]

The program's exit status is also written to STATUS_FILE when it ends.
"""
import os
import signal
import socket
import sys


def main() -> int:
    path, status_file, program = sys.argv[1], sys.argv[2], sys.argv[3:]
    # A parent may have left these blocked (a test runner's thread does); systemd does not.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    if os.path.exists(path):
        os.unlink(path)
    listener.bind(path)
    listener.listen(64)
    child = os.fork()
    if child == 0:
        if listener.fileno() != 3:
            os.dup2(listener.fileno(), 3)
        os.set_inheritable(3, True)
        os.environ["LISTEN_FDS"] = "1"
        os.environ["LISTEN_PID"] = str(os.getpid())
        os.execv(program[0], program)
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
    with open(status_file, "w", encoding="ascii") as output:
        output.write(f"{code}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
