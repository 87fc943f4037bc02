#define _GNU_SOURCE
#include "swd_system.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

const int swd_clone_newns = CLONE_NEWNS;
const int swd_clone_newuts = CLONE_NEWUTS;
const int swd_clone_newipc = CLONE_NEWIPC;
const int swd_clone_newpid = CLONE_NEWPID;
const int swd_clone_newnet = CLONE_NEWNET;
const int swd_clone_newcgroup = CLONE_NEWCGROUP;

int swd_setns(int fd, int nstype) { return setns(fd, nstype); }

int swd_unshare(int flags) { return unshare(flags); }

int swd_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

pid_t swd_gettid(void) { return (pid_t)syscall(SYS_gettid); }

int swd_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -1;
    flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    return fcntl(fd, F_SETFD, flags);
}

int swd_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    return fcntl(fd, F_SETFL, flags);
}

int swd_get_window_size(int fd, unsigned short *rows, unsigned short *cols) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) < 0) return -1;
    *rows = size.ws_row;
    *cols = size.ws_col;
    return 0;
}

int swd_open(const char *path, int flags, unsigned int mode) { return open(path, flags, mode); }

int swd_openat(int dirfd, const char *path, int flags, unsigned int mode) {
    return openat(dirfd, path, flags, mode);
}

int swd_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int swd_errno(void) { return errno; }

int swd_accept_cloexec(int fd) { return accept4(fd, NULL, NULL, SOCK_CLOEXEC); }

int swd_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int swd_epoll_add(int epfd, int fd, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof event);
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

int swd_epoll_remove(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int swd_epoll_wait(int epfd, uint64_t *tokens, int count) {
    struct epoll_event events[64];
    if (count > 64) count = 64;
    int ready = epoll_wait(epfd, events, count, -1);
    for (int i = 0; i < ready; i++) tokens[i] = events[i].data.u64;
    return ready;
}

int swd_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

#ifndef SWD_GIT_COMMIT
#define SWD_GIT_COMMIT "unknown"
#endif
#ifndef SWD_BUILD_TIME
#define SWD_BUILD_TIME ""
#endif

const char *swd_git_commit(void) { return SWD_GIT_COMMIT; }

const char *swd_build_time(void) { return SWD_BUILD_TIME; }
