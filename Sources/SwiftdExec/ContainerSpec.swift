import SwiftdCapabilities
import SwiftdSeccomp

/// A container as the exec driver runs it: the process, its root and its limits.
public struct ContainerSpec: Sendable {
    /// The container ID; names its cgroups.
    public var id: String
    /// An absolute host path to the prepared root directory (an overlay mount, say).
    public var rootfs: String
    /// The argv; `arguments[0]` is resolved through the container's PATH inside the rootfs.
    public var arguments: [String]
    /// `K=V` strings; Docker's default PATH is added when none is given.
    public var environment: [String]
    /// An absolute path inside the container; it must exist.
    public var workingDirectory: String
    /// The UTS host name; empty keeps the daemon's.
    public var hostname: String
    /// The user, group and supplementary groups the process runs as.
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGroups: [UInt32]
    /// The capability mask (bounding, effective, permitted and inheritable sets).
    public var capabilities: UInt64
    /// The memory limit in bytes (`-m`); nil means none.
    public var memoryLimit: Int64?
    /// Whether the container gets its own network namespace (false: the host's network).
    public var newNetworkNamespace: Bool
    /// A network namespace to join, such as `/proc/PID/ns/net` (`--network container:NAME`);
    /// used only when `newNetworkNamespace` is false.
    public var networkNamespacePath: String?
    /// `--privileged`: no masked or read-only paths and /sys read-write. The capability mask
    /// is not changed by this flag: set `capabilities` to `CapabilitySet.all.mask` as well.
    public var privileged: Bool
    /// `--read-only`: the root filesystem is mounted read-only.
    public var readonlyRootfs: Bool
    /// `--security-opt no-new-privileges`: setuid binaries and file capabilities grant nothing.
    public var noNewPrivileges: Bool
    /// The size of the `/dev/shm` tmpfs in bytes (`--shm-size`, default 64 MiB).
    public var shmSize: Int64
    /// Whether `/dev/shm` is mounted; false for `--ipc none`.
    public var mountsShm: Bool
    /// Bind and tmpfs mounts, made in this order below the rootfs before `pivot_root`.
    public var mounts: [Mount]
    /// The seccomp filter (`--security-opt seccomp=…`).
    public var seccomp: SeccompMode
    /// CPU, cpuset, pids and further memory settings of the container's cgroups.
    public var resources: ContainerResources
    /// `-t`: the process gets a pty from the container's devpts as its controlling terminal
    /// and stdio. Start such a container with `ExecDriver.startWithTerminal`.
    public var tty: Bool
    /// The terminal's first window size (`ConsoleSize`), set before the process starts.
    public var terminalSize: TerminalSize?
    /// `--ulimit`: resource limits set in the container; none may exceed the daemon's hard
    /// limit, because raising a hard limit takes CAP_SYS_RESOURCE.
    public var ulimits: [Ulimit]
    /// `--init`: a reaper stays as PID 1, runs the command as its child, forwards signals to
    /// it, reaps orphaned processes, and exits with the command's status (128 + the signal
    /// number when a signal killed it).
    public var runsInit: Bool
    /// `--device`: nodes made in the container and allowed by its devices cgroup (v1) or device
    /// program (v2).
    public var devices: [Device]
    /// `--ipc`, `--uts` and `--pid`: a new namespace (the default), the host's, or another's.
    public var ipcNamespace: NamespaceMode
    public var utsNamespace: NamespaceMode
    public var pidNamespace: NamespaceMode
    /// A monitor process to be the container's parent (`ExecDriver.startMonitored`), so that
    /// the container outlives the daemon; nil makes the daemon itself the parent.
    public var monitor: MonitorSetup?

    public init(
        id: String, rootfs: String, arguments: [String], environment: [String] = [],
        hostname: String = ""
    ) {
        self.id = id
        self.rootfs = rootfs
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = "/"
        self.hostname = hostname
        self.uid = 0
        self.gid = 0
        self.additionalGroups = []
        self.capabilities = CapabilitySet.dockerDefault.mask
        self.memoryLimit = nil
        self.newNetworkNamespace = true
        self.networkNamespacePath = nil
        self.privileged = false
        self.readonlyRootfs = false
        self.noNewPrivileges = false
        self.shmSize = 64 * 1024 * 1024
        self.mountsShm = true
        self.mounts = []
        self.seccomp = .dockerDefault
        self.resources = ContainerResources()
        self.tty = false
        self.ulimits = []
        self.runsInit = false
        self.devices = []
        self.ipcNamespace = .new
        self.utsNamespace = .new
        self.pidNamespace = .new
        self.monitor = nil
    }

