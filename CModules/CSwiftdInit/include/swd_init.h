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
    SWD_STAGE_USER_MOUNT = 29,   /* a bind or tmpfs mount of the spec */
    SWD_STAGE_MASK_PATH = 30,
    SWD_STAGE_READONLY_PATH = 31,
    SWD_STAGE_READONLY_ROOTFS = 32,
    SWD_STAGE_NO_NEW_PRIVS = 33,
    SWD_STAGE_SECCOMP = 34,
    SWD_STAGE_RLIMIT = 35,
    SWD_STAGE_TERMINAL = 36,     /* opening the pty or making it the controlling terminal */
    SWD_STAGE_SETNS = 37,        /* exec: joining a namespace of the running container */
    SWD_STAGE_FORK = 38,         /* exec: the fork that enters the pid namespace; --init: the
                                  * fork of the command */
    SWD_STAGE_CGROUP = 39,       /* moving itself into a cgroup through cgroup_fds */
};

/* A bind or tmpfs mount, made below the rootfs before pivot_root. */
struct swd_mount {
    const char *source;       /* host path (bind) or "tmpfs" */
    const char *destination;  /* absolute path inside the container, resolved in the rootfs */
    const char *fstype;       /* NULL: bind mount; otherwise the filesystem type */
    const char *data;         /* filesystem options such as "size=65536k", or NULL */
    uint64_t flags;           /* MS_* flags; MS_RDONLY on a bind means a read-only remount */
    int32_t file;             /* nonzero: the mount point is a file, not a directory */
};

/* A device node made in the container with mknod, after the default devices. */
struct swd_device_node {
    const char *parent;  /* absolute directory inside the container, created if missing */
    const char *name;    /* the node's name in it; an existing file of that name is replaced */
    uint32_t mode;       /* S_IFCHR or S_IFBLK and the permission bits */
    uint32_t major;
    uint32_t minor;
    uint32_t uid;
    uint32_t gid;
};

/* A resource limit set with prlimit in the child. */
struct swd_rlimit {
    int32_t resource;  /* RLIMIT_* */
    uint64_t soft;
    uint64_t hard;
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
    int32_t last_capability;     /* highest capability number the kernel supports */
    int32_t new_network;         /* nonzero: CLONE_NEWNET */
    int32_t stdin_fd;            /* -1: /dev/null inside the container */
    int32_t stdout_fd;
    int32_t stderr_fd;
    int32_t privileged;          /* nonzero: no masked or read-only paths, /sys read-write */
    int32_t readonly_rootfs;
    int32_t no_new_privileges;
    int32_t tty;                 /* nonzero: stdio is a pty opened in the container's devpts */
    uint16_t tty_rows;           /* the pty's first window size; 0 leaves it unset */
    uint16_t tty_columns;
    uint64_t shm_size;           /* bytes of the /dev/shm tmpfs; 0: no /dev/shm (--ipc none) */
    const struct swd_mount *mounts;
    uint32_t mount_count;
    const struct swd_rlimit *rlimits;
    uint32_t rlimit_count;
    const void *seccomp_filter;  /* struct sock_filter[], or NULL for no seccomp */
    uint32_t seccomp_length;     /* number of BPF instructions */
    const char *join_network;    /* NULL, or a network namespace to join (with new_network 0),
                                  * such as /proc/PID/ns/net */
    int32_t init;                /* nonzero: stay as PID 1, run the command as a child, forward
                                  * signals to it, reap every zombie, and exit with its status */
    const struct swd_device_node *devices;
    uint32_t device_count;
    /* Nonzero: no new IPC, UTS or PID namespace. The child keeps the daemon's (the host's),
     * or joins the one at join_ipc, join_uts or join_pid (such as /proc/PID/ns/ipc). */
    int32_t keep_ipc;
    int32_t keep_uts;
    int32_t keep_pid;
    const char *join_ipc;
    const char *join_uts;
    const char *join_pid;
    /* NULL: the caller is the child's parent. Otherwise the executable of the container's
     * monitor (swiftd-monitor), which becomes the child's parent: a process cloned from the
     * caller clones the child, then runs this program in monitor_directory. */
    const char *monitor_path;
    const char *monitor_directory;
    /* The `tasks` files of the container's cgroup v1 hierarchies, open for writing. The
     * child writes "0" to each first thing, which moves it (one thread) without the global
     * lock that a move by pid takes: that lock waits for an RCU grace period, several
     * milliseconds. Closed in the child afterwards. */
    const int32_t *cgroup_fds;
    uint32_t cgroup_fd_count;
};

