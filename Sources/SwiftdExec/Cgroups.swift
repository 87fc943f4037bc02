import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The container cgroups of one daemon, on cgroup v1 (one hierarchy per controller, including
/// hybrid hosts) or v2 (the unified hierarchy).
///
/// Containers live at `<mount>/<the daemon's own cgroup>/<parent>/<id>` in every hierarchy.
final class Cgroups: Sendable {
    /// 1 or 2.
    let version: Int
    /// `<mount>/<own cgroup>/<parent>` for each hierarchy, without duplicates.
    let bases: [String]
    /// The base in the memory hierarchy, if there is one.
    let memoryBase: String?
    /// The base in the v1 cpuset hierarchy, whose children need cpus and mems copied.
    let cpusetBase: String?
    /// The base of each v1 controller (co-mounted controllers share one); on v2 every
    /// controller maps to the single base.
    let controllerBases: [String: String]

    /// The v1 controllers a container gets a cgroup in, where the host has them.
    static let v1Controllers = [
        "memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "devices", "blkio",
    ]
    /// The v2 controllers enabled for containers, where the host offers them.
    static let v2Controllers = ["memory", "pids", "cpu", "cpuset", "io"]

    /// Detects the cgroup version and creates the parent cgroups below the daemon's own.
    ///
    /// - Throws: `SystemCallError` if `/proc/self/cgroup` is unreadable or a parent cgroup
    ///   cannot be created; `ExecError.invalidSpec` for a parent name with `..`.
    init(root: String = "/sys/fs/cgroup", parent: String) throws {
        guard !parent.split(separator: "/").contains("..") else {
            throw ExecError.invalidSpec("cgroup parent \"\(parent)\" contains \"..\"")
        }
        let membership = try Self.ownCgroups()
        if FileSystem.exists("\(root)/cgroup.controllers") {
            version = 2
            let own = membership[""] ?? "/"
            let base = Self.join(root, own, parent)
            try Self.prepareUnified(root: root, own: Self.join(root, own), base: base)
            bases = [base]
            memoryBase = base
            cpusetBase = nil
            controllerBases = Dictionary(
                uniqueKeysWithValues: Self.v1Controllers.map { ($0, base) })
            return
        }
        version = 1
        var bases: [String] = []
        var seen: [String: String] = [:]
        var memoryBase: String?
        var cpusetBase: String?
        var controllerBases: [String: String] = [:]
        for controller in Self.v1Controllers {
            let mount = "\(root)/\(controller)"
            guard let own = membership[controller], FileSystem.exists("\(mount)/cgroup.procs"),
                let real = Self.realPath(mount)
            else { continue }
            if let existing = seen[real] {
                controllerBases[controller] = existing
                continue
            }
            let base = Self.join(mount, own, parent)
            seen[real] = base
            controllerBases[controller] = base
            try Self.createNested(
                from: Self.join(mount, own), to: base, cpuset: controller == "cpuset")
            bases.append(base)
            if controller == "memory" { memoryBase = base }
            if controller == "cpuset" { cpusetBase = base }
        }
        self.bases = bases
        self.memoryBase = memoryBase
        self.cpusetBase = cpusetBase
        self.controllerBases = controllerBases
    }

    /// The container's cgroup directories, one per hierarchy.
    func paths(of id: String) -> [String] {
        bases.map { "\($0)/\(id)" }
    }

    /// Creates the container's cgroups and sets its memory limit (and as much again of swap,
    /// as Docker does, where the kernel accounts swap).
    func create(id: String, memoryLimit: Int64?) throws {
        for base in bases {
            let path = "\(base)/\(id)"
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw SystemCallError(call: "mkdir", subject: path, errno: errno)
            }
            if base == cpusetBase { try Self.copyCpuset(from: base, to: path) }
        }
        guard let limit = memoryLimit, let memoryBase else {
            if memoryLimit != nil {
                throw ExecError.invalidSpec("memory limit set but no memory cgroup controller")
            }
            return
        }
        let path = "\(memoryBase)/\(id)"
        if version == 1 {
            try FileSystem.write("\(path)/memory.limit_in_bytes", "\(limit)")
            if FileSystem.exists("\(path)/memory.memsw.limit_in_bytes") {
                let (doubled, overflow) = limit.multipliedReportingOverflow(by: 2)
                try FileSystem.write("\(path)/memory.memsw.limit_in_bytes", "\(overflow ? Int64.max : doubled)")
            }
        } else {
            try FileSystem.write("\(path)/memory.max", "\(limit)")
            if FileSystem.exists("\(path)/memory.swap.max") {
                try FileSystem.write("\(path)/memory.swap.max", "\(limit)")
            }
        }
    }

    /// Opens the `tasks` file of each of the container's cgroups for writing, for a process
    /// that moves itself in by writing "0" (see `swd_container_config.cgroup_fds`). Empty on
    /// v2, where a thread cannot move alone: there `add(pid:id:)` moves the process.
    ///
    /// - Throws: `SystemCallError` if a file cannot be opened (the ones opened are closed).
    func openTaskFiles(id: String) throws -> [Int32] {
        guard version == 1 else { return [] }
        var fds: [Int32] = []
        for path in paths(of: id) {
            let fd = open("\(path)/tasks", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                for opened in fds { close(opened) }
                throw SystemCallError(call: "open", subject: "\(path)/tasks", errno: code)
            }
            fds.append(fd)
        }
        return fds
    }

    /// Moves `pid` into every cgroup of the container.
    func add(pid: Int32, id: String) throws {
        for path in paths(of: id) { try FileSystem.write("\(path)/cgroup.procs", "\(pid)") }
    }

    /// Whether the OOM killer killed a process in the container's memory cgroup. On v1 kernels
    /// without the `oom_kill` counter, a memory limit hit together with a SIGKILL counts.
    func oomKilled(id: String, killedBySigkill: Bool) -> Bool {
        guard let memoryBase else { return false }
        let path = "\(memoryBase)/\(id)"
        let file = version == 1 ? "\(path)/memory.oom_control" : "\(path)/memory.events"
        if let count = Self.counter("oom_kill", in: file) { return count > 0 }
        guard version == 1, killedBySigkill,
            let text = try? FileSystem.readString("\(path)/memory.failcnt"),
            let failures = Int(text.filter { !$0.isWhitespace })
        else { return false }
        return failures > 0
    }

    /// Kills every process left in the container's cgroups and removes them. A container with
    /// no cgroups left is fine.
    ///
    /// - Throws: `SystemCallError` from `rmdir` if a cgroup stays busy for about two seconds.
    func remove(id: String) throws {
        for path in paths(of: id).reversed() where FileSystem.exists(path) {
            var attempt = 0
            while true {
                for pid in Self.processes(in: path) { kill(pid, SIGKILL) }
                if rmdir(path) == 0 || errno == ENOENT { break }
                let code = errno
                attempt += 1
                guard code == EBUSY, attempt < 200 else {
                    throw SystemCallError(call: "rmdir", subject: path, errno: code)
                }
                usleep(10_000)
            }
        }
    }

    /// Lists the names of the container cgroups below the parent, in any hierarchy.
    func children() -> Set<String> {
        var names: Set<String> = []
        for base in bases {
            for name in (try? FileSystem.list(base)) ?? [] where FileSystem.isDirectory("\(base)/\(name)") {
                names.insert(name)
            }
        }
        return names
    }

    /// Removes the parent cgroups, which must be empty of containers.
    func removeBases() throws {
        for base in bases.reversed() where rmdir(base) != 0 && errno != ENOENT {
            throw SystemCallError(call: "rmdir", subject: base, errno: errno)
        }
    }

    /// Maps each controller (and "" for the v2 hierarchy) to this process's cgroup path.
    private static func ownCgroups() throws -> [String: String] {
        var result: [String: String] = [:]
        for line in try FileSystem.readString("/proc/self/cgroup").split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[1].isEmpty { result[""] = path }
            for controller in fields[1].split(separator: ",") { result[String(controller)] = path }
        }
        return result
    }

    /// Creates `base` and the directories between it and `own`, copying cpuset settings down
    /// where `cpuset` is set (a v1 cpuset cgroup without cpus and mems refuses processes).
    private static func createNested(from own: String, to base: String, cpuset: Bool) throws {
        var current = own
        for component in base.dropFirst(own.count).split(separator: "/") {
            let next = "\(current)/\(component)"
            if mkdir(next, 0o755) != 0 && errno != EEXIST {
                throw SystemCallError(call: "mkdir", subject: next, errno: errno)
            }
            if cpuset { try copyCpuset(from: current, to: next) }
            current = next
        }
    }

    private static func copyCpuset(from parent: String, to child: String) throws {
        for file in ["cpuset.cpus", "cpuset.mems"] {
            let existing = (try? FileSystem.readString("\(child)/\(file)")) ?? ""
            guard existing.allSatisfy(\.isWhitespace) else { continue }
            let value = try FileSystem.readString("\(parent)/\(file)")
            try FileSystem.write("\(child)/\(file)", value.filter { !$0.isWhitespace })
        }
    }

    /// Creates the v2 base and enables the controllers for its children. The no-internal-
    /// processes rule forbids enabling controllers below a cgroup that has processes, so if the
    /// daemon sits in `own` it first moves itself into the leaf `own/daemon`.
    private static func prepareUnified(root: String, own: String, base: String) throws {
        let available = Set(
            ((try? FileSystem.readString("\(own)/cgroup.controllers")) ?? "")
                .split(whereSeparator: \.isWhitespace).map(String.init))
        let wanted = v2Controllers.filter { available.contains($0) }
        let enable = wanted.map { "+\($0)" }.joined(separator: " ")
        do {
            try FileSystem.write("\(own)/cgroup.subtree_control", enable)
        } catch let error as SystemCallError where error.errno == EBUSY {
            let leaf = "\(own)/daemon"
            if mkdir(leaf, 0o755) != 0 && errno != EEXIST {
                throw SystemCallError(call: "mkdir", subject: leaf, errno: errno)
            }
            try FileSystem.write("\(leaf)/cgroup.procs", "\(getpid())")
            try FileSystem.write("\(own)/cgroup.subtree_control", enable)
        }
        try createNested(from: own, to: base, cpuset: false)
        try FileSystem.write("\(base)/cgroup.subtree_control", enable)
    }

    private static func processes(in path: String) -> [Int32] {
        guard let text = try? FileSystem.readString("\(path)/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    /// The value of a `name value` line in a cgroup file.
    private static func counter(_ name: String, in file: String) -> Int? {
        guard let text = try? FileSystem.readString(file) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == name { return Int(fields[1]) }
        }
        return nil
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private static func join(_ parts: String...) -> String {
        "/" + parts.flatMap { $0.split(separator: "/") }.joined(separator: "/")
    }
}