    /// Docker's PATH for containers whose image sets none.
    public static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// The environment with `PATH` added if missing.
    var effectiveEnvironment: [String] {
        environment.contains { $0.hasPrefix("PATH=") }
            ? environment : environment + ["PATH=\(Self.defaultPath)"]
    }

    /// The PATH the container's argv[0] is looked up in (the last `PATH=` wins, as in getenv
    /// of an environment built by appending).
    var searchPath: String {
        let entry = effectiveEnvironment.last { $0.hasPrefix("PATH=") } ?? ""
        return String(entry.dropFirst("PATH=".count))
    }
}

/// Where a container's IPC, UTS or PID namespace comes from.
public enum NamespaceMode: Sendable, Equatable {
    /// A namespace of its own.
    case new
    /// The daemon's, which is the host's.
    case host
    /// The namespace at a path such as `/proc/PID/ns/ipc` (`container:NAME`). The host name
    /// is not set in a joined or host UTS namespace.
    case join(String)
}

/// A bind or tmpfs mount inside a container.
public struct Mount: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `source` is a host path (file or directory), bound recursively.
        case bind
        /// `source` is ignored; a new tmpfs (noexec, nosuid, nodev unless the options say
        /// `exec`, `suid` or `dev`).
        case tmpfs
    }

    public var source: String
    /// An absolute path inside the container. Symlinks in the image resolve inside the
    /// rootfs; missing directories (or the file, for a file bind) are created.
    public var destination: String
    public var kind: Kind
    /// `ro`/`rw`, `nosuid`/`suid`, `nodev`/`dev`, `noexec`/`exec`, `sync`, `noatime`,
    /// `relatime`, `strictatime`; for tmpfs also `size=…`, `mode=…`, `nr_inodes=…`;
    /// `bind`/`rbind` and propagation modes are accepted and ignored.
    public var options: [String]

    public init(source: String, destination: String, kind: Kind, options: [String] = []) {
        self.source = source
        self.destination = destination
        self.kind = kind
        self.options = options
    }
}

/// Which seccomp filter a container gets.
public enum SeccompMode: Sendable, Equatable {
    /// Docker's default profile, with the rules for the container's capabilities.
    case dockerDefault
    /// `seccomp=unconfined`: no filter.
    case unconfined
    /// A profile such as one parsed from a JSON file in Docker's format.
    case profile(SeccompProfile)
}

/// Cgroup settings besides the memory limit; nil leaves the kernel's default.
public struct ContainerResources: Sendable, Equatable {
    /// `--cpu-shares`: relative CPU weight (v2: converted to `cpu.weight`).
    public var cpuShares: Int64?
    /// `--cpu-quota` in microseconds per `cpuPeriod`; -1 or 0 is unlimited.
    public var cpuQuota: Int64?
    /// `--cpu-period` in microseconds (default 100000 when a quota is set).
    public var cpuPeriod: Int64?
    /// `--cpus`: a quota of this many CPUs (quota = cpus × period); overrides `cpuQuota`.
    public var cpus: Double?
    /// `--cpuset-cpus` and `--cpuset-mems`, such as "0-1" or "0".
    public var cpusetCpus: String?
    public var cpusetMems: String?
    /// `--pids-limit`; 0 or -1 is unlimited.
    public var pidsLimit: Int64?
    /// `--memory-swap`: memory plus swap in bytes; -1 is unlimited. Needs the memory limit.
    public var memorySwap: Int64?
    /// `--memory-reservation`: the soft limit in bytes.
    public var memoryReservation: Int64?
    /// `--oom-kill-disable` (cgroup v1 only).
    public var oomKillDisable: Bool

    public init() {
        oomKillDisable = false
    }

