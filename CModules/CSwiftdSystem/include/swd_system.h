#ifndef SWD_SYSTEM_H
#define SWD_SYSTEM_H

/*
 * Declarations that glibc's Swift module hides because it is built without _GNU_SOURCE
 * (setns, unshare, pipe2, gettid and the CLONE_NEW* flags), and variadic or macro-only calls
 * that Swift cannot import. Each one can go once the Swift Glibc module exposes it.
 */

#include <sys/types.h>
#include <stdint.h>

/* Namespace flags for setns(2) and unshare(2). */
extern const int swd_clone_newns;
extern const int swd_clone_newuts;
extern const int swd_clone_newipc;
extern const int swd_clone_newpid;
extern const int swd_clone_newnet;
extern const int swd_clone_newcgroup;

int swd_setns(int fd, int nstype);
int swd_unshare(int flags);
/* pipe2(2) with O_CLOEXEC. */
int swd_pipe_cloexec(int fds[2]);
pid_t swd_gettid(void);
/* fcntl(fd, F_SETFD/F_GETFL…) is variadic in glibc. */
int swd_set_cloexec(int fd, int on);
int swd_set_nonblocking(int fd, int on);
/* ioctl(2) is variadic; TIOCGWINSZ for the client's terminal size. */
int swd_get_window_size(int fd, unsigned short *rows, unsigned short *cols);
/* open(2) is variadic. */
int swd_open(const char *path, int flags, unsigned int mode);
/* openat(2) is variadic. */
int swd_openat(int dirfd, const char *path, int flags, unsigned int mode);
/* pidfd_open(2) has no glibc wrapper in Debian 12. */
int swd_pidfd_open(pid_t pid);
/* accept4(2) with SOCK_CLOEXEC; accept4 is a GNU extension. */
int swd_accept_cloexec(int fd);
/* The errno of the calling thread. */
int swd_errno(void);

/* The commit and build time the build was made with ("unknown" and "" outside make). */
const char *swd_git_commit(void);
const char *swd_build_time(void);

/* epoll(7) and eventfd(2), whose headers glibc's Swift module leaves out. */
/* epoll_create1(EPOLL_CLOEXEC). */
int swd_epoll_create(void);
/* Adds fd for EPOLLIN and EPOLLRDHUP, with token as its event data. */
int swd_epoll_add(int epfd, int fd, uint64_t token);
int swd_epoll_remove(int epfd, int fd);
/* Waits without a timeout for up to count events and stores their tokens; returns how many,
 * or -1 with errno. */
int swd_epoll_wait(int epfd, uint64_t *tokens, int count);
/* eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK). */
int swd_eventfd(void);

#endif
