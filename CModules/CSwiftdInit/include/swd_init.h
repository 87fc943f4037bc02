#ifndef SWD_INIT_H
#define SWD_INIT_H

/*
 * The container init: starts a process in new namespaces on a prepared rootfs.
 *
 * The caller prepares everything the child needs as plain C data before swd_container_clone().
 * The child then makes only async-signal-safe raw system calls, because the parent (a Swift
 * process) has threads, and one of them may hold a heap lock at the moment of the clone.
 *
 * Sequence: swd_container_clone() starts the child, which waits on a sync pipe; the caller puts
 * it into its cgroups and configures its network; swd_container_release() lets it run on and
 * reports whether execve succeeded (EOF on a close-on-exec error pipe) or which stage failed.
 */

#include <stdint.h>
#include <sys/types.h>

/* The step at which the child failed, reported with its errno over the error pipe. */
enum swd_stage {
    SWD_STAGE_NONE = 0,
    SWD_STAGE_SYNC = 1,          /* reading the sync pipe (parent gone or aborted) */
    SWD_STAGE_MAKE_PRIVATE = 2,  /* mount --make-rprivate / */
    SWD_STAGE_BIND_ROOTFS = 3,   /* bind-mounting the rootfs onto itself */
    SWD_STAGE_CHDIR_ROOTFS = 4,
    SWD_STAGE_MOUNT_PROC = 5,
    SWD_STAGE_MOUNT_DEV = 6,
    SWD_STAGE_CREATE_DEVICE = 7,
    SWD_STAGE_MOUNT_DEVPTS = 8,
    SWD_STAGE_MOUNT_SHM = 9,
    SWD_STAGE_MOUNT_MQUEUE = 10,
    SWD_STAGE_DEV_SYMLINK = 11,
    SWD_STAGE_MOUNT_SYS = 12,
    SWD_STAGE_PIVOT_ROOT = 13,
    SWD_STAGE_DETACH_OLD_ROOT = 14,
    SWD_STAGE_HOSTNAME = 15,
    SWD_STAGE_CHDIR_WORKDIR = 16,
    SWD_STAGE_BOUNDING_SET = 17,
    SWD_STAGE_KEEP_CAPS = 18,
    SWD_STAGE_SET_GROUPS = 19,
    SWD_STAGE_SET_GID = 20,
    SWD_STAGE_SET_UID = 21,
    SWD_STAGE_CAPSET = 22,
    SWD_STAGE_AMBIENT = 23,
    SWD_STAGE_STDIO = 24,
    SWD_STAGE_SIGNALS = 25,
    SWD_STAGE_LOOKUP = 26,       /* argv[0] found nowhere in PATH (errno ENOENT or EACCES) */
    SWD_STAGE_EXEC = 27,         /* execve itself failed */
    SWD_STAGE_MOUNT_POINT = 28,  /* creating a missing mount point in the rootfs */
};

/* The container's command, root, identity and stdio. Every pointer needs to stay valid only
 * until swd_container_clone() returns, because the child works on its own copy of memory. */
struct swd_container_config {
    const char *rootfs;          /* absolute host path of the prepared root directory */
    char *const *argv;           /* NULL-terminated; argv[0] is resolved through path */
    char *const *envp;           /* NULL-terminated "K=V" strings */
    const char *path;            /* the PATH value used to resolve argv[0] */
    const char *workdir;         /* absolute path inside the container */
    const char *hostname;        /* empty: keep the copied UTS name */
    uint32_t uid;
    uint32_t gid;
    const uint32_t *groups;      /* supplementary groups */
    uint32_t group_count;
    uint64_t capabilities;       /* bounding, effective, permitted and inheritable mask */
    int32_t last_capability;     /* highest capability number the kernel knows */
    int32_t new_network;         /* nonzero: CLONE_NEWNET */
    int32_t stdin_fd;            /* -1: /dev/null inside the container */
    int32_t stdout_fd;
    int32_t stderr_fd;
};

/* A started child that is waiting for swd_container_release(). */
struct swd_container_child {
    pid_t pid;
    int32_t sync_fd;   /* write end of the sync pipe, held by the parent */
    int32_t error_fd;  /* read end of the close-on-exec error pipe */
};

/* The failure report of a child. */
struct swd_child_error {
    int32_t stage;  /* enum swd_stage */
    int32_t error;  /* errno */
};

/*
 * Clones the child into new mount, UTS, IPC and PID namespaces (and a network namespace when
 * config->new_network is set). The child waits until swd_container_release() or
 * swd_container_abort(). Returns 0, or -1 with errno set (nothing is left behind then).
 * Thread-safe: pipes and clone are serialised so that no other child inherits these pipes.
 */
int swd_container_clone(const struct swd_container_config *config,
                        struct swd_container_child *child);

/*
 * Lets the child run on, then blocks until it has called execve (returns 0) or reported a
 * failure (returns 1 and fills *error). Returns -1 with errno if the error pipe could not be
 * read. Closes both of the child's pipes in every case.
 */
int swd_container_release(struct swd_container_child *child, struct swd_child_error *error);

/* Closes the child's pipes without releasing it: the child sees EOF and exits with 127. */
void swd_container_abort(struct swd_container_child *child);

/* pipe2(2) with O_CLOEXEC; glibc's Swift module hides pipe2. */
int swd_init_pipe(int32_t fds[2]);

/* The calling thread's errno. */
int swd_init_errno(void);

#endif
