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
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
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

/* Writes the decimal digits of value at out (which has room for 21 bytes), NUL-terminated. */
static void swd_format_decimal(char *out, uint64_t value) {
    char digits[21];
    int count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    for (int i = 0; i < count; i++) out[i] = digits[count - 1 - i];
    out[count] = '\0';
}

/* Appends src to dst (of size capacity). Fails the child with ENAMETOOLONG if it does not fit. */
static void swd_append(int fd, int stage, char *dst, size_t capacity, const char *src) {
    size_t used = strlen(dst), length = strlen(src);
    if (used + length + 1 > capacity) {
        errno = ENAMETOOLONG;
        swd_fail(fd, stage);
    }
    memcpy(dst + used, src, length + 1);
}

/* Docker's masked paths, relative to the rootfs. A file gets /dev/null bound over it and a
 * directory an empty read-only tmpfs. Paths this kernel lacks are skipped. */
static const char *const swd_masked_paths[] = {
    "proc/asound", "proc/acpi", "proc/kcore", "proc/keys", "proc/latency_stats",
    "proc/timer_list", "proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware",
    "sys/devices/virtual/powercap",
};

/* Docker's read-only paths, bound onto themselves and remounted read-only. */
static const char *const swd_readonly_paths[] = {
    "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

static void swd_mask_paths(int fd) {
    for (size_t i = 0; i < sizeof swd_masked_paths / sizeof swd_masked_paths[0]; i++) {
        const char *path = swd_masked_paths[i];
        struct stat info;
        if (lstat(path, &info) != 0) {
            if (errno == ENOENT) continue;
            swd_fail(fd, SWD_STAGE_MASK_PATH);
        }
        int result = S_ISDIR(info.st_mode)
            ? mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                    "size=0")
            : mount("/dev/null", path, NULL, MS_BIND, NULL);
        if (result != 0) swd_fail(fd, SWD_STAGE_MASK_PATH);
    }
    for (size_t i = 0; i < sizeof swd_readonly_paths / sizeof swd_readonly_paths[0]; i++) {
        const char *path = swd_readonly_paths[i];
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0) {
            if (errno == ENOENT) continue;
            swd_fail(fd, SWD_STAGE_READONLY_PATH);
        }
        if (mount(NULL, path, NULL,
                  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  NULL) != 0)
            swd_fail(fd, SWD_STAGE_READONLY_PATH);
    }
}

/* Opens path (absolute inside the container) with O_PATH, resolving every symlink and ".."
 * as if the rootfs (root) were "/". Returns the descriptor or -1 with errno. */
static int swd_open_in_root(int root, const char *path) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    const char *relative = path;
    while (*relative == '/') relative++;
    if (*relative == '\0') relative = ".";
    int result;
    do result = (int)syscall(SYS_openat2, root, relative, &how, sizeof how);
    while (result < 0 && (errno == EAGAIN || errno == EINTR));
    return result;
}

/* Resolves a mount destination inside the rootfs (root) as Docker's FollowSymlinkInScope
 * does: component by component, ".." lexically, every symlink read and followed as if the
 * rootfs were "/", so that no link in the image can lead a mount outside it. Missing
 * components are created at their resolved places (directories, and a file as the last one
 * if file is set). Returns an O_PATH descriptor of the mount point. */
