import CSwiftdInit
import Foundation
import SwiftdCapabilities
import SwiftdSeccomp
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The native exec driver: starts containers with the C init, puts them in cgroups, waits for
/// them through the process-wide `ChildReaper`, and removes their cgroups.
public final class ExecDriver: Sendable {
    let cgroups: Cgroups
    private let reaper = ChildReaper.shared
    private let lastCapability = Capabilities.lastSupported()
    /// Container ID of each started pid, for the OOM check when it exits.
    private let containers = Mutex<[Int32: String]>([:])
    /// Docker's default filter compiled per capability mask: compiling takes milliseconds.
    private static let defaultFilters = Mutex<[UInt64: SeccompFilter]>([:])

    /// Detects cgroup v1 (per-controller hierarchies, hybrid hosts like this one) or v2, and
    /// the daemon's own cgroup in each controller; containers are nested under
    /// `<own cgroup>/<cgroupParent>/<id>`. Creates the `cgroupParent` cgroups, and on v2 moves
    /// the daemon into `<own cgroup>/daemon` if that is what lets it enable controllers.
    ///
    /// `cgroupRoot` is where the hierarchies are mounted; tests pass a hybrid host's cgroup2
    /// mount (`/sys/fs/cgroup/unified`) to run containers on the v2 code paths.
    ///
    /// - Throws: `SystemCallError` if the cgroups cannot be read or created.
    public init(cgroupParent: String = "swiftd", cgroupRoot: String = "/sys/fs/cgroup") throws {
        cgroups = try Cgroups(root: cgroupRoot, parent: cgroupParent)
    }

    /// 1 or 2.
    public var cgroupVersion: Int { cgroups.version }

    /// The container's cgroup directories, one per hierarchy (for stats and tests).
    public func cgroupPaths(containerID: String) -> [String] {
        cgroups.paths(of: containerID)
    }

    /// Starts the container: clone, cgroups (memory limit), then `prepare(pid)` runs while the
    /// child still waits (the daemon wires the network there), then the child runs on to
    /// execve. The child's stdin/stdout/stderr are the given fds (the caller creates pipes and
    /// closes its copies of the child ends after this returns). Returns the host pid once
    /// execve succeeded; on any failure kills and reaps the child, removes its cgroup, and
    /// throws.
    ///
    /// Blocks the calling thread for the start (a few milliseconds plus `prepare`).
    ///
    /// - Throws: `ExecError.executableNotFound` or `.permissionDenied` for argv[0],
    ///   `.setupFailed` naming the init's stage and errno, `.invalidSpec`, `.systemCall` for
    ///   clone; `SystemCallError` from cgroup files; whatever `prepare` throws.
    public func start(
        _ spec: ContainerSpec, stdio: ContainerStdio, prepare: (Int32) throws -> Void
    ) throws -> Int32 {
        guard !spec.tty else {
            throw ExecError.invalidSpec("a tty container starts with startWithTerminal")
        }
        guard spec.monitor == nil else {
            throw ExecError.invalidSpec("a monitored container starts with startMonitored")
        }
        return try launch(spec, stdio: stdio, prepare: prepare).pid
    }

    /// Starts a container whose stdio is a pty (`spec.tty` must be set): the child opens the
    /// pair in its own devpts, so that its terminal is `/dev/pts/0`, makes the slave its controlling
    /// terminal, and sends the master back. Otherwise as `start`.
    ///
    /// - Returns: the pid and the master, which the caller owns and closes.
    /// - Throws: as `start`; `.setupFailed` with stage "open the terminal".
    public func startWithTerminal(
        _ spec: ContainerSpec, prepare: (Int32) throws -> Void
    ) throws -> TerminalProcess {
        guard spec.tty else { throw ExecError.invalidSpec("startWithTerminal without tty") }
        guard spec.monitor == nil else {
            throw ExecError.invalidSpec("a monitored container starts with startMonitored")
        }
        let started = try launch(
            spec, stdio: ContainerStdio(stdin: nil, stdout: -1, stderr: -1), prepare: prepare)
        return TerminalProcess(pid: started.pid, master: started.master)
    }

    /// A container started under a monitor: see `startMonitored`.
    public struct MonitoredContainer: Sendable {
        /// The container's first process (host pid); the monitor's child, not this process's.
        public let pid: Int32
        /// With `spec.tty`: the pty master, which the caller owns and closes; else -1.
        public let master: Int32
        public let monitor: ContainerMonitor
    }

