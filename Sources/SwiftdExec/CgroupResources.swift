import SwiftdSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The figures `docker stats` shows for one container, read from its cgroups.
public struct ContainerStats: Sendable, Equatable {
    /// Memory in use, in bytes (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    public var memoryUsage: UInt64
    /// The memory limit in bytes; `UInt64.max` when there is none.
    public var memoryLimit: UInt64
    /// CPU time used by all processes, in nanoseconds.
    public var cpuUsageNanoseconds: UInt64
    /// The number of processes and threads.
    public var pids: UInt64
}

extension Cgroups {
    /// Writes the container's CPU, cpuset, pids and memory settings (besides the memory
    /// limit, which `create` writes).
    ///
    /// - Throws: `ExecError.invalidSpec` for a setting the host lacks the controller or file
    ///   for; `SystemCallError` from a cgroup file.
    func apply(_ resources: ContainerResources, memoryLimit: Int64?, id: String) throws {
        if let shares = resources.cpuShares {
            if version == 1 {
                try write("cpu", id, "cpu.shares", "\(shares)")
            } else {
                // runc's conversion of shares [2, 262144] to weight [1, 10000].
                let clamped = min(max(shares, 2), 262_144)
                try write("cpu", id, "cpu.weight", "\(1 + ((clamped - 2) * 9999) / 262_142)")
            }
        }
        if let (quota, period) = resources.effectiveQuota {
            if version == 1 {
                try write("cpu", id, "cpu.cfs_period_us", "\(period)")
                try write("cpu", id, "cpu.cfs_quota_us", "\(quota)")
            } else {
                try write("cpu", id, "cpu.max", "\(quota > 0 ? String(quota) : "max") \(period)")
            }
        }
        if let cpus = resources.cpusetCpus { try write("cpuset", id, "cpuset.cpus", cpus) }
        if let mems = resources.cpusetMems { try write("cpuset", id, "cpuset.mems", mems) }
        if let limit = resources.pidsLimit {
            try write("pids", id, "pids.max", limit > 0 ? "\(limit)" : "max")
        }
        if let reservation = resources.memoryReservation {
            let file = version == 1 ? "memory.soft_limit_in_bytes" : "memory.low"
            try write("memory", id, file, "\(reservation)")
        }
        if let swap = resources.memorySwap {
            guard let memoryLimit else {
                throw ExecError.invalidSpec(
                    "you should always set the memory limit when using memoryswap limit")
            }
            if swap >= 0 && swap < memoryLimit {
                throw ExecError.invalidSpec(
                    "minimum memoryswap limit should be larger than memory limit")
            }
            if version == 1 {
                try write("memory", id, "memory.memsw.limit_in_bytes", swap < 0 ? "-1" : "\(swap)")
            } else {
                let value = swap < 0 ? "max" : "\(swap - memoryLimit)"
                try write("memory", id, "memory.swap.max", value)
            }
        }
        if resources.oomKillDisable {
            guard version == 1 else {
                throw ExecError.invalidSpec("oom-kill-disable is not supported on cgroup v2")
            }
            try write("memory", id, "memory.oom_control", "1")
        }
    }

    /// Limits the container to Docker's default devices and `rules` (`c 1:5 rwm` and the
    /// like). On v1 the devices controller denies everything first, then allows each rule. On
    /// v2 a device program built from the rules is attached to the container's cgroup.
    ///
    /// - Throws: `ExecError.invalidSpec` for a malformed rule or a missing v1 file;
    ///   `SystemCallError` from the v1 files or from loading and attaching the v2 program.
    func restrictDevices(to rules: [String], id: String) throws {
        guard version == 1 else {
            try attachDeviceProgram(allowing: Device.defaultRules + rules, id: id)
            return
        }
        guard controllerBases["devices"] != nil else { return }
        try write("devices", id, "devices.deny", "a")
        for rule in Device.defaultRules + rules { try write("devices", id, "devices.allow", rule) }
    }

    /// Freezes (`frozen`) or thaws every process of the container, and waits until the
    /// kernel reports the new state (polling every millisecond for up to two seconds).
    func setFrozen(_ frozen: Bool, id: String) throws {
        let path = try directory("freezer", id)
        let file: String, wanted: String
        if version == 1 {
            file = "\(path)/freezer.state"
            wanted = frozen ? "FROZEN" : "THAWED"
            try FileSystem.write(file, wanted)
        } else {
            file = "\(path)/cgroup.events"
            wanted = "frozen \(frozen ? 1 : 0)"
            try FileSystem.write("\(path)/cgroup.freeze", frozen ? "1" : "0")
        }
        for _ in 0..<2000 {
            let state = try FileSystem.readString(file)
            if state.split(separator: "\n").contains(where: { $0 == wanted }) { return }
            usleep(1000)
        }
        throw SystemCallError(call: "freeze", subject: path, errno: ETIMEDOUT)
    }

    /// Reads memory, CPU and pids counters of the container.
    func stats(id: String) throws -> ContainerStats {
        if version == 1 {
            let memory = try directory("memory", id)
            let cpu = try directory("cpuacct", id)
            let pids = try directory("pids", id)
            return ContainerStats(
                memoryUsage: try Self.number(in: "\(memory)/memory.usage_in_bytes"),
                memoryLimit: try Self.number(in: "\(memory)/memory.limit_in_bytes"),
                cpuUsageNanoseconds: try Self.number(in: "\(cpu)/cpuacct.usage"),
                pids: try Self.number(in: "\(pids)/pids.current"))
        }
        let path = try directory("memory", id)
        let cpuStat = try FileSystem.readString("\(path)/cpu.stat")
        var micros: UInt64 = 0
        for line in cpuStat.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == "usage_usec" { micros = UInt64(fields[1]) ?? 0 }
        }
        return ContainerStats(
            memoryUsage: try Self.number(in: "\(path)/memory.current"),
            memoryLimit: try Self.number(in: "\(path)/memory.max"),
            cpuUsageNanoseconds: micros * 1000,
            pids: try Self.number(in: "\(path)/pids.current"))
    }

    private func directory(_ controller: String, _ id: String) throws -> String {
        guard let base = controllerBases[controller] else {
            throw ExecError.invalidSpec("no \(controller) cgroup controller on this host")
        }
        return "\(base)/\(id)"
    }

    private func write(_ controller: String, _ id: String, _ file: String, _ value: String)
        throws
    {
        let path = "\(try directory(controller, id))/\(file)"
        guard FileSystem.exists(path) else {
            throw ExecError.invalidSpec("the kernel has no \(file) for this setting")
        }
        try FileSystem.write(path, value)
    }

    /// A cgroup file holding one number; "max" reads as `UInt64.max`.
    static func number(in path: String) throws -> UInt64 {
        let text = try FileSystem.readString(path).filter { !$0.isWhitespace }
        if text == "max" { return UInt64.max }
        guard let value = UInt64(text) else {
            throw SystemCallError(call: "read", subject: "\(path): \"\(text)\"", errno: EINVAL)
        }
        return value
    }
}