    /// The CFS quota and period to write, if any is asked for.
    var effectiveQuota: (quota: Int64, period: Int64)? {
        let period = cpuPeriod ?? 100_000
        if let cpus { return (Int64((cpus * Double(period)).rounded()), period) }
        if let cpuQuota { return (cpuQuota > 0 ? cpuQuota : -1, period) }
        if cpuPeriod != nil { return (-1, period) }
        return nil
    }
}

/// A resource limit (`--ulimit name=soft:hard`).
public struct Ulimit: Sendable, Equatable {
    /// Docker's names: `core`, `cpu`, `data`, `fsize`, `locks`, `memlock`, `msgqueue`,
    /// `nice`, `nofile`, `nproc`, `rss`, `rtprio`, `rttime`, `sigpending`, `stack`, `as`.
    public var name: String
    public var soft: UInt64
    public var hard: UInt64

    public init(name: String, soft: UInt64, hard: UInt64) {
        self.name = name
        self.soft = soft
        self.hard = hard
    }

    /// The `RLIMIT_*` number of each name.
    public static let resources: [String: Int32] = [
        "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6,
        "nofile": 7, "memlock": 8, "as": 9, "locks": 10, "sigpending": 11, "msgqueue": 12,
        "nice": 13, "rtprio": 14, "rttime": 15,
    ]
}

/// A pty-backed container's pid and the master end of its terminal.
public struct TerminalProcess: Sendable, Equatable {
    public var pid: Int32
    /// The pty master: read the container's output and write its input here. The caller
    /// owns it and closes it.
    public var master: Int32
}

/// A command to run inside a running container (`docker exec`).
public struct ProcessSpec: Sendable {
    public var arguments: [String]
    /// `K=V` strings; Docker's default PATH is added when none is given.
    public var environment: [String]
    public var workingDirectory: String
    public var uid: UInt32
    public var gid: UInt32
    public var additionalGroups: [UInt32]
    public var capabilities: UInt64
    public var noNewPrivileges: Bool
    public var seccomp: SeccompMode
    /// `exec -t`: the command gets a new pty of the container's devpts as its controlling
    /// terminal and stdio. Start such a command with `ExecDriver.execWithTerminal`.
    public var tty: Bool
    /// The terminal's first window size (`ConsoleSize`), set before the command starts.
    public var terminalSize: TerminalSize?

    public init(arguments: [String], environment: [String] = []) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = "/"
        self.uid = 0
        self.gid = 0
        self.additionalGroups = []
        self.capabilities = CapabilitySet.dockerDefault.mask
        self.noNewPrivileges = false
        self.seccomp = .dockerDefault
        self.tty = false
    }
}

/// The descriptors that become the container's stdin, stdout and stderr.
///
/// The driver duplicates them into the child; the caller keeps ownership and closes its copies
/// after `ExecDriver.start` returns.
public struct ContainerStdio: Sendable {
    /// nil: `/dev/null`.
    public var stdin: Int32?
    public var stdout: Int32
    public var stderr: Int32

    public init(stdin: Int32? = nil, stdout: Int32, stderr: Int32) {
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// The end of a container's process: its exit code, killing signal and OOM kill.
public struct ExitStatus: Sendable, Equatable {
    /// The exit code, or 128 + the signal number when a signal killed it (as Docker reports).
    public var code: Int32
    /// The signal that killed the process, if one did.
    public var signal: Int32?
    /// Whether the kernel's OOM killer killed a process of the container.
    public var oomKilled: Bool

    public init(code: Int32, signal: Int32? = nil, oomKilled: Bool = false) {
        self.code = code
        self.signal = signal
        self.oomKilled = oomKilled
    }

    /// Decodes a `waitpid` status (WIFEXITED/WEXITSTATUS/WTERMSIG, which Swift cannot import).
    public init(waitStatus status: Int32, oomKilled: Bool = false) {
        let signal = status & 0x7f
        if signal == 0 {
            self.init(code: (status >> 8) & 0xff, oomKilled: oomKilled)
        } else {
            self.init(code: 128 + signal, signal: signal, oomKilled: oomKilled)
        }
    }
}

/// A terminal's window size in character cells.
public struct TerminalSize: Sendable, Equatable {
    public var rows: UInt16
    public var columns: UInt16

    public init(rows: UInt16, columns: UInt16) {
        self.rows = rows
        self.columns = columns
    }
}