static int swd_resolve_mount_point(int fd, int root, const char *destination, int file) {
    char resolved[SWD_PATH_MAX] = "";  /* symlink-free, "/a/b" form; "" is the root */
    char pending[SWD_PATH_MAX] = "";   /* what is left to walk */
    char scratch[SWD_PATH_MAX];
    swd_append(fd, SWD_STAGE_MOUNT_POINT, pending, sizeof pending, destination);
    int links = 0;
    const char *cursor = pending;
    while (1) {
        while (*cursor == '/') cursor++;
        if (*cursor == '\0') break;
        const char *end = strchrnul(cursor, '/');
        size_t length = (size_t)(end - cursor);
        if (length == 1 && cursor[0] == '.') {
            cursor = end;
            continue;
        }
        if (length == 2 && cursor[0] == '.' && cursor[1] == '.') {
            char *slash = strrchr(resolved, '/');
            if (slash != NULL) *slash = '\0';
            cursor = end;
            continue;
        }
        char candidate[SWD_PATH_MAX];
        size_t base = strlen(resolved);
        if (base + 1 + length + 1 > sizeof candidate) {
            errno = ENAMETOOLONG;
            swd_fail(fd, SWD_STAGE_MOUNT_POINT);
        }
        memcpy(candidate, resolved, base);
        candidate[base] = '/';
        memcpy(candidate + base + 1, cursor, length);
        candidate[base + 1 + length] = '\0';

        struct stat info;
        int status = fstatat(root, candidate + 1, &info, AT_SYMLINK_NOFOLLOW);
        if (status == 0 && S_ISLNK(info.st_mode)) {
            if (++links > 40) {
                errno = ELOOP;
                swd_fail(fd, SWD_STAGE_MOUNT_POINT);
            }
            char target[SWD_PATH_MAX];
            ssize_t count = readlinkat(root, candidate + 1, target, sizeof target - 1);
            if (count < 0) swd_fail(fd, SWD_STAGE_MOUNT_POINT);
            target[count] = '\0';
            if (target[0] == '/') resolved[0] = '\0';
            /* The rest of the walk is the link's target followed by what came after. */
            scratch[0] = '\0';
            swd_append(fd, SWD_STAGE_MOUNT_POINT, scratch, sizeof scratch, target);
            swd_append(fd, SWD_STAGE_MOUNT_POINT, scratch, sizeof scratch, "/");
            swd_append(fd, SWD_STAGE_MOUNT_POINT, scratch, sizeof scratch, end);
            memcpy(pending, scratch, strlen(scratch) + 1);
            cursor = pending;
            continue;
        }
        if (status != 0) {
            if (errno != ENOENT) swd_fail(fd, SWD_STAGE_MOUNT_POINT);
            int last = end[strspn(end, "/")] == '\0';
            if (last && file) {
                int created = openat(root, candidate + 1,
                                     O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (created < 0) swd_fail(fd, SWD_STAGE_MOUNT_POINT);
                close(created);
            } else if (mkdirat(root, candidate + 1, 0755) != 0) {
                swd_fail(fd, SWD_STAGE_MOUNT_POINT);
            }
        }
        memcpy(resolved, candidate, strlen(candidate) + 1);
        cursor = end;
    }
    /* The resolved path has no symlinks left; the kernel checks that it stays so. */
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
    int target;
    do target = (int)syscall(SYS_openat2, root, resolved[0] ? resolved + 1 : ".", &how,
                             sizeof how);
    while (target < 0 && (errno == EAGAIN || errno == EINTR));
    if (target < 0) swd_fail(fd, SWD_STAGE_MOUNT_POINT);
    return target;
}

/* The "/proc/self/fd/N" path of a descriptor, for mounting onto what it resolved to. */
static void swd_fd_path(char out[64], int descriptor) {
    memcpy(out, "/proc/self/fd/", 15);
    swd_format_decimal(out + 14, (uint64_t)descriptor);
}

/* Makes the spec's bind and tmpfs mounts below the rootfs (the current directory). */
static void swd_user_mounts(int fd, const struct swd_container_config *config) {
    if (config->mount_count == 0) return;
    int root = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) swd_fail(fd, SWD_STAGE_USER_MOUNT);
    for (uint32_t i = 0; i < config->mount_count; i++) {
        const struct swd_mount *entry = &config->mounts[i];
        int target = swd_resolve_mount_point(fd, root, entry->destination, entry->file);
        char path[64];
        swd_fd_path(path, target);
        if (entry->fstype == NULL) {
            if (mount(entry->source, path, NULL, MS_BIND | MS_REC, NULL) != 0)
                swd_fail(fd, SWD_STAGE_USER_MOUNT);
            close(target);
            /* The remount must reach the new mount, so resolve the destination again. */
            target = swd_open_in_root(root, entry->destination);
            if (target < 0) swd_fail(fd, SWD_STAGE_USER_MOUNT);
            swd_fd_path(path, target);
            unsigned long flags = (unsigned long)entry->flags & ~(unsigned long)MS_BIND;
            if (flags != 0 &&
                mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags, NULL) != 0)
                swd_fail(fd, SWD_STAGE_USER_MOUNT);
        } else if (mount(entry->source, path, entry->fstype, (unsigned long)entry->flags,
                         entry->data) != 0) {
            swd_fail(fd, SWD_STAGE_USER_MOUNT);
        }
        close(target);
    }
    close(root);
}

