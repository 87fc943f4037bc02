import SwiftdCapabilities

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