    /// Starts the container as `start` does (or `startWithTerminal` with `spec.tty`, which
    /// ignores `stdio`), with `spec.monitor`'s process as its parent: the container survives
    /// the daemon, and its exit comes from the monitor (see `ContainerMonitor`), not from
    /// `wait(pid:)`. Returns once the monitor has greeted.
    ///
    /// - Throws: as `start`; `ExecError.invalidSpec` without `spec.monitor`;
    ///   `SystemCallError` if the monitor does not start.
    public func startMonitored(
        _ spec: ContainerSpec, stdio: ContainerStdio, prepare: (Int32) throws -> Void
    ) throws -> MonitoredContainer {
        guard spec.monitor != nil else { throw ExecError.invalidSpec("startMonitored without a monitor") }
        let started = try launch(
            spec, stdio: spec.tty ? ContainerStdio(stdin: nil, stdout: -1, stderr: -1) : stdio,
            prepare: prepare)
        guard let monitor = started.monitor else {
            preconditionFailure("launch with a monitor setup returned no monitor")
        }
        do {
            try monitor.awaitGreeting(subject: spec.id)
        } catch {
            if started.master >= 0 { close(started.master) }
            kill(started.pid, SIGKILL)
            monitor.abandon()
            containers.withLock { _ = $0.removeValue(forKey: started.pid) }
            try? cgroups.remove(id: spec.id)
            throw error
        }
        return MonitoredContainer(pid: started.pid, master: started.master, monitor: monitor)
    }

    /// Takes on a container that a monitor kept running while no daemon was there: `exec`
    /// into it and the OOM check of `exitStatus(raw:containerID:)` work as for one started here.
    public func adopt(pid: Int32, containerID: String) {
        containers.withLock { $0[pid] = containerID }
    }

    /// Decodes the raw wait status that a monitor reported for the container's first process
    /// `pid`, with the OOM check. Call `removeCgroups` only after this returns.
    public func exitStatus(raw: Int32, pid: Int32, containerID: String) -> ExitStatus {
        containers.withLock { _ = $0.removeValue(forKey: pid) }
        let status = ExitStatus(waitStatus: raw)
        let sigkill = status.signal == SIGKILL || status.code == 128 + SIGKILL
        return ExitStatus(
            waitStatus: raw, oomKilled: cgroups.oomKilled(id: containerID, killedBySigkill: sigkill))
    }

    private func launch(
        _ spec: ContainerSpec, stdio: ContainerStdio, prepare: (Int32) throws -> Void
    ) throws -> (pid: Int32, master: Int32, monitor: ContainerMonitor?) {
        var spec = spec
        // The bounding set cannot grow: "all" for a privileged container means all we have.
        if spec.privileged { spec.capabilities &= Self.ownBoundingSet }
        try validate(spec)
        let filter = try Self.seccompFilter(spec.seccomp, capabilities: spec.capabilities)
        try cgroups.create(id: spec.id, memoryLimit: spec.memoryLimit)
        var child: swd_container_child
        var joinsItself = false
        do {
            try cgroups.apply(spec.resources, memoryLimit: spec.memoryLimit, id: spec.id)
            if !spec.privileged {
                try cgroups.restrictDevices(to: spec.devices.map(\.cgroupRule), id: spec.id)
            }
            let taskFiles = try cgroups.openTaskFiles(id: spec.id)
            defer { for fd in taskFiles { close(fd) } }
            child = try clone(spec, stdio: stdio, filter: filter, cgroupTaskFiles: taskFiles)
            joinsItself = !taskFiles.isEmpty
        } catch {
            try? cgroups.remove(id: spec.id)
            throw error
        }
        let monitor = child.monitor_fd >= 0
            ? ContainerMonitor(socket: child.monitor_fd, monitorPid: child.monitor_pid) : nil
        do {
            // On v1 the child moved itself into its cgroups. On v2 it is moved by pid, which
            // waits for an RCU grace period (several milliseconds), as the network setup
            // waits for the kernel: the two run at once.
            let pid = child.pid
            let joining = joinsItself ? nil : BackgroundCall { [cgroups, id = spec.id] in
                try cgroups.add(pid: pid, id: id)
            }
            do {
                try prepare(pid)
            } catch {
                try? joining?.wait()
                throw error
            }
            try joining?.wait()
        } catch {
            swd_container_abort(&child)
            discard(child.pid, containerID: spec.id, monitor: monitor)
            throw error
        }

        var report = swd_child_error()
        let released = swd_container_release(&child, &report)
        if released == 0 {
            containers.withLock { $0[child.pid] = spec.id }
            return (child.pid, child.master_fd, monitor)
        }
        let code = swd_init_errno()
        discard(child.pid, containerID: spec.id, monitor: monitor)
        if released < 0 {
            throw ExecError.systemCall(
                SystemCallError(call: "read", subject: "init error pipe", errno: code))
        }
        throw Self.error(for: report, command: spec.arguments[0])
    }