/* Makes the spec's device nodes (--device) below the rootfs, the current directory. */
static void swd_create_user_devices(int fd, const struct swd_container_config *config) {
    if (config->device_count == 0) return;
    int root = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root < 0) swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
    for (uint32_t i = 0; i < config->device_count; i++) {
        const struct swd_device_node *device = &config->devices[i];
        /* *at calls take the O_PATH descriptor of the resolved directory. */
        int parent = swd_resolve_mount_point(fd, root, device->parent, 0);
        if (unlinkat(parent, device->name, 0) != 0 && errno != ENOENT)
            swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
        if (mknodat(parent, device->name, device->mode, makedev(device->major, device->minor)) != 0)
            swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
        if (fchownat(parent, device->name, device->uid, device->gid, AT_SYMLINK_NOFOLLOW) != 0)
            swd_fail(fd, SWD_STAGE_CREATE_DEVICE);
        close(parent);
    }
    close(root);
}

/* Mounts /proc, /dev and /sys below the rootfs, which is the current directory. */
static void swd_mount_filesystems(int fd, const struct swd_container_config *config) {
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
    if (config->shm_size > 0) {
        swd_mount_point(fd, "dev/shm");
        char shm_options[64] = "mode=1777,size=";
        char size[24];
        swd_format_decimal(size, config->shm_size);
        swd_append(fd, SWD_STAGE_MOUNT_SHM, shm_options, sizeof shm_options, size);
        if (mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, shm_options) != 0)
            swd_fail(fd, SWD_STAGE_MOUNT_SHM);
    }
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
        unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC;
        if (!config->privileged) flags |= MS_RDONLY;
        if (mount("sysfs", "sys", "sysfs", flags, NULL) != 0) swd_fail(fd, SWD_STAGE_MOUNT_SYS);
    }
    // TODO: the cgroup mount at /sys/fs/cgroup is not set up yet.
}

/* Drops the bounding set to the mask, switches to uid/gid, and sets the remaining sets. */
/* Who the process runs as; shared by the container init and exec. */
struct swd_identity {
    uint32_t uid;
    uint32_t gid;
    const uint32_t *groups;
    uint32_t group_count;
    uint64_t capabilities;
    int32_t last_capability;
};

static void swd_set_identity(int fd, const struct swd_identity *config) {
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
static void swd_connect_stdio(int fd, int in, int out, int err, int terminal) {
    int sources[3] = {in, out, err};
    if (terminal >= 0) sources[0] = sources[1] = sources[2] = terminal;
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
static __attribute__((noreturn)) void swd_exec(int fd, char *const *argv, char *const *envp,
                                               const char *path) {
    const char *name = argv[0];
    if (strchr(name, '/') != NULL) {
        execve(name, argv, envp);
        swd_fail(fd, SWD_STAGE_EXEC);
    }
    size_t name_length = strlen(name);
    int denied = 0;
    const char *segment = path;
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
            execve(candidate, argv, envp);
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

/* Installs the BPF filter, if any. Without no_new_privs this needs CAP_SYS_ADMIN. */
static void swd_install_seccomp(int fd, const void *filter, uint32_t length) {
    if (filter == NULL) return;
    struct sock_fprog program = {(unsigned short)length, (struct sock_filter *)filter};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program, 0, 0) != 0)
        swd_fail(fd, SWD_STAGE_SECCOMP);
}

/* Sets the spec's resource limits (the daemon checked them against its hard limits). */
static void swd_set_rlimits(int fd, const struct swd_container_config *config) {
    for (uint32_t i = 0; i < config->rlimit_count; i++) {
        struct rlimit limit = {config->rlimits[i].soft, config->rlimits[i].hard};
        if (syscall(SYS_prlimit64, 0, config->rlimits[i].resource, &limit, NULL) != 0)
            swd_fail(fd, SWD_STAGE_RLIMIT);
    }
}

/* Opens a pty pair in the container's own devpts (so that the slave is /dev/pts/N inside),
 * gives it its first window size before the command can read it, sends the master to the
 * daemon over the sync socket, and returns the slave. */
static int swd_open_terminal(int fd, int sync, uint32_t uid, uint16_t rows, uint16_t columns) {
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) swd_fail(fd, SWD_STAGE_TERMINAL);
    int unlock = 0;
    unsigned int number = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) != 0 || ioctl(master, TIOCGPTN, &number) != 0)
        swd_fail(fd, SWD_STAGE_TERMINAL);
    char path[48] = "/dev/pts/";
    swd_format_decimal(path + 9, number);
    int slave = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) swd_fail(fd, SWD_STAGE_TERMINAL);
    if (fchown(slave, uid, (gid_t)-1) != 0) swd_fail(fd, SWD_STAGE_TERMINAL);
    if (rows != 0 && columns != 0) {
        struct winsize size = {rows, columns, 0, 0};
        if (ioctl(master, TIOCSWINSZ, &size) != 0) swd_fail(fd, SWD_STAGE_TERMINAL);
    }

    char byte = 't';
    struct iovec data = {&byte, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &master, sizeof(int));
    ssize_t sent;
    do sent = sendmsg(sync, &message, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent != 1) swd_fail(fd, SWD_STAGE_TERMINAL);
    close(master);
    close(sync);
    return slave;
}

