/*
 * The container init. See include/swd_init.h for the sequence.
 *
 * The child never allocates and never takes a lock: it runs on a copy of a threaded parent's
 * memory in which another thread may have held malloc's or stdio's lock at the moment of the
 * clone. The child calls set*id through raw syscall() because glibc's wrappers signal every
 * thread the parent had, and the child's copy of that thread list is stale.
 */
#define _GNU_SOURCE
#include "swd_init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define SWD_STACK_SIZE (256 * 1024)
#define SWD_PATH_MAX 4096

/* Serialises pipe creation and clone, so that no container child inherits another one's
 * pipes and keeps them open until its own execve. */
static pthread_mutex_t swd_clone_lock = PTHREAD_MUTEX_INITIALIZER;

struct swd_child_args {
    const struct swd_container_config *config;
    int sync_read;   /* child's end of the sync socket pair */
    int sync_write;  /* parent's end (closed in the child) */
    int error_read;  /* parent's end (closed in the child) */
    int error_write; /* child's end, close-on-exec */
};

struct swd_device {
    const char *path;
    unsigned int major;
    unsigned int minor;
};

/* Docker's default devices, all character devices with mode 0666. */
static const struct swd_device swd_devices[] = {
    {"dev/null", 1, 3},    {"dev/zero", 1, 5},    {"dev/full", 1, 7},
    {"dev/random", 1, 8},  {"dev/urandom", 1, 9}, {"dev/tty", 5, 0},
};

static __attribute__((noreturn)) void swd_fail(int fd, int stage) {
    struct swd_child_error report = {stage, errno};
    ssize_t ignored = write(fd, &report, sizeof report);
    (void)ignored;
    _exit(127);
}

/* Creates a mount point directory; one that exists already is fine. */
static void swd_mount_point(int fd, const char *path) {
    if (mkdir(path, 0755) != 0 && errno != EEXIST) swd_fail(fd, SWD_STAGE_MOUNT_POINT);
}