    /// Sets the window size of a container's terminal (the master from
    /// `startWithTerminal`); the kernel sends SIGWINCH to its foreground process group.
    ///
    /// - Throws: `SystemCallError` from `ioctl(TIOCSWINSZ)`.
    public static func resize(terminal fd: Int32, rows: UInt16, columns: UInt16) throws {
        if swd_init_set_window_size(fd, rows, columns) != 0 {
            throw SystemCallError(
                call: "ioctl(TIOCSWINSZ)", subject: "fd \(fd) \(rows)x\(columns)",
                errno: swd_init_errno())
        }
    }

    /// Freezes every process of the container (`docker pause`): v1 `freezer.state`, v2
    /// `cgroup.freeze`. Blocks until the kernel reports the cgroup frozen (at most 2 s).
    ///
    /// - Throws: `SystemCallError` from the cgroup files, `ETIMEDOUT` if it does not freeze.
    public func pause(containerID: String) throws {
        try cgroups.setFrozen(true, id: containerID)
    }

    /// Thaws a paused container (`docker unpause`); blocks until it runs again.
    ///
    /// - Throws: `SystemCallError` from the cgroup files, `ETIMEDOUT` if it stays frozen.
    public func resume(containerID: String) throws {
        try cgroups.setFrozen(false, id: containerID)
    }

    /// Reads the container's memory, CPU and pids counters from its cgroups.
    ///
    /// - Throws: `SystemCallError` if a counter cannot be read (the container is gone, say).
    public func stats(containerID: String) throws -> ContainerStats {
        try cgroups.stats(id: containerID)
    }

    /// Lists the host pids of every process in the container's cgroup (its `cgroup.procs`),
    /// in ascending order.
    ///
    /// - Throws: `SystemCallError` if the cgroup cannot be read (the container is gone, say).
    public func processes(containerID: String) throws -> [Int32] {
        guard let path = cgroups.paths(of: containerID).first(where: {
            FileSystem.exists("\($0)/cgroup.procs")
        }) else {
            throw SystemCallError(call: "open", subject: "cgroup.procs of \(containerID)", errno: ENOENT)
        }
        let text = try FileSystem.readString("\(path)/cgroup.procs")
        return text.split(separator: "\n").compactMap { Int32($0) }.sorted()
    }

    /// Waits (without blocking a pool thread) for the process to exit; reports OOM kills.
    ///
    /// Call `removeCgroups` only after this returns: the OOM count lives in the cgroup.
    /// `pid` must be a child of this process whose status no caller has claimed (see
    /// `ChildReaper`). Anything else is a programming error and traps.
    public func wait(pid: Int32) async -> ExitStatus {
        guard let raw = await reaper.exitStatus(of: pid) else {
            preconditionFailure("wait(pid: \(pid)): not an unclaimed child of this process")
        }
        let status = ExitStatus(waitStatus: raw)
        guard let id = containers.withLock({ $0.removeValue(forKey: pid) }) else {
            return status
        }
        let sigkill = status.signal == SIGKILL || status.code == 128 + SIGKILL
        return ExitStatus(
            waitStatus: raw, oomKilled: cgroups.oomKilled(id: id, killedBySigkill: sigkill))
    }

    /// Sends `signal` to the process `pid` with kill(2).
    ///
    /// A container's init is PID 1 in its namespace: it dies of SIGKILL, but ignores other
    /// signals for which it has no handler.
    ///
    /// - Throws: `SystemCallError` from `kill`, such as `ESRCH` for a process that is gone.
    public func signal(pid: Int32, _ signal: Int32) throws {
        if kill(pid, signal) != 0 {
            throw SystemCallError(
                call: "kill", subject: "pid \(pid) signal \(signal)", errno: errno)
        }
    }