/* Makes the terminal the controlling terminal of a new session. */
static void swd_take_terminal(int fd, int terminal) {
    if (setsid() < 0) swd_fail(fd, SWD_STAGE_TERMINAL);
    if (ioctl(terminal, TIOCSCTTY, 0) != 0) swd_fail(fd, SWD_STAGE_TERMINAL);
}

/* The last steps before execve: signals, umask, and (with no_new_privs) the seccomp filter,
 * which then applies to nothing but execve and the PATH search. */
static void swd_finish(int fd, int no_new_privileges, const void *filter, uint32_t length) {
    swd_reset_signals();
    umask(022);
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) swd_fail(fd, SWD_STAGE_SIGNALS);
    if (no_new_privileges) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) swd_fail(fd, SWD_STAGE_NO_NEW_PRIVS);
        swd_install_seccomp(fd, filter, length);
    }
}

/* --init: forks the command and stays as PID 1 until it exits. The reaper forwards every
 * signal it receives to the command, reaps every process that is reparented to it, and exits
 * with the command's exit code (128 + the signal number if a signal killed it), as tini does.
 * In the command's child process it returns, so that the caller execs the command.
 * NOTE: with a tty, a signal from the terminal (Ctrl-C) reaches the command twice: directly,
 * because it shares the reaper's foreground process group, and forwarded. */
static void swd_run_reaper(int fd) {
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    /* Blocked before the fork, so that no signal meant for the command is lost. */
    if (sigprocmask(SIG_SETMASK, &all, NULL) != 0) swd_fail(fd, SWD_STAGE_SIGNALS);
    /* A raw clone, because glibc's fork takes locks that a thread of the daemon may hold. */
    pid_t command = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
    if (command < 0) swd_fail(fd, SWD_STAGE_FORK);
    if (command == 0) {
        if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) swd_fail(fd, SWD_STAGE_SIGNALS);
        return;
    }
    /* The command reports its own failure; the daemon reads EOF once it has exec'd. */
    close(fd);
    prctl(PR_SET_NAME, "init", 0, 0, 0);

    while (1) {
        siginfo_t info;
        int signal = sigwaitinfo(&all, &info);
        if (signal < 0) continue;
        if (signal != SIGCHLD) {
            kill(command, signal);
            continue;
        }
        int status;
        pid_t reaped;
        while ((reaped = waitpid(-1, &status, WNOHANG)) > 0) {
            if (reaped != command) continue;
            _exit(WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
        }
    }
}

/* Moves the calling thread (the only one) into the cgroup of each `tasks` file in `fds`, and
 * closes them; see swd_container_config.cgroup_fds. */
static void swd_join_cgroups(int fd, const int32_t *fds, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        ssize_t written;
        do written = write(fds[i], "0", 1);
        while (written < 0 && errno == EINTR);
        if (written != 1) swd_fail(fd, SWD_STAGE_CGROUP);
        close(fds[i]);
    }
}

/* Waits for the parent's go-ahead byte on `sync`; EOF means the parent gave up. */
static void swd_wait_for_parent(int fd, int sync) {
    char byte;
    ssize_t count;
    do count = read(sync, &byte, 1);
    while (count < 0 && errno == EINTR);
    if (count != 1) {
        if (count == 0) errno = EPIPE;
        swd_fail(fd, SWD_STAGE_SYNC);
    }
}

/* Joins the namespace at path (of type nstype), if path is not NULL. */
static void swd_join_namespace(int fd, const char *path, int nstype) {
    if (path == NULL) return;
    int namespace = open(path, O_RDONLY | O_CLOEXEC);
    if (namespace < 0 || setns(namespace, nstype) != 0) swd_fail(fd, SWD_STAGE_SETNS);
    close(namespace);
}