/* Creates a device node, or bind-mounts the host's where mknod is not allowed. */
static void swd_create_device(int fd, const struct swd_device *device) {
    if (mknod(device->path, S_IFCHR | 0666, makedev(device->major, device->minor)) == 0) return;
    if (errno != EPERM) swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
    int file = open(device->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    if (file < 0) swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
    close(file);
    /* device->path is "dev/NAME" relative to the rootfs; the host's is "/dev/NAME". */
    char host[64] = "/";
    size_t length = strlen(device->path);
    if (length + 2 > sizeof host) {
        errno = ENAMETOOLONG;
        swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
    }
    memcpy(host + 1, device->path, length + 1);
    if (mount(host, device->path, NULL, MS_BIND, NULL) != 0)
        swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
}

/* Mounts /proc, /dev and /sys below the rootfs, which is the current directory. */
static void swd_mount_filesystems(int fd) {
    swd_mount_point(fd, "proc");
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        swd_fail(fd, SWD_STAGE_MOUNT_PROC);

    swd_mount_point(fd, "dev");
    if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") != 0)
        swd_fail(fd, SWD_STAGE_MOUNT_DEV);
    for (size_t i = 0; i < sizeof swd_devices / sizeof swd_devices[0]; i++)
        swd_create_device(fd, &swd_devices[i]);

    swd_mount_point(fd, "dev/pts");
    if (mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5") != 0)
        swd_fail(fd, SWD_STAGE_MOUNT_DEVPTS);
    swd_mount_point(fd, "dev/shm");
    if (mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=1777,size=65536k") != 0)
        swd_fail(fd, SWD_STAGE_MOUNT_SHM);
    swd_mount_point(fd, "dev/mqueue");
    if (mount("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        swd_fail(fd, SWD_STAGE_MOUNT_MQUEUE);

    static const char *const links[][2] = {
        {"pts/ptmx", "dev/ptmx"},          {"/proc/self/fd", "dev/fd"},
        {"/proc/self/fd/0", "dev/stdin"},  {"/proc/self/fd/1", "dev/stdout"},
        {"/proc/self/fd/2", "dev/stderr"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
        if (symlink(links[i][0], links[i][1]) != 0) swd_fail(fd, SWD_STAGE_DEV_SYMLINK);

    /* NOTE: /sys is mounted only where the image has it, as Docker's images all do. */
    struct stat info;
    if (stat("sys", &info) == 0 && S_ISDIR(info.st_mode)) {
        if (mount("sysfs", "sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) != 0)
            swd_fail(fd, SWD_STAGE_MOUNT_SYS);
    }
    // TODO: Docker's masked paths (/proc/kcore, /proc/keys, …), read-only /proc/sys and the
    // cgroup mount at /sys/fs/cgroup are not set up yet.
}

/* Drops the bounding set to the mask, switches to uid/gid, and sets the remaining sets. */
static void swd_set_identity(int fd, const struct swd_container_config *config) {
    uint64_t mask = config->capabilities;
    for (int cap = 0; cap <= config->last_capability && cap < 64; cap++) {
        if (mask & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) swd_fail(fd, SWD_STAGE_BOUNDING_SET);
    }
    /* Keep the permitted set across the change of uid; capset below restores the rest. */
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) swd_fail(fd, SWD_STAGE_KEEP_CAPS);
    if (syscall(SYS_setgroups, (size_t)config->group_count, config->groups) != 0)
        swd_fail(fd, SWD_STAGE_SET_GROUPS);
    if (syscall(SYS_setresgid, config->gid, config->gid, config->gid) != 0)
        swd_fail(fd, SWD_STAGE_SET_GID);
    if (syscall(SYS_setresuid, config->uid, config->uid, config->uid) != 0)
        swd_fail(fd, SWD_STAGE_SET_UID);

    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    for (int i = 0; i < 2; i++) {
        uint32_t word = (uint32_t)(mask >> (32 * i));
        data[i].effective = word;
        data[i].permitted = word;
        data[i].inheritable = word;
    }
    if (syscall(SYS_capset, &header, data) != 0) swd_fail(fd, SWD_STAGE_CAPSET);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
        swd_fail(fd, SWD_STAGE_AMBIENT);
}

/* Connects stdin, stdout and stderr and marks every other descriptor close-on-exec. */
static void swd_connect_stdio(int fd, const struct swd_container_config *config) {
    int sources[3] = {config->stdin_fd, config->stdout_fd, config->stderr_fd};
    if (sources[0] < 0) {
        sources[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (sources[0] < 0) swd_fail(fd, SWD_STAGE_STDIO);
    }
    /* Move every source above 2 first, so that dup2 into 0-2 cannot overwrite a later one. */
    int high[3];
    for (int i = 0; i < 3; i++) {
        high[i] = fcntl(sources[i], F_DUPFD_CLOEXEC, 3);
        if (high[i] < 0) swd_fail(fd, SWD_STAGE_STDIO);
    }
    for (int i = 0; i < 3; i++)
        if (dup2(high[i], i) < 0) swd_fail(fd, SWD_STAGE_STDIO);
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0 && errno != ENOSYS &&
        errno != EINVAL)
        swd_fail(fd, SWD_STAGE_STDIO);
}

/* Resets every signal to its default action, as the daemon may ignore SIGPIPE. */
static void swd_reset_signals(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &action, NULL);
}

/* Runs argv[0], searching path as execvp does, but with the container's environment. */
static __attribute__((noreturn)) void swd_exec(int fd, const struct swd_container_config *config) {
    const char *name = config->argv[0];
    if (strchr(name, '/') != NULL) {
        execve(name, config->argv, config->envp);
        swd_fail(fd, SWD_STAGE_EXEC);
    }
    size_t name_length = strlen(name);
    int denied = 0;
    const char *segment = config->path;
    while (1) {
        const char *end = strchrnul(segment, ':');
        size_t length = (size_t)(end - segment);
        char candidate[SWD_PATH_MAX];
        if (length + 1 + name_length + 1 <= sizeof candidate) {
            /* An empty PATH entry means the working directory. */
            if (length == 0) candidate[length++] = '.';
            else memcpy(candidate, segment, length);
            candidate[length] = '/';
            memcpy(candidate + length + 1, name, name_length + 1);
            execve(candidate, config->argv, config->envp);
            switch (errno) {
            case EACCES: denied = 1; break;
            case ENOENT: case ENOTDIR: case ENAMETOOLONG: case ELOOP: break;
            default: swd_fail(fd, SWD_STAGE_EXEC);
            }
        }
        if (*end == '\0') break;
        segment = end + 1;
    }
    errno = denied ? EACCES : ENOENT;
    swd_fail(fd, SWD_STAGE_LOOKUP);
}

static int swd_child(void *raw) {
    const struct swd_child_args *args = raw;
    const struct swd_container_config *config = args->config;
    int fd = args->error_write;
    close(args->sync_write);
    close(args->error_read);

    /* Wait until the parent has set up cgroups and network; EOF means it gave up. */
    char byte;
    ssize_t count;
    do count = read(args->sync_read, &byte, 1);
    while (count < 0 && errno == EINTR);
    if (count != 1) {
        if (count == 0) errno = EPIPE;
        swd_fail(fd, SWD_STAGE_SYNC);
    }
    close(args->sync_read);
    umask(0);

    /* Private first: otherwise the detach of the old root propagates into host mounts. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        swd_fail(fd, SWD_STAGE_MAKE_PRIVATE);
    if (mount(config->rootfs, config->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0)
        swd_fail(fd, SWD_STAGE_BIND_ROOTFS);
    if (chdir(config->rootfs) != 0) swd_fail(fd, SWD_STAGE_CHDIR_ROOTFS);
    swd_mount_filesystems(fd);

    /* pivot_root(".", ".") stacks the old root on the new one; detaching "." removes it. */
    if (syscall(SYS_pivot_root, ".", ".") != 0) swd_fail(fd, SWD_STAGE_PIVOT_ROOT);
    if (umount2(".", MNT_DETACH) != 0) swd_fail(fd, SWD_STAGE_DETACH_OLD_ROOT);
    if (chdir("/") != 0) swd_fail(fd, SWD_STAGE_DETACH_OLD_ROOT);

    if (config->hostname[0] != '\0' &&
        sethostname(config->hostname, strlen(config->hostname)) != 0)
        swd_fail(fd, SWD_STAGE_HOSTNAME);
    if (chdir(config->workdir) != 0) swd_fail(fd, SWD_STAGE_CHDIR_WORKDIR);
    swd_set_identity(fd, config);
    swd_connect_stdio(fd, config);

    swd_reset_signals();
    umask(022);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) swd_fail(fd, SWD_STAGE_SIGNALS);
    swd_exec(fd, config);
}

/* A close-on-exec pipe (or socket pair) whose descriptors are both above 2, so that the
 * child's dup2 into 0-2 cannot overwrite them. */
static int swd_raise_fds(int fds[2]) {
    for (int i = 0; i < 2; i++) {
        if (fds[i] > 2) continue;
        int moved = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (moved < 0) {
            int saved = errno;
            close(fds[0]);
            close(fds[1]);
            errno = saved;
            return -1;
        }
        close(fds[i]);
        fds[i] = moved;
    }
    return 0;
}

int swd_init_pipe(int32_t fds[2]) { return pipe2(fds, O_CLOEXEC); }

int swd_init_errno(void) { return errno; }

int swd_container_clone(const struct swd_container_config *config,
                        struct swd_container_child *child) {
    int sync[2], error[2];
    int saved;
    pthread_mutex_lock(&swd_clone_lock);

    /* A socket pair for sync, so that the parent's send cannot raise SIGPIPE. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) != 0 || swd_raise_fds(sync) != 0)
        goto unlock;
    if (pipe2(error, O_CLOEXEC) != 0 || swd_raise_fds(error) != 0) {
        saved = errno;
        close(sync[0]);
        close(sync[1]);
        errno = saved;
        goto unlock;
    }
    void *stack = mmap(NULL, SWD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        saved = errno;
        close(sync[0]);
        close(sync[1]);
        close(error[0]);
        close(error[1]);
        errno = saved;
        goto unlock;
    }

    struct swd_child_args args = {config, sync[0], sync[1], error[0], error[1]};
    int flags = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID | SIGCHLD;
    if (config->new_network) flags |= CLONE_NEWNET;

    /* Block every signal so that no handler of the parent runs in the child's copy; the
     * child resets the handlers and unblocks just before execve. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(swd_child, (char *)stack + SWD_STACK_SIZE, flags, &args);
    saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    /* Without CLONE_VM the child runs on its own copy of the stack. */
    munmap(stack, SWD_STACK_SIZE);
    close(sync[0]);
    close(error[1]);
    if (pid < 0) {
        close(sync[1]);
        close(error[0]);
        errno = saved;
        goto unlock;
    }
    child->pid = pid;
    child->sync_fd = sync[1];
    child->error_fd = error[0];
    pthread_mutex_unlock(&swd_clone_lock);
    return 0;

unlock:
    saved = errno;
    pthread_mutex_unlock(&swd_clone_lock);
    errno = saved;
    return -1;
}

int swd_container_release(struct swd_container_child *child, struct swd_child_error *error) {
    char byte = 1;
    ssize_t count;
    do count = send(child->sync_fd, &byte, 1, MSG_NOSIGNAL);
    while (count < 0 && errno == EINTR);
    int sent = count == 1;
    int send_errno = errno;
    close(child->sync_fd);
    child->sync_fd = -1;

    /* EOF: execve closed the child's end. A report: the child failed at that stage. */
    struct swd_child_error report = {0, 0};
    size_t have = 0;
    while (have < sizeof report) {
        count = read(child->error_fd, (char *)&report + have, sizeof report - have);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) {
            int saved = errno;
            close(child->error_fd);
            child->error_fd = -1;
            errno = saved;
            return -1;
        }
        if (count == 0) break;
        have += (size_t)count;
    }
    close(child->error_fd);
    child->error_fd = -1;
    if (have == sizeof report) {
        *error = report;
        return 1;
    }
    if (!sent) {
        /* The child died before it was released (killed, for instance). */
        error->stage = SWD_STAGE_SYNC;
        error->error = send_errno;
        return 1;
    }
    return 0;
}

void swd_container_abort(struct swd_container_child *child) {
    if (child->sync_fd >= 0) close(child->sync_fd);
    if (child->error_fd >= 0) close(child->error_fd);
    child->sync_fd = -1;
    child->error_fd = -1;
}