    /// Kills every process left in the container's cgroup and removes its cgroups.
    ///
    /// Blocks until the processes are gone (polling every 10 ms, for up to two seconds).
    ///
    /// - Throws: `SystemCallError` from `rmdir` if a cgroup stays busy.
    public func removeCgroups(containerID: String) throws {
        try cgroups.remove(id: containerID)
    }

    /// Lists the IDs of the containers that have cgroups below `cgroupParent`, running or
    /// left over.
    public func containerCgroups() -> Set<String> {
        cgroups.children()
    }

    /// Removes the `cgroupParent` cgroups; call when no container is left (at shutdown).
    ///
    /// - Throws: `SystemCallError` from `rmdir`, `EBUSY` while a container cgroup remains.
    public func removeParentCgroups() throws {
        try cgroups.removeBases()
    }

    /// Runs a command inside a running container (`docker exec`): a single-threaded helper
    /// joins the namespaces of `containerPid` (ipc, uts, net, pid, mnt) and forks the command
    /// into the container's pid namespace as a child of this process; the helper sits in the
    /// container's cgroups first, so the command does too. The command gets the spec's
    /// identity, capabilities and seccomp filter. Wait for it with `wait(pid:)`.
    ///
    /// Blocks for the start (a few milliseconds).
    ///
    /// - Returns: the command's host pid, once execve succeeded.
    /// - Throws: `ExecError.invalidSpec` for a pid this driver did not start,
    ///   `.executableNotFound`, `.permissionDenied`, `.setupFailed`; `SystemCallError` from
    ///   opening the namespaces or the cgroup files.
    public func exec(containerPid: Int32, spec: ProcessSpec, stdio: ContainerStdio) throws
        -> Int32
    {
        guard !spec.tty else {
            throw ExecError.invalidSpec("a tty command starts with execWithTerminal")
        }
        return try launchExec(containerPid: containerPid, spec: spec, stdio: stdio).pid
    }

    /// Runs a command with a new pty of the container's devpts as its controlling terminal
    /// (`spec.tty` must be set). Otherwise as `exec`.
    ///
    /// - Returns: the pid and the pty master, which the caller owns and closes.
    /// - Throws: as `exec`; `.setupFailed` with stage "open the terminal".
    public func execWithTerminal(containerPid: Int32, spec: ProcessSpec) throws
        -> TerminalProcess
    {
        guard spec.tty else { throw ExecError.invalidSpec("execWithTerminal without tty") }
        let started = try launchExec(
            containerPid: containerPid, spec: spec,
            stdio: ContainerStdio(stdin: nil, stdout: -1, stderr: -1))
        return TerminalProcess(pid: started.pid, master: started.master)
    }

    private func launchExec(containerPid: Int32, spec: ProcessSpec, stdio: ContainerStdio)
        throws -> (pid: Int32, master: Int32)
    {
        guard let id = containers.withLock({ $0[containerPid] }) else {
            throw ExecError.invalidSpec("pid \(containerPid) is not a running container")
        }
        guard let command = spec.arguments.first, !command.isEmpty else {
            throw ExecError.invalidSpec("no command")
        }
        let strings = spec.arguments + spec.environment + [spec.workingDirectory]
        if strings.contains(where: { $0.utf8.contains(0) }) {
            throw ExecError.invalidSpec("a NUL byte in the command, environment or paths")
        }
        let filter = try Self.seccompFilter(spec.seccomp, capabilities: spec.capabilities)
        var namespaces: [Int32] = []
        defer { for fd in namespaces { close(fd) } }
        for name in ["ipc", "uts", "net", "pid", "mnt"] {
            let path = "/proc/\(containerPid)/ns/\(name)"
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw SystemCallError(call: "open", subject: path, errno: errno) }
            namespaces.append(fd)
        }

