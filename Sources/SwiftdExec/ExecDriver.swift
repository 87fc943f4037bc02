import CSwiftdInit
import SwiftdCapabilities
import SwiftdSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The native exec driver: starts containers with the C init, puts them in cgroups, waits for
/// them through the process-wide `ChildReaper`, and removes their cgroups.
public final class ExecDriver: Sendable {
    private let cgroups: Cgroups
    private let reaper = ChildReaper.shared
    private let lastCapability = Capabilities.lastSupported()
    /// Container ID of each started pid, for the OOM check when it exits.
    private let containers = Mutex<[Int32: String]>([:])

    /// Detects cgroup v1 (per-controller hierarchies, hybrid hosts like this one) or v2, and
    /// the daemon's own cgroup in each controller; containers are nested under
    /// `<own cgroup>/<cgroupParent>/<id>`. Creates the `cgroupParent` cgroups, and on v2 moves
    /// the daemon into `<own cgroup>/daemon` if that is what lets it enable controllers.
    ///
    /// - Throws: `SystemCallError` if the cgroups cannot be read or created.
    public init(cgroupParent: String = "swiftd") throws {
        cgroups = try Cgroups(parent: cgroupParent)
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
        try validate(spec)
        try cgroups.create(id: spec.id, memoryLimit: spec.memoryLimit)
        var child: swd_container_child
        do {
            child = try clone(spec, stdio: stdio)
        } catch {
            try? cgroups.remove(id: spec.id)
            throw error
        }
        do {
            try cgroups.add(pid: child.pid, id: spec.id)
            try prepare(child.pid)
        } catch {
            swd_container_abort(&child)
            discard(child.pid, containerID: spec.id)
            throw error
        }

        var report = swd_child_error()
        let released = swd_container_release(&child, &report)
        if released == 0 {
            containers.withLock { $0[child.pid] = spec.id }
            return child.pid
        }
        let code = swd_init_errno()
        discard(child.pid, containerID: spec.id)
        if released < 0 {
            throw ExecError.systemCall(
                SystemCallError(call: "read", subject: "init error pipe", errno: code))
        }
        throw Self.error(for: report, command: spec.arguments[0])
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

    /// Removes the `cgroupParent` cgroups; call when no container is left (at shutdown).
    ///
    /// - Throws: `SystemCallError` from `rmdir`, `EBUSY` while a container cgroup remains.
    public func removeParentCgroups() throws {
        try cgroups.removeBases()
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
        let strings = spec.arguments + spec.environment + [spec.hostname, spec.workingDirectory]
        if strings.contains(where: { $0.utf8.contains(0) }) {
            throw ExecError.invalidSpec("a NUL byte in the command, environment or paths")
        }
    }

    /// Clones the child with every C string it needs. The strings are freed once clone has
    /// returned, because the child runs on its own copy of memory.
    private func clone(_ spec: ContainerSpec, stdio: ContainerStdio) throws -> swd_container_child {
        let argv = spec.arguments.map { strdup($0) } + [nil]
        let envp = spec.effectiveEnvironment.map { strdup($0) } + [nil]
        let fields: [String] = [
            spec.rootfs, spec.searchPath, spec.workingDirectory, spec.hostname,
        ]
        let strings = fields.map { strdup($0) }
        let groups = UnsafeMutablePointer<UInt32>.allocate(
            capacity: max(spec.additionalGroups.count, 1))
        defer {
            for pointer in argv + envp + strings { free(pointer) }
            groups.deallocate()
        }
        for (index, group) in spec.additionalGroups.enumerated() { groups[index] = group }

        var child = swd_container_child()
        let result = argv.withUnsafeBufferPointer { argvBuffer in
            envp.withUnsafeBufferPointer { envpBuffer in
                var config = swd_container_config(
                    rootfs: strings[0], argv: argvBuffer.baseAddress,
                    envp: envpBuffer.baseAddress, path: strings[1], workdir: strings[2],
                    hostname: strings[3], uid: spec.uid, gid: spec.gid, groups: groups,
                    group_count: UInt32(spec.additionalGroups.count),
                    capabilities: spec.capabilities, last_capability: Int32(lastCapability),
                    new_network: spec.newNetworkNamespace ? 1 : 0,
                    stdin_fd: stdio.stdin ?? -1, stdout_fd: stdio.stdout, stderr_fd: stdio.stderr)
                return swd_container_clone(&config, &child)
            }
        }
        if result != 0 {
            throw ExecError.systemCall(
                SystemCallError(call: "clone", subject: spec.id, errno: swd_init_errno()))
        }
        reaper.discardStale(pid: child.pid)
        reaper.childStarted()
        return child
    }

    /// Kills and reaps a child that did not start, and removes its cgroups.
    private func discard(_ pid: Int32, containerID: String) {
        kill(pid, SIGKILL)
        _ = reaper.exitStatusBlocking(of: pid)
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
        28: "create a mount point",
    ]
}