static int swd_child(void *raw) {
    const struct swd_child_args *args = raw;
    const struct swd_container_config *config = args->config;
    int fd = args->error_write;
    close(args->sync_write);
    close(args->error_read);
    swd_join_cgroups(fd, config->cgroup_fds, config->cgroup_fd_count);
    umask(0);
    /* The child has one thread, so setns into a network namespace works here. */
    swd_join_namespace(fd, config->join_network, CLONE_NEWNET);
    swd_join_namespace(fd, config->join_ipc, CLONE_NEWIPC);
    swd_join_namespace(fd, config->join_uts, CLONE_NEWUTS);

    /* Private first: otherwise the detach of the old root propagates into host mounts. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        swd_fail(fd, SWD_STAGE_MAKE_PRIVATE);
    if (mount(config->rootfs, config->rootfs, NULL, MS_BIND | MS_REC, NULL) != 0)
        swd_fail(fd, SWD_STAGE_BIND_ROOTFS);
    if (chdir(config->rootfs) != 0) swd_fail(fd, SWD_STAGE_CHDIR_ROOTFS);
    swd_mount_filesystems(fd, config);
    swd_create_user_devices(fd, config);
    swd_user_mounts(fd, config);
    if (!config->privileged) swd_mask_paths(fd);

    /* pivot_root(".", ".") stacks the old root on the new one; detaching "." removes it. */
    if (syscall(SYS_pivot_root, ".", ".") != 0) swd_fail(fd, SWD_STAGE_PIVOT_ROOT);
    if (umount2(".", MNT_DETACH) != 0) swd_fail(fd, SWD_STAGE_DETACH_OLD_ROOT);
    if (chdir("/") != 0) swd_fail(fd, SWD_STAGE_DETACH_OLD_ROOT);
    if (config->readonly_rootfs &&
        mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0)
        swd_fail(fd, SWD_STAGE_READONLY_ROOTFS);

    /* Never in a kept UTS namespace: that would rename the host or the other container. */
    if (!config->keep_uts && config->hostname[0] != '\0' &&
        sethostname(config->hostname, strlen(config->hostname)) != 0)
        swd_fail(fd, SWD_STAGE_HOSTNAME);

    /* The file systems above need nothing from the parent, so they are set up while it
     * wires the network (and on cgroup v2 the cgroups). Nothing of the command runs before
     * the parent is done. sysfs shows network devices that arrive after its mount. */
    swd_wait_for_parent(fd, args->sync_read);
    /* With a tty the socket carries the pty master back later. */
    if (!config->tty) close(args->sync_read);
    int terminal = -1;
    if (config->tty) {
        terminal = swd_open_terminal(fd, args->sync_read, config->uid, config->tty_rows,
                                     config->tty_columns);
        swd_take_terminal(fd, terminal);
    }
    if (chdir(config->workdir) != 0) swd_fail(fd, SWD_STAGE_CHDIR_WORKDIR);
    swd_set_rlimits(fd, config);
    /* Without no_new_privs the filter needs CAP_SYS_ADMIN, so it goes in before the
     * capabilities are dropped (as runc does); Docker's profile allows what follows. */
    if (!config->no_new_privileges)
        swd_install_seccomp(fd, config->seccomp_filter, config->seccomp_length);
    struct swd_identity identity = {config->uid, config->gid, config->groups,
                                    config->group_count, config->capabilities,
                                    config->last_capability};
    swd_set_identity(fd, &identity);
    swd_connect_stdio(fd, config->stdin_fd, config->stdout_fd, config->stderr_fd, terminal);
    swd_finish(fd, config->no_new_privileges, config->seccomp_filter, config->seccomp_length);
    if (config->init) swd_run_reaper(fd);
    swd_exec(fd, config->argv, config->envp, config->path);
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

/* Points the calling thread's pid_for_children at the PID namespace at path, so that its
 * next clone starts there (setns cannot move a process itself into a PID namespace). Returns a
 * descriptor of the previous namespace for swd_leave_pid_namespace, or -1 with errno. */
static int swd_enter_pid_namespace(const char *path) {
    int own = open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
    if (own < 0) return -1;
    int target = open(path, O_RDONLY | O_CLOEXEC);
    if (target < 0 || setns(target, CLONE_NEWPID) != 0) {
        int saved = errno;
        if (target >= 0) close(target);
        close(own);
        errno = saved;
        return -1;
    }
    close(target);
    return own;
}

/* Points pid_for_children back at the namespace that swd_enter_pid_namespace returned. */
static void swd_leave_pid_namespace(int own) {
    /* A thread left in another container's PID namespace would start every later child of
     * the daemon there, so failing to go back is fatal. */
    if (setns(own, CLONE_NEWPID) != 0) abort();
    close(own);
}

struct swd_monitor_args {
    struct swd_child_args child; /* for the container child, which the monitor clones */
    int flags;                   /* the container child's clone flags */
    int socket;                  /* the monitor's end of its socket pair with the caller */
    int caller_socket;           /* the caller's end (closed in the monitor) */
};

/* The monitor before its execve: it clones the container child, so that it is the child's
 * parent and can wait for it, sends the child's pid to the caller, and runs the monitor
 * program with the socket as descriptor 3. Runs on a copy of the daemon's memory, so it
 * makes only raw system calls, as swd_child does. */
static int swd_monitor_child(void *raw) {
    struct swd_monitor_args *args = raw;
    const struct swd_container_config *config = args->child.config;
    int socket = args->socket;
    pid_t pid = -1;
    close(args->caller_socket);
    close(args->child.sync_write);
    close(args->child.error_read);
    /* Out of the daemon's session, so that a terminal's signals to it do not reach here. */
    setsid();
    if (chdir(config->monitor_directory) != 0) goto fail;
    if (config->keep_pid && config->join_pid != NULL &&
        swd_enter_pid_namespace(config->join_pid) < 0)
        goto fail;
    void *stack = mmap(NULL, SWD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) goto fail;
    pid = clone(swd_child, (char *)stack + SWD_STACK_SIZE, args->flags, &args->child);
    if (pid < 0) goto fail;
    close(args->child.sync_read);
    close(args->child.error_write);
    if (swd_monitor_send(socket, SWD_MONITOR_CHILD, pid, 0, NULL) != 0) goto fail;

    int null = open("/dev/null", O_RDWR);
    if (null < 0) goto fail;
    for (int fd = 0; fd < 3; fd++)
        if (dup2(null, fd) < 0) goto fail;
    if (socket == 3) {
        if (fcntl(3, F_SETFD, 0) != 0) goto fail;
    } else if (dup2(socket, 3) < 0) {
        goto fail;
    }
    /* Nothing else of the daemon's may outlive it in the monitor, close-on-exec or not. */
    if (syscall(SYS_close_range, 4, ~0U, 0) != 0) goto fail;
    char pid_text[24];
    swd_format_decimal(pid_text, (uint64_t)pid);
    char *const argv[] = {(char *)config->monitor_path, pid_text, NULL};
    char *const envp[] = {NULL};
    execve(config->monitor_path, argv, envp);
fail:;
    int saved = errno;
    if (pid > 0) kill(pid, SIGKILL);
    /* Descriptor 3 is the socket once the dup2 above ran; before it, socket still is. */
    if (swd_monitor_send(socket, SWD_MONITOR_FAILED, saved, 0, NULL) != 0)
        swd_monitor_send(3, SWD_MONITOR_FAILED, saved, 0, NULL);
    _exit(127);
}

/* Starts the monitor, which clones the container child (see swd_monitor_child), and reads
 * the child's pid. Called with the clone lock held and every signal blocked. Returns 0, or -1
 * with errno; child->monitor_pid is set whenever a monitor was started, for the caller to
 * reap. */
static int swd_start_monitor(const struct swd_container_config *config,
                             struct swd_child_args *child_args, int flags, void *stack,
                             struct swd_container_child *child) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0 || swd_raise_fds(pair) != 0)
        return -1;
    struct swd_monitor_args args = {*child_args, flags, pair[1], pair[0]};
    pid_t monitor = clone(swd_monitor_child, (char *)stack + SWD_STACK_SIZE, SIGCHLD, &args);
    int saved = errno;
    close(pair[1]);
    if (monitor < 0) {
        close(pair[0]);
        errno = saved;
        return -1;
    }
    child->monitor_pid = monitor;
    struct swd_monitor_message message;
    int32_t fds[3];
    int received = swd_monitor_receive(pair[0], &message, fds);
    if (received == 1 && message.type == SWD_MONITOR_CHILD && message.value > 0) {
        child->pid = message.value;
        child->monitor_fd = pair[0];
        return 0;
    }
    saved = received == 1 && message.type == SWD_MONITOR_FAILED ? message.value
            : received == 0                                      ? EPIPE
                                                                 : errno;
    close(pair[0]);
    errno = saved;
    return -1;
}

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

    int own_pid_namespace = -1;
    child->monitor_pid = 0;
    child->monitor_fd = -1;
    /* A monitor enters the PID namespace itself: the daemon's clone of it must not. */
    if (config->keep_pid && config->join_pid != NULL && config->monitor_path == NULL) {
        own_pid_namespace = swd_enter_pid_namespace(config->join_pid);
        if (own_pid_namespace < 0) {
            saved = errno;
            munmap(stack, SWD_STACK_SIZE);
            close(sync[0]);
            close(sync[1]);
            close(error[0]);
            close(error[1]);
            errno = saved;
            goto unlock;
        }
    }

    struct swd_child_args args = {config, sync[0], sync[1], error[0], error[1]};
    int flags = CLONE_NEWNS | SIGCHLD;
    if (!config->keep_uts) flags |= CLONE_NEWUTS;
    if (!config->keep_ipc) flags |= CLONE_NEWIPC;
    if (!config->keep_pid) flags |= CLONE_NEWPID;
    if (config->new_network) flags |= CLONE_NEWNET;

    /* Block every signal so that no handler of the parent runs in the child's copy; the
     * child resets the handlers and unblocks just before execve. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid;
    if (config->monitor_path != NULL) {
        pid = swd_start_monitor(config, &args, flags, stack, child) == 0 ? child->pid : -1;
    } else {
        pid = clone(swd_child, (char *)stack + SWD_STACK_SIZE, flags, &args);
    }
    saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (own_pid_namespace >= 0) swd_leave_pid_namespace(own_pid_namespace);

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
    child->tty = config->tty;
    child->master_fd = -1;
    pthread_mutex_unlock(&swd_clone_lock);
    return 0;

unlock:
    saved = errno;
    pthread_mutex_unlock(&swd_clone_lock);
    errno = saved;
    return -1;
}

/* Receives one descriptor sent with SCM_RIGHTS; -1 on EOF or error. */
static int swd_receive_fd(int socket) {
    char byte;
    struct iovec data = {&byte, 1};
    union {
        char buffer[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } control;
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = &data;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    ssize_t count;
    do count = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
    while (count < 0 && errno == EINTR);
    if (count != 1) return -1;
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    if (header == NULL || header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS ||
        header->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int received;
    memcpy(&received, CMSG_DATA(header), sizeof(int));
    return received;
}

int swd_init_set_window_size(int32_t fd, uint16_t rows, uint16_t columns) {
    struct winsize size = {rows, columns, 0, 0};
    return ioctl(fd, TIOCSWINSZ, &size);
}

int swd_init_get_window_size(int32_t fd, uint16_t *rows, uint16_t *columns) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *rows = size.ws_row;
    *columns = size.ws_col;
    return 0;
}

int swd_container_release(struct swd_container_child *child, struct swd_child_error *error) {
    char byte = 1;
    ssize_t count;
    do count = send(child->sync_fd, &byte, 1, MSG_NOSIGNAL);
    while (count < 0 && errno == EINTR);
    int sent = count == 1;
    int send_errno = errno;
    child->master_fd = -1;
    if (sent && child->tty) child->master_fd = swd_receive_fd(child->sync_fd);
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
    if (have == sizeof report || (sent && child->tty && child->master_fd < 0)) {
        if (child->master_fd >= 0) close(child->master_fd);
        child->master_fd = -1;
        if (have != sizeof report) {
            report.stage = SWD_STAGE_TERMINAL;
            report.error = EPROTO;
        }
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

struct swd_exec_args {
    const struct swd_exec_config *config;
    int sync_read, sync_write;
    int error_read, error_write;
    int pid_read, pid_write;
};

/* The command's side of exec: already in the container's namespaces. With a tty, sync is the
 * socket that carries the pty master to the daemon. */
static __attribute__((noreturn)) void swd_exec_command(int fd, int sync,
                                                       const struct swd_exec_config *config) {
    int terminal = -1;
    if (config->tty) {
        terminal = swd_open_terminal(fd, sync, config->uid, config->tty_rows, config->tty_columns);
        swd_take_terminal(fd, terminal);
    }
    if (chdir(config->workdir) != 0) swd_fail(fd, SWD_STAGE_CHDIR_WORKDIR);
    if (!config->no_new_privileges)
        swd_install_seccomp(fd, config->seccomp_filter, config->seccomp_length);
    struct swd_identity identity = {config->uid, config->gid, config->groups,
                                    config->group_count, config->capabilities,
                                    config->last_capability};
    swd_set_identity(fd, &identity);
    swd_connect_stdio(fd, config->stdin_fd, config->stdout_fd, config->stderr_fd, terminal);
    swd_finish(fd, config->no_new_privileges, config->seccomp_filter, config->seccomp_length);
    swd_exec(fd, config->argv, config->envp, config->path);
}

/* The helper: single-threaded, so setns into a mount namespace works here. */
static int swd_exec_helper(void *raw) {
    const struct swd_exec_args *args = raw;
    const struct swd_exec_config *config = args->config;
    int fd = args->error_write;
    close(args->sync_write);
    close(args->error_read);
    close(args->pid_read);
    swd_join_cgroups(fd, config->cgroup_fds, config->cgroup_fd_count);

    swd_wait_for_parent(fd, args->sync_read);
    /* With a tty the command sends the pty master over the socket. */
    if (!config->tty) close(args->sync_read);
    for (int i = 0; i < 5; i++)
        if (setns(config->namespace_fds[i], 0) != 0) swd_fail(fd, SWD_STAGE_SETNS);

    /* A new process enters the pid namespace; CLONE_PARENT makes it the daemon's child. */
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (pid < 0) swd_fail(fd, SWD_STAGE_FORK);
    if (pid == 0) {
        close(args->pid_write);
        swd_exec_command(fd, args->sync_read, config);
    }
    if (config->tty) close(args->sync_read);
    ssize_t ignored = write(args->pid_write, &pid, sizeof pid);
    (void)ignored;
    _exit(0);
}

int swd_exec_clone(const struct swd_exec_config *config, struct swd_exec_child *child) {
    int sync[2], error[2], pids[2];
    int saved;
    pthread_mutex_lock(&swd_clone_lock);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) != 0 ||
        swd_raise_fds(sync) != 0)
        goto unlock;
    if (pipe2(error, O_CLOEXEC) != 0 || swd_raise_fds(error) != 0) goto close_sync;
    if (pipe2(pids, O_CLOEXEC) != 0 || swd_raise_fds(pids) != 0) goto close_error;
    void *stack = mmap(NULL, SWD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) goto close_pids;

    struct swd_exec_args args = {config, sync[0], sync[1], error[0], error[1], pids[0], pids[1]};
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = clone(swd_exec_helper, (char *)stack + SWD_STACK_SIZE, SIGCHLD, &args);
    saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, SWD_STACK_SIZE);
    close(sync[0]);
    close(error[1]);
    close(pids[1]);
    if (pid < 0) {
        close(sync[1]);
        close(error[0]);
        close(pids[0]);
        errno = saved;
        goto unlock;
    }
    child->helper = pid;
    child->sync_fd = sync[1];
    child->error_fd = error[0];
    child->pid_fd = pids[0];
    child->tty = config->tty;
    child->master_fd = -1;
    pthread_mutex_unlock(&swd_clone_lock);
    return 0;

close_pids:
    saved = errno;
    close(pids[0]);
    close(pids[1]);
    errno = saved;
close_error:
    saved = errno;
    close(error[0]);
    close(error[1]);
    errno = saved;
close_sync:
    saved = errno;
    close(sync[0]);
    close(sync[1]);
    errno = saved;
unlock:
    saved = errno;
    pthread_mutex_unlock(&swd_clone_lock);
    errno = saved;
    return -1;
}