        let memory = CMemory()
        defer { memory.free() }
        var environment = ContainerSpec(id: id, rootfs: "/", arguments: spec.arguments)
        environment.environment = spec.environment
        var config = swd_exec_config()
        config.namespace_fds = (
            namespaces[0], namespaces[1], namespaces[2], namespaces[3], namespaces[4]
        )
        config.argv = memory.strings(spec.arguments)
        config.envp = memory.strings(environment.effectiveEnvironment)
        config.path = memory.string(environment.searchPath)
        config.workdir = memory.string(spec.workingDirectory)
        config.uid = spec.uid
        config.gid = spec.gid
        config.groups = memory.array(spec.additionalGroups)
        config.group_count = UInt32(spec.additionalGroups.count)
        config.capabilities = spec.capabilities
        config.last_capability = Int32(lastCapability)
        config.no_new_privileges = spec.noNewPrivileges ? 1 : 0
        if let filter {
            config.seccomp_filter = UnsafeRawPointer(memory.array(filter.bytes))
            config.seccomp_length = UInt32(filter.instructionCount)
        }
        config.stdin_fd = stdio.stdin ?? -1
        config.stdout_fd = stdio.stdout
        config.stderr_fd = stdio.stderr
        config.tty = spec.tty ? 1 : 0
        config.tty_rows = spec.terminalSize?.rows ?? 0
        config.tty_columns = spec.terminalSize?.columns ?? 0

        let taskFiles = try cgroups.openTaskFiles(id: id)
        defer { for fd in taskFiles { close(fd) } }
        config.cgroup_fds = memory.array(taskFiles)
        config.cgroup_fd_count = UInt32(taskFiles.count)

