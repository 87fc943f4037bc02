/*
 * swiftd-monitor: the small process that supervises one container.
 *
 * The daemon starts it (see swd_monitor_child in CSwiftdInit): it is the parent of the
 * container's first process, it keeps the container's stdio open for the daemon, and it
 * keeps the exit status until a daemon has recorded it. So the container keeps running, and
 * nothing it writes is lost, while the daemon restarts or after it crashed.
 *
 * Arguments: the container process's pid. Descriptor 3: the socket to the daemon that started
 * it. The working directory is the container's directory, where the monitor listens on
 * monitor.sock for the next daemon and writes exit-status when the container exits.
 */
#define _GNU_SOURCE
#include "swd_init.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The container's stdio that the monitor holds, by slot (stdin, stdout, stderr). */
static int held[3] = {-1, -1, -1};

static uint32_t held_mask(void) {
    uint32_t mask = 0;
    for (int slot = 0; slot < 3; slot++)
        if (held[slot] >= 0) mask |= 1u << slot;
    return mask;
}

static int listen_socket(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    strcpy(address.sun_path, SWD_MONITOR_SOCKET);
    unlink(SWD_MONITOR_SOCKET);
    umask(077);
    if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 4) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Records the status and the time (Unix seconds) in exit-status, written whole or not at all.
 * Not flushed to disk: the daemon waits for this file before it learns of the exit, and the
 * page cache keeps it across a crash of the daemon or the monitor. A power loss ends the
 * container too, and a status lost with it reads as 255. */
static void record_exit(int status) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char text[64];
    int length = snprintf(text, sizeof text, "%d %lld.%09ld\n", status, (long long)now.tv_sec,
                          now.tv_nsec);
    int fd = open(SWD_MONITOR_EXIT_FILE ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    int written = write(fd, text, (size_t)length) == length;
    close(fd);
    if (written) rename(SWD_MONITOR_EXIT_FILE ".tmp", SWD_MONITOR_EXIT_FILE);
}

/* Greets a daemon: the child's pid, the held descriptors, and the exit if it happened. Returns
 * 0, or -1 if the daemon is gone already. */
static int greet(int connection, pid_t child, int exited, int status) {
    if (swd_monitor_send(connection, SWD_MONITOR_HELLO, child, held_mask(), held) != 0)
        return -1;
    if (exited && swd_monitor_send(connection, SWD_MONITOR_EXIT, status, 0, NULL) != 0) return -1;
    return 0;
}

/* Only root, the daemon's user, may talk to the monitor. */
static int peer_is_root(int connection) {
    struct ucred credentials;
    socklen_t length = sizeof credentials;
    return getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 &&
           credentials.uid == 0;
}

/* At most this many connections at once; the daemon needs one. */
#define SWD_MONITOR_CONNECTIONS 8

/* Accepts a connection from root into a free slot and greets it. A connection that sends
 * only part of a message is dropped after a second, so that it cannot stall the monitor. */
static void accept_connection(int listener, int connections[], pid_t child, int exited,
                              int status) {
    int accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
    if (accepted < 0) return;
    struct timeval timeout = {1, 0};
    int slot = -1;
    for (int i = 0; i < SWD_MONITOR_CONNECTIONS && slot < 0; i++)
        if (connections[i] < 0) slot = i;
    if (slot < 0 || !peer_is_root(accepted) ||
        setsockopt(accepted, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        setsockopt(accepted, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0 ||
        greet(accepted, child, exited, status) != 0) {
        close(accepted);
        return;
    }
    connections[slot] = accepted;
}

/* Handles one message on *connection, closing it at its end or on a malformed message.
 * Returns 1 when the monitor is done: the exit is recorded and a daemon confirmed it. */
static int serve(int *connection, int exited) {
    struct swd_monitor_message message;
    int32_t passed[3];
    if (swd_monitor_receive(*connection, &message, passed) <= 0) {
        close(*connection);
        *connection = -1;
        return 0;
    }
    switch (message.type) {
    case SWD_MONITOR_KEEP:
        for (int slot = 0; slot < 3; slot++) {
            if (held[slot] >= 0) close(held[slot]);
            held[slot] = passed[slot];
        }
        return 0;
    case SWD_MONITOR_CLOSE_STDIN:
        if (held[0] >= 0) close(held[0]);
        held[0] = -1;
        return 0;
    case SWD_MONITOR_DONE:
        return exited;
    default:
        for (int slot = 0; slot < 3; slot++)
            if (passed[slot] >= 0) close(passed[slot]);
        return 0;
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: swiftd-monitor PID (started by swiftd -d, not by hand)\n");
        return 2;
    }
    pid_t child = (pid_t)atoi(argv[1]);
    int connection = 3;
    if (child <= 0 || fcntl(connection, F_SETFD, FD_CLOEXEC) != 0) return 2;

    /* SIGCHLD through a signalfd; a terminal's or a daemon's signals are not ours. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_SETMASK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    int children = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    int listener = listen_socket();
    if (children < 0 || listener < 0) {
        swd_monitor_send(connection, SWD_MONITOR_FAILED, errno, 0, NULL);
        kill(child, SIGKILL);
        return 1;
    }

    int exited = 0, status = 0;
    /* Every connected daemon or client, the starting daemon's first. A client that connects
     * does not displace the daemon: each gets the greeting and the exit. */
    int connections[SWD_MONITOR_CONNECTIONS];
    for (int i = 0; i < SWD_MONITOR_CONNECTIONS; i++) connections[i] = -1;
    if (greet(connection, child, 0, 0) == 0) connections[0] = connection;
    else close(connection);
    for (;;) {
        /* The child may have exited before the signalfd existed: reap before each wait. */
        pid_t reaped;
        int raw;
        while ((reaped = waitpid(-1, &raw, WNOHANG)) > 0) {
            if (reaped != child || exited) continue;
            exited = 1;
            status = raw;
            record_exit(status);
            for (int i = 0; i < SWD_MONITOR_CONNECTIONS; i++) {
                if (connections[i] < 0) continue;
                if (swd_monitor_send(connections[i], SWD_MONITOR_EXIT, status, 0, NULL) != 0) {
                    close(connections[i]);
                    connections[i] = -1;
                }
            }
        }

        struct pollfd fds[2 + SWD_MONITOR_CONNECTIONS];
        fds[0] = (struct pollfd){children, POLLIN, 0};
        fds[1] = (struct pollfd){listener, POLLIN, 0};
        for (int i = 0; i < SWD_MONITOR_CONNECTIONS; i++)
            fds[2 + i] = (struct pollfd){connections[i], POLLIN, 0};
        if (poll(fds, 2 + SWD_MONITOR_CONNECTIONS, -1) < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        if (fds[0].revents) {
            struct signalfd_siginfo info;
            while (read(children, &info, sizeof info) == sizeof info) {
            }
        }
        if (fds[1].revents & POLLIN) accept_connection(listener, connections, child, exited, status);
        for (int i = 0; i < SWD_MONITOR_CONNECTIONS; i++) {
            if (connections[i] < 0 || fds[2 + i].revents == 0) continue;
            if (serve(&connections[i], exited)) {
                unlink(SWD_MONITOR_SOCKET);
                unlink(SWD_MONITOR_EXIT_FILE);
                return 0;
            }
        }
    }
}