/* A started child that is waiting for swd_container_release(). */
struct swd_container_child {
    pid_t pid;
    int32_t sync_fd;   /* write end of the sync pipe, held by the parent */
    int32_t error_fd;  /* read end of the close-on-exec error pipe */
    int32_t tty;       /* the child sends a pty master over the sync socket */
    int32_t master_fd; /* after release: the pty master, or -1 */
    pid_t monitor_pid; /* with a monitor: its pid (the caller's child), else 0 */
    int32_t monitor_fd; /* with a monitor: the caller's end of its socket pair, else -1 */
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
 * failure (returns 1 and fills *error). With child->tty set, it first receives the pty master
 * into child->master_fd (the caller owns it on success; it is closed on failure).
 * Returns -1 with errno if the error pipe could not be read. Closes both of the child's pipes.
 */
int swd_container_release(struct swd_container_child *child, struct swd_child_error *error);

/* Closes the child's pipes without releasing it: the child reads EOF and exits with 127. */
void swd_container_abort(struct swd_container_child *child);

/*
 * The monitor's protocol: fixed-size messages over a Unix stream socket, some carrying
 * descriptors (SCM_RIGHTS). The monitor keeps the container's exit status and keeps its stdio open
 * (stdin's write end, the stdout and stderr read ends or the pty master), so that neither the
 * container nor its output is lost while no daemon is connected.
 */
enum swd_monitor_type {
    SWD_MONITOR_CHILD = 'C',   /* monitor to caller, before exec: value is the child's pid */
    SWD_MONITOR_FAILED = 'E',  /* monitor to caller: value is the errno of a failed clone or exec */
    SWD_MONITOR_HELLO = 'P',   /* monitor to daemon on every connection: value is the child's
                                * pid; the kept descriptors follow, as mask lists them */
    SWD_MONITOR_EXIT = 'X',    /* monitor to daemon: value is the child's raw wait status */
    SWD_MONITOR_KEEP = 'F',    /* daemon to monitor: hold these descriptors (mask), replacing
                                * those held before */
    SWD_MONITOR_CLOSE_STDIN = 'I', /* daemon to monitor: close the held stdin */
    SWD_MONITOR_DONE = 'A',    /* daemon to monitor: the exit is recorded; the monitor ends */
};

/* The descriptors a monitor holds, by bit of the mask, in this order. */
enum swd_monitor_slot {
    SWD_MONITOR_STDIN = 1,   /* write end of the container's stdin pipe */
    SWD_MONITOR_STDOUT = 2,  /* read end of its stdout pipe, or the pty master */
    SWD_MONITOR_STDERR = 4,  /* read end of its stderr pipe */
};

struct swd_monitor_message {
    uint32_t type;  /* enum swd_monitor_type */
    int32_t value;
    uint32_t mask;  /* enum swd_monitor_slot bits of the descriptors sent with it */
};

/* The monitor's socket, in monitor_directory. */
#define SWD_MONITOR_SOCKET "monitor.sock"
/* The file in monitor_directory where the monitor records the child's raw wait status and the
 * time of the exit (Unix seconds with a fraction), separated by a space. */
#define SWD_MONITOR_EXIT_FILE "exit-status"

/* Sends one message with the descriptors of mask (fds in slot order). Returns 0, or -1 with
 * errno. Never raises SIGPIPE. */
int swd_monitor_send(int32_t socket, uint32_t type, int32_t value, uint32_t mask,
                     const int32_t *fds);

/* Receives one message; its descriptors (close-on-exec) go to fds in slot order, -1 where
 * mask has no bit. Returns 1, 0 at end of stream, or -1 with errno (EPROTO for a short or
 * malformed message). */
int swd_monitor_receive(int32_t socket, struct swd_monitor_message *message, int32_t fds[3]);

/* Connects to the monitor socket in directory (any path length), with a 2-second receive
 * timeout. Returns the close-on-exec socket, or -1 with errno. */
int32_t swd_monitor_connect(const char *directory);

/* pipe2(2) with O_CLOEXEC; glibc's Swift module hides pipe2. */
int swd_init_pipe(int32_t fds[2]);

/* The calling thread's errno. */
int swd_init_errno(void);

/* Sets a terminal's window size (TIOCSWINSZ); ioctl is variadic, so Swift cannot call it.
 * Returns 0, or -1 with errno. */
int swd_init_set_window_size(int32_t fd, uint16_t rows, uint16_t columns);

/* Reads a terminal's window size (TIOCGWINSZ). Returns 0, or -1 with errno. */
int swd_init_get_window_size(int32_t fd, uint16_t *rows, uint16_t *columns);

/* What swd_exec_clone() runs inside a running container. Pointers as in the config. */
struct swd_exec_config {
    int32_t namespace_fds[5];    /* opened /proc/PID/ns/{ipc,uts,net,pid,mnt}, in this order */
    char *const *argv;
    char *const *envp;
    const char *path;
    const char *workdir;
    uint32_t uid;
    uint32_t gid;
    const uint32_t *groups;
    uint32_t group_count;
    uint64_t capabilities;
    int32_t last_capability;
    int32_t no_new_privileges;
    const void *seccomp_filter;
    uint32_t seccomp_length;
    int32_t stdin_fd;            /* -1: /dev/null */
    int32_t stdout_fd;
    int32_t stderr_fd;
    int32_t tty;                 /* nonzero: stdio is a new pty of the container's devpts */
    uint16_t tty_rows;           /* the pty's first window size; 0 leaves it unset */
    uint16_t tty_columns;
    const int32_t *cgroup_fds;   /* as in swd_container_config; written by the helper */
    uint32_t cgroup_fd_count;
};

/* A started exec helper that waits for swd_exec_release(). */
struct swd_exec_child {
    pid_t helper;      /* the single-threaded helper; exits by itself, the caller reaps it */
    int32_t sync_fd;
    int32_t error_fd;
    int32_t pid_fd;    /* read end of the pipe that carries the command's pid */
    int32_t tty;       /* the command sends a pty master over the sync socket */
    int32_t master_fd; /* after release: the pty master, or -1 */
};

/*
 * Clones a single-threaded helper that waits on a sync socket (the caller puts it into the
 * container's cgroups meanwhile), then joins the namespaces (setns fails with EINVAL in a
 * multithreaded process, so it cannot happen in the caller) and forks the command with
 * CLONE_PARENT: the command is the caller's child, inside the container's pid namespace.
 * Returns 0, or -1 with errno.
 */
int swd_exec_clone(const struct swd_exec_config *config, struct swd_exec_child *child);

/*
 * Lets the helper run on and blocks until the command has called execve (returns 0 and its
 * pid) or the helper or command failed (returns 1 and fills *error). -1 with errno if a pipe
 * could not be read. Closes the pipes. The helper exits in every case; the caller reaps it.
 * With child->tty set, it first receives the pty master into child->master_fd (the caller
 * owns it, also on failure, when it is not -1).
 */
int swd_exec_release(struct swd_exec_child *child, pid_t *pid, struct swd_child_error *error);

/* Closes the helper's pipes without releasing it: it exits with 127. */
void swd_exec_abort(struct swd_exec_child *child);

#endif