        var child = swd_exec_child()
        if swd_exec_clone(&config, &child) != 0 {
            throw ExecError.systemCall(
                SystemCallError(call: "clone", subject: "exec in \(id)", errno: swd_init_errno()))
        }
        reaper.childStarted()
        do {
            if taskFiles.isEmpty { try cgroups.add(pid: child.helper, id: id) }
        } catch {
            swd_exec_abort(&child)
            _ = reaper.exitStatusBlocking(of: child.helper)
            throw error
        }
        var pid: pid_t = -1
        var report = swd_child_error()
        let released = swd_exec_release(&child, &pid, &report)
        let code = swd_init_errno()
        _ = reaper.exitStatusBlocking(of: child.helper)
        if released != 0 && child.master_fd >= 0 { close(child.master_fd) }
        if released == 0 && spec.tty && child.master_fd < 0 {
            if pid > 0 {
                reaper.childStarted()
                kill(pid, SIGKILL)
                _ = reaper.exitStatusBlocking(of: pid)
            }
            throw ExecError.setupFailed(stage: "open the terminal", errno: EPIPE)
        }
        // NOTE: unlike start, no discardStale for the command's pid: it may have exited
        // already, so an unclaimed status of an earlier child with the same pid could win.
        if pid > 0 { reaper.childStarted() }
        if released == 0 { return (pid, child.master_fd) }
        if pid > 0 { _ = reaper.exitStatusBlocking(of: pid) }
        if released < 0 {
            throw ExecError.systemCall(
                SystemCallError(call: "read", subject: "exec error pipe", errno: code))
        }
        throw Self.error(for: report, command: command)
    }

    /// Creates a close-on-exec pipe for a container's stdio, so that no other child the
    /// daemon starts inherits it.
    ///
    /// - Returns: the read and write ends; the caller owns and closes both.
    /// - Throws: `SystemCallError` from `pipe2`.
    public static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        if swd_init_pipe(&fds) != 0 {
            throw SystemCallError(
                call: "pipe2", subject: "container stdio", errno: swd_init_errno())
        }
        return (fds[0], fds[1])
    }

    private func validate(_ spec: ContainerSpec) throws {
        if spec.id.isEmpty || spec.id.contains("/") || spec.id.hasPrefix(".") {
            throw ExecError.invalidSpec("container ID \"\(spec.id)\"")
        }
        if spec.arguments.isEmpty || spec.arguments[0].isEmpty {
            throw ExecError.invalidSpec("no command")
        }
        if !spec.rootfs.hasPrefix("/") || !FileSystem.isDirectory(spec.rootfs) {
            throw ExecError.invalidSpec("rootfs \"\(spec.rootfs)\" is not an absolute directory")
        }
        if !spec.workingDirectory.hasPrefix("/") {
            throw ExecError.invalidSpec(
                "working directory \"\(spec.workingDirectory)\" is relative")
        }
        if let limit = spec.memoryLimit, limit < 4 * 1024 * 1024 {
            throw ExecError.invalidSpec("minimum memory limit allowed is 4MB")
        }
        if spec.shmSize <= 0 {
            throw ExecError.invalidSpec("shm size \(spec.shmSize) must be greater than 0")
        }
        for case .join(let path) in [spec.ipcNamespace, spec.utsNamespace, spec.pidNamespace]
        where !path.hasPrefix("/") || path.utf8.contains(0) {
            throw ExecError.invalidSpec("namespace path \"\(path)\" is not absolute")
        }
        for device in spec.devices where device.path.utf8.contains(0) {
            throw ExecError.invalidSpec("a NUL byte in device path \"\(device.path)\"")
        }
        for mount in spec.mounts where !mount.destination.hasPrefix("/") {
            throw ExecError.invalidSpec("mount destination \"\(mount.destination)\" is relative")
        }
        for mount in spec.mounts where mount.kind == .bind && !mount.source.hasPrefix("/") {
            throw ExecError.invalidSpec("bind mount source \"\(mount.source)\" is relative")
        }
        let mountPaths = spec.mounts.flatMap { [$0.source, $0.destination] + $0.options }
        let strings =
            spec.arguments + spec.environment + [spec.hostname, spec.workingDirectory]
            + mountPaths
        if strings.contains(where: { $0.utf8.contains(0) }) {
            throw ExecError.invalidSpec("a NUL byte in the command, environment or paths")
        }
    }

    /// Clones the child with every C string it needs. The memory is freed once clone has
    /// returned, because the child runs on its own copy of it.
    private func clone(
        _ spec: ContainerSpec, stdio: ContainerStdio, filter: SeccompFilter?,
        cgroupTaskFiles: [Int32]
    ) throws -> swd_container_child {
        let memory = CMemory()
        defer { memory.free() }
        var config = swd_container_config()
        config.rootfs = memory.string(spec.rootfs)
        config.argv = memory.strings(spec.arguments)
        config.envp = memory.strings(spec.effectiveEnvironment)
        config.path = memory.string(spec.searchPath)
        config.workdir = memory.string(spec.workingDirectory)
        config.hostname = memory.string(spec.hostname)
        config.uid = spec.uid
        config.gid = spec.gid
        config.groups = memory.array(spec.additionalGroups)
        config.group_count = UInt32(spec.additionalGroups.count)
        config.capabilities = spec.capabilities
        config.last_capability = Int32(lastCapability)
        config.new_network = spec.newNetworkNamespace ? 1 : 0
        if !spec.newNetworkNamespace, let path = spec.networkNamespacePath {
            config.join_network = memory.string(path)
        }
        config.stdin_fd = stdio.stdin ?? -1
        config.stdout_fd = stdio.stdout
        config.stderr_fd = stdio.stderr
        config.privileged = spec.privileged ? 1 : 0
        config.readonly_rootfs = spec.readonlyRootfs ? 1 : 0
        config.no_new_privileges = spec.noNewPrivileges ? 1 : 0
        config.tty = spec.tty ? 1 : 0
        config.tty_rows = spec.terminalSize?.rows ?? 0
        config.tty_columns = spec.terminalSize?.columns ?? 0
        config.`init` = spec.runsInit ? 1 : 0
        config.shm_size = spec.mountsShm ? UInt64(spec.shmSize) : 0
        let mounts = try spec.mounts.map { try Self.cMount($0, memory: memory) }
        config.mounts = memory.array(mounts)
        config.mount_count = UInt32(mounts.count)
        let devices = spec.devices.map { device in
            let slash = device.path.lastIndex(of: "/") ?? device.path.startIndex
            let parent = String(device.path[..<slash])
            return swd_device_node(
                parent: memory.string(parent.isEmpty ? "/" : parent),
                name: memory.string(String(device.path[device.path.index(after: slash)...])),
                mode: (device.isBlock ? UInt32(S_IFBLK) : UInt32(S_IFCHR)) | device.fileMode,
                major: device.major, minor: device.minor, uid: device.uid, gid: device.gid)
        }
        config.devices = memory.array(devices)
        config.device_count = UInt32(devices.count)
        (config.keep_ipc, config.join_ipc) = Self.cNamespace(spec.ipcNamespace, memory: memory)
        (config.keep_uts, config.join_uts) = Self.cNamespace(spec.utsNamespace, memory: memory)
        (config.keep_pid, config.join_pid) = Self.cNamespace(spec.pidNamespace, memory: memory)
        let limits = try spec.ulimits.map(Self.cRlimit)
        config.rlimits = memory.array(limits)
        config.rlimit_count = UInt32(limits.count)
        if let filter {
            config.seccomp_filter = UnsafeRawPointer(memory.array(filter.bytes))
            config.seccomp_length = UInt32(filter.instructionCount)
        }

        if let monitor = spec.monitor {
            config.monitor_path = memory.string(monitor.executable)
            config.monitor_directory = memory.string(monitor.directory)
        }
        config.cgroup_fds = memory.array(cgroupTaskFiles)
        config.cgroup_fd_count = UInt32(cgroupTaskFiles.count)

        var child = swd_container_child()
        if swd_container_clone(&config, &child) != 0 {
            let code = swd_init_errno()
            if child.monitor_pid > 0 {
                reaper.childStarted()
                _ = reaper.exitStatusBlocking(of: child.monitor_pid)
            }
            throw ExecError.systemCall(
                SystemCallError(
                    call: spec.monitor == nil ? "clone" : "start the monitor", subject: spec.id,
                    errno: code))
        }
        // With a monitor, the monitor is this process's child and the container is its child.
        let ownChild = spec.monitor == nil ? child.pid : child.monitor_pid
        reaper.discardStale(pid: ownChild)
        reaper.childStarted()
        return child
    }

    /// The init's keep flag and join path for a namespace mode.
    private static func cNamespace(_ mode: NamespaceMode, memory: CMemory)
        -> (Int32, UnsafePointer<CChar>?)
    {
        switch mode {
        case .new: return (0, nil)
        case .host: return (1, nil)
        case .join(let path): return (1, memory.string(path))
        }
    }

    /// The daemon's capability bounding set (`CapBnd` of /proc/self/status); all bits if it
    /// cannot be read, so that capset reports the problem.
    static let ownBoundingSet: UInt64 = {
        let status = (try? FileSystem.readString("/proc/self/status")) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("CapBnd:") {
            let digits = line.dropFirst("CapBnd:".count).filter { !$0.isWhitespace }
            if let mask = UInt64(digits, radix: 16) { return mask }
        }
        return UInt64.max
    }()

    /// The filter for a mode, compiled for the capabilities; nil for `unconfined`.
    private static func seccompFilter(_ mode: SeccompMode, capabilities: UInt64) throws
        -> SeccompFilter?
    {
        let names = Set(CapabilitySet(mask: capabilities).names)
        switch mode {
        case .unconfined: return nil
        case .dockerDefault:
            if let cached = defaultFilters.withLock({ $0[capabilities] }) { return cached }
            let filter = try SeccompProfile.dockerDefault.compile(capabilities: names)
            defaultFilters.withLock { $0[capabilities] = filter }
            return filter
        case .profile(let profile): return try profile.compile(capabilities: names)
        }
    }

    private static let mountFlags: [String: (set: UInt64, clear: UInt64)] = [
        "ro": (1, 0), "rw": (0, 1), "nosuid": (2, 0), "suid": (0, 2), "nodev": (4, 0),
        "dev": (0, 4), "noexec": (8, 0), "exec": (0, 8), "sync": (16, 0), "async": (0, 16),
        "noatime": (1024, 0), "atime": (0, 1024), "relatime": (1 << 21, 0),
        "strictatime": (1 << 24, 0),
    ]
    private static let ignoredMountOptions: Set<String> = [
        "bind", "rbind", "private", "rprivate", "shared", "rshared", "slave", "rslave",
        "defaults",
    ]

    /// Translates a mount's options into MS_* flags and tmpfs data.
    private static func cMount(_ mount: Mount, memory: CMemory) throws -> swd_mount {
        var flags: UInt64 = mount.kind == .tmpfs ? 2 | 4 | 8 : 0
        var data: [String] = []
        for option in mount.options {
            if let (set, clear) = mountFlags[option] {
                flags = (flags & ~clear) | set
            } else if ignoredMountOptions.contains(option) {
                continue
            } else if mount.kind == .tmpfs,
                ["size=", "mode=", "nr_inodes=", "uid=", "gid="].contains(where: {
                    option.hasPrefix($0)
                }), !option.contains(",")
            {
                data.append(option)
            } else {
                throw ExecError.invalidSpec(
                    "mount option \"\(option)\" for \(mount.destination)")
            }
        }
        var entry = swd_mount()
        entry.destination = memory.string(mount.destination)
        entry.flags = flags
        switch mount.kind {
        case .bind:
            entry.source = memory.string(mount.source)
            entry.file = FileSystem.isDirectory(mount.source) ? 0 : 1
        case .tmpfs:
            entry.source = memory.string("tmpfs")
            entry.fstype = memory.string("tmpfs")
            entry.data = data.isEmpty ? nil : memory.string(data.joined(separator: ","))
        }
        return entry
    }

    /// Checks a ulimit against the daemon's own hard limit, which the child cannot raise.
    private static func cRlimit(_ limit: Ulimit) throws -> swd_rlimit {
        guard let resource = Ulimit.resources[limit.name] else {
            throw ExecError.invalidSpec("unknown ulimit \"\(limit.name)\"")
        }
        guard limit.soft <= limit.hard else {
            throw ExecError.invalidSpec(
                "ulimit \(limit.name): soft limit \(limit.soft) above hard \(limit.hard)")
        }
        var current = rlimit()
        if getrlimit(__rlimit_resource_t(UInt32(resource)), &current) != 0 {
            throw SystemCallError(call: "getrlimit", subject: limit.name, errno: errno)
        }
        if limit.hard > UInt64(current.rlim_max) {
            throw ExecError.invalidSpec(
                "ulimit \(limit.name): hard limit \(limit.hard) above the daemon's "
                    + "\(current.rlim_max)")
        }
        return swd_rlimit(resource: resource, soft: limit.soft, hard: limit.hard)
    }

    /// Kills and reaps a child that did not start (and its monitor), and removes its cgroups.
    private func discard(_ pid: Int32, containerID: String, monitor: ContainerMonitor? = nil) {
        kill(pid, SIGKILL)
        if let monitor {
            monitor.abandon()
        } else {
            _ = reaper.exitStatusBlocking(of: pid)
        }
        // NOTE: a failure to remove the cgroup here leaves it for removeCgroups; the start
        // error is the one worth reporting.
        try? cgroups.remove(id: containerID)
    }

    private static func error(for report: swd_child_error, command: String) -> ExecError {
        let stage = swd_stage(rawValue: UInt32(bitPattern: report.stage))
        switch (stage, report.error) {
        case (SWD_STAGE_LOOKUP, EACCES), (SWD_STAGE_EXEC, EACCES):
            return .permissionDenied(command)
        case (SWD_STAGE_LOOKUP, _), (SWD_STAGE_EXEC, ENOENT), (SWD_STAGE_EXEC, ENOTDIR):
            return .executableNotFound(command)
        default:
            return .setupFailed(stage: stageNames[Int(report.stage)] ?? "stage \(report.stage)",
                                errno: report.error)
        }
    }

    private static let stageNames: [Int: String] = [
        1: "wait for the daemon", 2: "make / private", 3: "bind-mount the rootfs",
        4: "chdir to the rootfs", 5: "mount proc", 6: "mount dev", 7: "create a device",
        8: "mount devpts", 9: "mount shm", 10: "mount mqueue", 11: "create /dev symlinks",
        12: "mount sysfs", 13: "pivot_root", 14: "detach the old root", 15: "sethostname",
        16: "chdir to the working directory", 17: "drop the capability bounding set",
        18: "keep capabilities", 19: "setgroups", 20: "setresgid", 21: "setresuid",
        22: "capset", 23: "clear ambient capabilities", 24: "connect stdio",
        25: "unblock signals", 26: "look up the command", 27: "execve",
        28: "create a mount point", 29: "mount", 30: "mask a path",
        31: "make a path read-only", 32: "make the rootfs read-only", 33: "set no_new_privs",
        34: "install the seccomp filter", 35: "set a ulimit", 36: "open the terminal",
        37: "join a namespace", 38: "fork into the pid namespace", 39: "join the cgroups",
    ]
}

/// A call that runs on a thread of its own while the caller goes on; `wait()` returns once it
/// ended and rethrows its error.
private final class BackgroundCall: Sendable {
    private let outcome = Mutex<Result<Void, any Error>?>(nil)
    private let finished = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () throws -> Void) {
        let thread = Thread { [self] in
            let result = Result { try body() }
            outcome.withLock { $0 = result }
            finished.signal()
        }
        thread.start()
    }

    func wait() throws {
        finished.wait()
        finished.signal()
        try outcome.withLock { $0 }?.get()
    }
}