/* Reads exactly size bytes; returns the count read before EOF, or -1 with errno. */
static ssize_t swd_read_full(int fd, void *buffer, size_t size) {
    size_t have = 0;
    while (have < size) {
        ssize_t count = read(fd, (char *)buffer + have, size - have);
        if (count < 0 && errno == EINTR) continue;
        if (count < 0) return -1;
        if (count == 0) break;
        have += (size_t)count;
    }
    return (ssize_t)have;
}

int swd_exec_release(struct swd_exec_child *child, pid_t *pid, struct swd_child_error *error) {
    char byte = 1;
    ssize_t count;
    do count = send(child->sync_fd, &byte, 1, MSG_NOSIGNAL);
    while (count < 0 && errno == EINTR);
    int sent = count == 1;
    int send_errno = errno;
    if (sent && child->tty) child->master_fd = swd_receive_fd(child->sync_fd);
    close(child->sync_fd);
    child->sync_fd = -1;

    pid_t command = -1;
    ssize_t got = swd_read_full(child->pid_fd, &command, sizeof command);
    int pid_errno = errno;
    close(child->pid_fd);
    child->pid_fd = -1;
    struct swd_child_error report = {0, 0};
    ssize_t have = swd_read_full(child->error_fd, &report, sizeof report);
    int error_errno = errno;
    close(child->error_fd);
    child->error_fd = -1;
    *pid = got == (ssize_t)sizeof command ? command : -1;
    if (have == (ssize_t)sizeof report) {
        *error = report;
        return 1;
    }
    if (got < 0 || have < 0) {
        errno = got < 0 ? pid_errno : error_errno;
        return -1;
    }
    if (!sent || got != (ssize_t)sizeof command) {
        error->stage = SWD_STAGE_SYNC;
        error->error = sent ? EPIPE : send_errno;
        return 1;
    }
    return 0;
}

void swd_exec_abort(struct swd_exec_child *child) {
    if (child->sync_fd >= 0) close(child->sync_fd);
    if (child->error_fd >= 0) close(child->error_fd);
    if (child->pid_fd >= 0) close(child->pid_fd);
    child->sync_fd = child->error_fd = child->pid_fd = -1;
}
