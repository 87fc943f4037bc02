#if canImport(Glibc)
    import Glibc
#endif

extension SeccompProfile {
    /// Docker's default profile: every syscall fails with EPERM except the allow list, and
    /// the syscalls that belong to a capability are allowed when the container has it.
    ///
    /// Written from Docker's `profiles/seccomp/default.json` (Docker 24/25): io_uring is not
    /// allowed; `clone` without CAP_SYS_ADMIN may not create namespaces; `clone3` fails with
    /// ENOSYS then, so that libc falls back to `clone`; `socket` may not open AF_VSOCK.
    public static let dockerDefault = SeccompProfile(
        defaultAction: .errno(EPERM), rules: dockerDefaultRules)

    private static let cloneNamespaceFlags: UInt64 = 0x7E02_0000  // CLONE_NEW* | CLONE_NEWCGROUP

    private static let dockerDefaultRules: [Rule] = [
        Rule(names: allowed, action: .allow),
        Rule(
            names: ["personality"], action: .allow,
            arguments: [Argument(index: 0, value: 0x0, op: "SCMP_CMP_EQ")]),
        Rule(
            names: ["personality"], action: .allow,
            arguments: [Argument(index: 0, value: 0x8, op: "SCMP_CMP_EQ")]),
        Rule(
            names: ["personality"], action: .allow,
            arguments: [Argument(index: 0, value: 0x20000, op: "SCMP_CMP_EQ")]),
        Rule(
            names: ["personality"], action: .allow,
            arguments: [Argument(index: 0, value: 0x20008, op: "SCMP_CMP_EQ")]),
        Rule(
            names: ["personality"], action: .allow,
            arguments: [Argument(index: 0, value: 0xffff_ffff, op: "SCMP_CMP_EQ")]),
        Rule(
            names: ["socket"], action: .allow,
            arguments: [Argument(index: 0, value: 40, op: "SCMP_CMP_NE")]),  // AF_VSOCK
        Rule(names: ["arch_prctl", "modify_ldt"], action: .allow),
        Rule(
            names: [
                "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
                "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
                "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
                "sethostname", "setns", "syslog", "umount", "umount2", "unshare",
            ],
            action: .allow, requiredCapabilities: ["CAP_SYS_ADMIN"]),
        Rule(
            names: ["clone"], action: .allow,
            arguments: [
                Argument(
                    index: 0, value: cloneNamespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")
            ],
            excludedCapabilities: ["CAP_SYS_ADMIN"]),
        Rule(names: ["clone3"], action: .errno(ENOSYS), excludedCapabilities: ["CAP_SYS_ADMIN"]),
        Rule(names: ["reboot"], action: .allow, requiredCapabilities: ["CAP_SYS_BOOT"]),
        Rule(names: ["chroot"], action: .allow, requiredCapabilities: ["CAP_SYS_CHROOT"]),
        Rule(
            names: ["delete_module", "init_module", "finit_module"], action: .allow,
            requiredCapabilities: ["CAP_SYS_MODULE"]),
        Rule(names: ["acct"], action: .allow, requiredCapabilities: ["CAP_SYS_PACCT"]),
        Rule(
            names: ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
                    "process_vm_writev", "ptrace"],
            action: .allow, requiredCapabilities: ["CAP_SYS_PTRACE"]),
        Rule(names: ["iopl", "ioperm"], action: .allow, requiredCapabilities: ["CAP_SYS_RAWIO"]),
        Rule(
            names: ["settimeofday", "stime", "clock_settime", "clock_settime64"],
            action: .allow, requiredCapabilities: ["CAP_SYS_TIME"]),
        Rule(names: ["vhangup"], action: .allow, requiredCapabilities: ["CAP_SYS_TTY_CONFIG"]),
        Rule(
            names: ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"],
            action: .allow, requiredCapabilities: ["CAP_SYS_NICE"]),
        Rule(names: ["syslog"], action: .allow, requiredCapabilities: ["CAP_SYSLOG"]),
        Rule(names: ["bpf"], action: .allow, requiredCapabilities: ["CAP_BPF"]),
        Rule(names: ["perf_event_open"], action: .allow, requiredCapabilities: ["CAP_PERFMON"]),
    ]

    /// The unconditional allow list; names a kernel or libseccomp lacks are skipped.
    private static let allowed = [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat",
        "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
        "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
        "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
        "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2",
        "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
        "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
        "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32",
        "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork",
        "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64",
        "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue", "futex_time64",
        "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents",
        "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32",
        "getgroups", "getgroups32", "getitimer", "getpeername", "getpgid", "getpgrp", "getpid",
        "getppid", "getpriority", "getrandom", "getresgid", "getresgid32", "getresuid",
        "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32",
        "getxattr", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
        "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents",
        "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc",
        "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self",
        "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr",
        "llistxattr", "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64",
        "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
        "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
        "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
        "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
        "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat",
        "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc",
        "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64",
        "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pselect6_time64",
        "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
        "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
        "remap_file_pages", "removexattr", "rename", "renameat", "renameat2", "restart_syscall",
        "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
        "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp",
        "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
        "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32",
        "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32",
        "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid",
        "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
        "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address",
        "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown",
        "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall",
        "socketpair", "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink",
        "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
        "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create",
        "timerfd_gettime", "timerfd_gettime64", "timerfd_settime", "timerfd_settime64",
        "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink",
        "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice",
        "wait4", "waitid", "waitpid", "write", "writev",
    ]
}
